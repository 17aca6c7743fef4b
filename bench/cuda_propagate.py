"""The GPU check of the engines (issue 16): ``annotator propagate`` with XMem and SAM
refinement on CUDA, through the real command, printing frames/s and where each model ran.

Random weights of the real architectures (XMem, SAM vit_b; seed 0) are saved where the model
registry looks (``$AVS_ANNOTATOR_MODELS_DIR``), so the cost is real and the masks are
meaningless. A DAVIS-2016 sequence becomes a project with its first frame's ground truth as the
anchor; the command runs twice on fresh copies (``--refine off`` and ``--refine every``) and
once with a second project in the same process (models loaded once). Prints the command's own
``devices:`` and summary lines and the wall time of each run.

    python bench/cuda_propagate.py [--device cuda] [--sequence dog-agility] [--frames 25]

On a machine without CUDA, ``--device cpu --frames 4`` checks the script itself.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AVS_SHARED_DIR", ROOT.parent / "shared")) / "data" / "davis2016"


def cli(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)], env=env,
                          capture_output=True, text=True)


def random_models(tmp: Path, *, sam: bool) -> dict:
    """Random weights (seed 0) of XMem (and SAM vit_b) saved in ``tmp/models`` as a user's
    checkpoints are; the environment whose model registry finds them there."""
    import torch
    import xmem

    models = tmp / "models"
    models.mkdir()
    torch.manual_seed(0)
    torch.save(xmem.XMem().state_dict(), models / "XMem.pth")
    if sam:
        from segment_anything import sam_model_registry

        torch.save(sam_model_registry["vit_b"]().state_dict(), models / "sam_vit_b_01ec64.pth")
    return dict(os.environ, AVS_ANNOTATOR_MODELS_DIR=str(models))


def davis_project(seq: Path, frames: int, tmp: Path, env: dict) -> Path:
    """``tmp/base``: a project of the first ``frames`` frames of a DAVIS-2016 sequence (copied
    to ``tmp``), with frame 0's ground truth imported as the anchor of one object."""
    folder, first = tmp / "frames", tmp / "first"
    folder.mkdir()
    first.mkdir()
    for f in range(frames):
        shutil.copy(seq / "JPEGImages" / f"{f:05d}.jpg", folder / f"{f:05d}.jpg")
    shutil.copy(seq / "Annotations" / "00000.png", first / "00000.png")
    base = tmp / "base"
    for step in (("new", folder, "--project", base),
                 ("import", base, "--masks", first, "--object", "object")):
        r = cli(*step, env=env)
        if r.returncode:
            sys.exit(r.stderr)
    return base


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--sequence", default="dog-agility")
    ap.add_argument("--frames", type=int, default=25)
    ap.add_argument("--precision", default="auto")
    args = ap.parse_args()
    import torch

    seq = DATA / args.sequence
    if not seq.is_dir():
        sys.exit(f"cuda_propagate: {seq} not found: the shared DAVIS data is needed")
    with tempfile.TemporaryDirectory(prefix="cuda-propagate-") as tmp:
        tmp = Path(tmp)
        env = random_models(tmp, sam=True)
        base = davis_project(seq, args.frames, tmp, env)
        print(f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, "
              f"{platform.node()}, torch {torch.__version__}, "
              f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA'}")
        print(f"{args.sequence}: {args.frames} frames at 854x480, one object, random weights")
        runs = [("refine off", ["--refine", "off"], 1), ("refine every", ["--refine", "every"], 1),
                ("two projects, refine every", ["--refine", "every"], 2)]
        for label, extra, n in runs:
            dirs = []
            for k in range(n):
                d = tmp / f"{label.replace(' ', '_').replace(',', '')}_{k}"
                shutil.copytree(base, d)
                dirs.append(d)
            t = time.perf_counter()
            r = cli("propagate", *dirs, "--engine", "xmem", "--device", args.device,
                    "--precision", args.precision, *extra, env=env)
            wall = time.perf_counter() - t
            masks = n * (args.frames - 1)
            print(f"\n== {label}: exit {r.returncode}, {wall:.1f} s wall for {masks} masks "
                  f"({masks / wall:.2f} masks/s, process start and model loading included)")
            for line in r.stdout.splitlines():
                if line.strip() and "masks/s" not in line or line.startswith("  "):
                    print("  " + line.strip())
            if r.returncode:
                print(r.stderr[-2000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
