"""``annotator models list | download NAME | verify [NAME | PATH] | path NAME``."""

from __future__ import annotations

import argparse
from pathlib import Path

from annotator.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="model files: list, download, verify, locate",
                       description="Model files (SAM checkpoints, XMem): list, download, verify, locate.")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    p.set_defaults(func=lambda args: _help(p))

    ls = msub.add_parser("list", help="known model files, where they are and whether present")
    ls.set_defaults(func=cmd_list)

    dl = msub.add_parser("download", help="download a model file (resumes a partial download)")
    dl.add_argument("name", help="registry name, e.g. sam_vit_b (see `annotator models list`)")
    dl.add_argument("--dir", type=Path, default=None, help="target folder (default: models folder)")
    dl.add_argument("--base-url", default=None,
                    help="mirror or offline source: a base URL or folder holding the files "
                         "(default: setting models.base_url, else the official address)")
    dl.add_argument("--force", action="store_true", help="download again even if present")
    dl.set_defaults(func=cmd_download)

    vf = msub.add_parser("verify", help="check size and SHA-256 of model files")
    vf.add_argument("target", nargs="?", default=None,
                    help="a registry name or a file path (default: every file present)")
    vf.set_defaults(func=cmd_verify)

    pa = msub.add_parser("path", help="print where a model file is (exit 2 when missing)")
    pa.add_argument("name")
    pa.set_defaults(func=cmd_path)


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from annotator.engines import models

    print(f"models folder: {models.models_dir()}")
    base = models.base_url()
    if base:
        print(f"download base URL: {base}")
    for r in models.list_models():
        m = r.model
        size = f"{m.size / 1e6:.0f} MB" if m.size else "size unknown"
        state = "present" if r.exists else "missing"
        print(f"{m.name:<10} {state:<8} {size:>13}  {m.description}")
        print(f"{'':<10} {r.path}  [{r.source}]")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from annotator.engines import models

    m = models.entry(args.name)
    bar = models.ProgressBar(m.filename)
    try:
        path = models.download(m, dest_dir=args.dir, base=args.base_url, progress=bar,
                               force=args.force)
    finally:
        bar.close()
    note = "" if m.sha256 else " (no published SHA-256: size checked only)" if m.size else \
        " (no published size or SHA-256: not checked)"
    print(f"{m.name}: {path}{note}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from annotator.engines import models

    targets: list[tuple[Path, models.ModelFile | None]] = []
    if args.target is None:
        for r in models.list_models():
            if r.exists:
                targets.append((r.path, r.model))
        if not targets:
            raise UserError("no model files are present: run `annotator models download sam_vit_b`")
    elif args.target in models.REGISTRY:
        m = models.REGISTRY[args.target]
        targets.append((models.resolve(m), m))
    else:
        path = Path(args.target)
        if not path.exists():
            known = ", ".join(models.REGISTRY)
            raise UserError(f"{path} does not exist (and is not a model name: {known})")
        targets.append((path, None))
    for path, m in targets:
        bar = models.ProgressBar(f"verify {path.name}")
        try:
            result = models.verify(path, m, progress=bar)
        finally:
            bar.close()
        print(result.line())
        kind = result.model.kind if result.model is not None else None
        if result.model is None or kind == "sam2":  # say what it holds
            sd = models.read_state_dict(path)
            if kind == "sam2" or models.describe_state_dict(sd) == "SAM 2":
                print(f"  contents: {_sam2_contents(path, sd, result.model)}")
            else:
                print(f"  contents: {models.describe_state_dict(sd)} ({len(sd)} tensors)")
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    from annotator.engines import models

    print(models.resolve(args.name))
    return 0


def _sam2_contents(path: Path, sd: dict, model) -> str:
    """A SAM 2 file's keys and shapes against its config (one line; a mismatch raises)."""
    from annotator.engines import sam2_models

    if not sam2_models.installed():
        return (f"SAM 2 ({len(sd)} tensors; keys and shapes not checked: the sam2 package is "
                "not installed)")
    expected = model.name if model is not None else None
    found = sam2_models.check_sam2_state_dict(path, sd, expected)
    return (f"{found} ({len(sd)} tensors): every key and shape matches "
            f"{sam2_models.SAM2_CONFIGS[found]}")
