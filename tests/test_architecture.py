"""The shape of the code (../shared/DESIGN.md, "Shape of the code"), checked on the source.

The import graph of ``annotator/`` is read with :mod:`ast` — every ``import`` in a module,
at its top or inside a function, except those under ``if TYPE_CHECKING:`` — and must have no
cycle; the layers point one way (``core`` imports nothing of the others, nothing outside
``gui`` imports ``gui`` but the commands that start the window); the main window assembles and
nothing more; the README stays short.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "annotator"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, str | None, int]]:
    """``(imported module, name or None, line)`` for every import outside TYPE_CHECKING."""
    out: list[tuple[str, str | None, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((a.name, None, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                pkg = pkg[:len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            out.extend((base, a.name, node.lineno) for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def import_graph() -> dict[str, dict[str, int]]:
    """``{module: {module it imports: line}}`` within ``annotator``."""
    mods = _modules()
    graph: dict[str, dict[str, int]] = {m: {} for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for base, name, line in _imports(tree, mod, path.name == "__init__.py"):
            target = f"{base}.{name}" if name and f"{base}.{name}" in mods else base
            if target in mods and target != mod:
                graph[mod].setdefault(target, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in graph:
        if v not in index:
            strong(v)
    return out


def _describe(graph: dict[str, dict[str, int]], comp: list[str]) -> str:
    inside = set(comp)
    edges = [f"{a} -> {b} (line {line})" for a in comp for b, line in graph[a].items()
             if b in inside]
    return "\n  ".join([" <-> ".join(comp)] + edges)


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_describe(graph, c) for c in found)


def test_the_graph_reader_finds_a_cycle(tmp_path):
    """The checker itself: a made-up graph with a three-module loop is caught."""
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


#: the only modules outside gui/ that may import gui/: the commands that start the window
WINDOW_STARTERS = {"annotator.commands.gui", "annotator.commands.project"}


def test_layers_point_one_way():
    """gui → api/pipeline → engines → core; core imports none of the others; nothing but
    the window's launchers imports gui."""
    graph = import_graph()
    wrong = []
    for mod, targets in graph.items():
        for target, line in targets.items():
            src, dst = _layer(mod), _layer(target)
            if src == "core" and dst in {"engines", "pipeline", "gui", "commands", "api"}:
                wrong.append(f"{mod}:{line} imports {target} (core imports none of the others)")
            if dst == "gui" and src != "gui" and mod not in WINDOW_STARTERS:
                wrong.append(f"{mod}:{line} imports {target} (nothing imports gui)")
            if src == "engines" and dst in {"pipeline", "gui", "commands"}:
                wrong.append(f"{mod}:{line} imports {target} (engines sit below pipeline)")
    assert not wrong, "\n".join(wrong)


def test_main_window_only_assembles():
    from PySide6.QtWidgets import QMainWindow

    from annotator.gui.main_window import MainWindow

    assert MainWindow.__bases__ == (QMainWindow,)
    lines = len((PACKAGE / "gui" / "main_window.py").read_text(encoding="utf-8").splitlines())
    assert lines <= 300, f"gui/main_window.py has {lines} lines: the window only assembles"


def test_readme_is_short():
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= 250, f"README.md has {lines} lines: details go to docs/"
