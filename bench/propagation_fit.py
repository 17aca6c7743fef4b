"""Choosing the weight-free propagator's defaults by nested leave-one-sequence-out (DAVIS-2016).

Every candidate configuration of
:class:`~annotator.engines.fallback_propagator.FallbackPropagator` (:func:`candidates`: a small
factorial grid over the prior's gain, the colour's weight and the growth guard, plus one-knob
variations around the 2026-11 defaults) propagates every sequence of ``../shared/data/davis2016`` from its first-frame
ground truth, once: J, F and the CPU time of ``step()`` per (configuration, sequence) are cached
in ``/tmp/propagation_fit_cache.json``, keyed by the engine's code (docstrings, comments and
default values left out: only the resolved parameters count) and the resolved parameters, so a
rerun or a new candidate costs only what is new.

Held out: for each sequence, the configuration with the best mean J&F over the *other*
sequences is chosen, and only its J, F and J&F on the held-out sequence are reported; the pooled
figure is their mean over sequences. That figure estimates the configuration chosen on all the
sequences (the candidate for the defaults). Beside it, in the same run, the 2026-11 defaults on
every sequence. J&F = (J + F) / 2 per sequence, J and F averaged over its propagated frames, as in
``propagation_bench.py``.

Run: ``nice -n 19 python bench/propagation_fit.py [--sequences ...] [--fresh]``
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from propagation_bench import DEFAULT_DATA, load_sequence, run_sequence  # noqa: E402

from annotator.engines.fallback_propagator import FallbackPropagator  # noqa: E402

CACHE = Path("/tmp/propagation_fit_cache.json")
SOURCES = ("annotator/engines/fallback_propagator.py", "annotator/engines/flow.py",
           "annotator/engines/appearance.py", "annotator/engines/guided_filter.py",
           "annotator/engines/propagator.py", "annotator/core/quality.py")

#: the defaults before this bench (chosen on boat, bmx-bumps, dog-agility, hockey, stroller, tennis)
OLD_DEFAULTS = {"work_long_side": 480, "flow_preset": 2, "colour_weight": 0.5,
                "colour_cap": 1.5, "colour_floor": float("inf"), "colour_adapt": 0.2,
                "colour_anchor": 0.5, "prior_gain": 2.0, "prior_scale": 0.08, "guide_radius": 4,
                "guide_eps": 1e-3, "lost_fraction": 0.05, "min_likeness": 0.5,
                "max_growth": float("inf"), "found_likeness": 0.85, "outside_gain": 1.0}


def candidates() -> list[dict]:
    """The configurations compared, as complete parameter sets (the old defaults among them)."""
    grid = [dict(OLD_DEFAULTS, prior_gain=g, colour_weight=w, max_growth=m)
            for g, w, m in itertools.product((0.75, 1.0, 1.5, 2.0), (0.5, 1.0),
                                             (float("inf"), 3.0))]
    one_knob = [("colour_anchor", 0.8), ("prior_scale", 0.05), ("prior_scale", 0.12),
                ("colour_cap", 1.0), ("colour_cap", 2.5), ("colour_floor", 3.0),
                ("guide_radius", 0), ("guide_radius", 8), ("min_likeness", 0.4), ("min_likeness", 0.6),
                ("colour_adapt", 0.1), ("colour_adapt", 0.4), ("outside_gain", 1.5),
                ("found_likeness", 0.75), ("work_long_side", 640)]
    grid += [dict(OLD_DEFAULTS, **{k: v}) for k, v in one_knob]
    return grid


def label(config: dict) -> str:
    """The parameters where ``config`` differs from the old defaults."""
    diff = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in config.items() if OLD_DEFAULTS.get(k) != v]
    return ", ".join(diff) or "2026-11 defaults"


def resolved(config: dict) -> dict:
    """``config`` over the engine's own defaults: every parameter, named."""
    import inspect

    params = inspect.signature(FallbackPropagator.__init__).parameters
    full = {k: p.default for k, p in params.items() if k != "self"}
    full.update(config)
    return full


def _code(text: str) -> str:
    """A module's code as an AST dump without docstrings or default values of arguments: what
    the masks depend on once every parameter is given (comments and layout are not in it)."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.args.defaults, node.args.kw_defaults = [], []
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def digest(read=lambda f: (ROOT / f).read_text()) -> str:
    """The engine's sources (see :func:`_code`): a change of the code recomputes the table."""
    h = hashlib.sha1()
    for f in SOURCES:
        h.update(_code(read(f)).encode())
    return h.hexdigest()[:12]


def key(code: str, config: dict, sequence: str) -> str:
    return f"{code}|{json.dumps(resolved(config), sort_keys=True)}|{sequence}"


def table(data: Path, sequences: list[str], configs: list[dict], fresh: bool) -> dict:
    """{(config index, sequence): {"j", "f", "cpu", "frames"}}, from the cache where it can."""
    cache = {} if fresh or not CACHE.exists() else json.loads(CACHE.read_text())
    code = digest()
    out = {}
    for seq in sequences:
        todo = [i for i, c in enumerate(configs) if key(code, c, seq) not in cache]
        if todo:
            frames, gts = load_sequence(data / seq)
            started = time.perf_counter()
            for i in todo:
                r = run_sequence("fallback", seq, frames, gts, **configs[i])
                cache[key(code, configs[i], seq)] = {
                    "j": float(np.mean(r.j)), "f": float(np.mean(r.f)),
                    "cpu": r.cpu_seconds, "frames": len(r.j)}
            CACHE.write_text(json.dumps(cache))
            print(f"  {seq}: {len(todo)} configurations in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        for i, c in enumerate(configs):
            out[i, seq] = cache[key(code, c, seq)]
    return out


def jf(cell: dict) -> float:
    return (cell["j"] + cell["f"]) / 2


def best(scores: dict, n_configs: int, sequences: list[str]) -> int:
    """The configuration with the best mean J&F over ``sequences`` (the first on a tie)."""
    means = [np.mean([jf(scores[i, s]) for s in sequences]) for i in range(n_configs)]
    return int(np.argmax(means))


def held_out(scores: dict, n_configs: int, sequences: list[str]) -> dict[str, int]:
    """For each sequence, the configuration chosen on the *other* sequences only."""
    return {s: best(scores, n_configs, [t for t in sequences if t != s]) for s in sequences}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="davis2016 folder")
    ap.add_argument("--sequences", nargs="+", default=None, help="default: every sequence")
    ap.add_argument("--fresh", action="store_true", help="ignore the cache")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data} is absent: point --data at the davis2016 folder", file=sys.stderr)
        return 2
    sequences = args.sequences or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    configs = candidates()
    old = configs.index(OLD_DEFAULTS)
    print(f"{len(configs)} configurations × {len(sequences)} sequences")
    scores = table(args.data, sequences, configs, args.fresh)

    print("\nHeld out (nested leave-one-sequence-out: chosen on the other sequences)")
    print(f"{'sequence':<17} {'2026-11 defaults':^20} | {'held out':^20} | chosen on the others")
    print(f"{'':<17} {'J':>6} {'F':>6} {'J&F':>6} | {'J':>6} {'F':>6} {'J&F':>6} |")
    rows_old, rows_held, choices = [], [], []
    for s, chosen in held_out(scores, len(configs), sequences).items():
        a, b = scores[old, s], scores[chosen, s]
        rows_old.append((a["j"], a["f"], jf(a)))
        rows_held.append((b["j"], b["f"], jf(b)))
        choices.append(chosen)
        print(f"{s:<17} {a['j']:6.3f} {a['f']:6.3f} {jf(a):6.3f} | "
              f"{b['j']:6.3f} {b['f']:6.3f} {jf(b):6.3f} | {label(configs[chosen])}")
    mo, mh = np.mean(rows_old, axis=0), np.mean(rows_held, axis=0)
    print(f"{'mean':<17} {mo[0]:6.3f} {mo[1]:6.3f} {mo[2]:6.3f} | "
          f"{mh[0]:6.3f} {mh[1]:6.3f} {mh[2]:6.3f} |")
    print("\nFolds choosing each configuration: " + "; ".join(
        f"{label(configs[i])} ×{choices.count(i)}" for i in sorted(set(choices))))

    final = best(scores, len(configs), sequences)
    cpu = {i: 1000 * sum(scores[i, s]["cpu"] for s in sequences)
           / sum(scores[i, s]["frames"] for s in sequences) for i in (old, final)}
    print(f"Chosen on all {len(sequences)} (the candidate defaults, estimated by the held-out "
          f"figure above): {label(configs[final])}")
    print(f"  its J&F on those {len(sequences)} (not an estimate: chosen on them): "
          f"{np.mean([jf(scores[final, s]) for s in sequences]):.3f}")
    print(f"  CPU ms per frame of step(): {cpu[final]:.0f} (2026-11 defaults: {cpu[old]:.0f})")
    ranked = sorted(range(len(configs)), key=lambda i: -np.mean(
        [jf(scores[i, s]) for s in sequences]))
    print("\nAll configurations, mean J&F over every sequence (in-sample, for reading only):")
    for i in ranked:
        print(f"  {np.mean([jf(scores[i, s]) for s in sequences]):.3f}  {label(configs[i])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
