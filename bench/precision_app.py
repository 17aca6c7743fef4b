"""bf16 against fp32 through the app (issue 18): ``annotator propagate --engine xmem`` with
``--precision fp32`` and ``--precision auto``, alternating, each run on a fresh copy of the
same project, the whole command timed (process start, model loading and the exit included).

Random weights of the real XMem architecture (seed 0) are saved where the model registry looks
(``$AVS_ANNOTATOR_MODELS_DIR``), as a user's checkpoint is; a DAVIS-2016 sequence becomes a
project with its first frame's ground truth as the anchor. Prints, per run, the wall and CPU
seconds (user + system of the command), the command's own ``devices:`` line (what ``auto``
chose and why) and its summary line; then each pair's ratio and the medians'.

    python bench/precision_app.py [--sequence dog-agility] [--frames 20] [--pairs 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# this folder is the script's path[0]
from cuda_propagate import DATA, cli, davis_project, random_models


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequence", default="dog-agility")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    import torch

    seq = DATA / args.sequence
    if not seq.is_dir():
        sys.exit(f"precision_app: {seq} not found: the shared DAVIS data is needed")
    with tempfile.TemporaryDirectory(prefix="precision-app-") as tmp:
        tmp = Path(tmp)
        env = random_models(tmp, sam=False)
        base = davis_project(seq, args.frames, tmp, env)
        print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; {cpu_model()}, "
              f"{os.cpu_count()} CPUs; torch {torch.__version__}; "
              f"$AVS_ANNOTATOR_THREADS={os.environ.get('AVS_ANNOTATOR_THREADS', '(unset)')}; "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{args.sequence}: {args.frames} frames at 854x480, one object, random-weight XMem; "
              f"annotator propagate DIR --engine xmem --device cpu --precision P")
        wall: dict[str, list[float]] = {"fp32": [], "auto": []}
        for pair in range(1, args.pairs + 1):
            for precision in ("fp32", "auto"):
                d = tmp / f"run-{pair}-{precision}"
                shutil.copytree(base, d)
                c0, t0 = children_cpu(), time.perf_counter()
                r = cli("propagate", d, "--engine", "xmem", "--device", "cpu",
                        "--precision", precision, env=env)
                took, cpu = time.perf_counter() - t0, children_cpu() - c0
                wall[precision].append(took)
                said = [ln.strip() for ln in (r.stdout + r.stderr).splitlines()
                        if ln.startswith("devices:") or " masks in " in ln]
                print(f"pair {pair} {precision:>4}: exit {r.returncode}, {took:6.2f} s wall, "
                      f"{cpu:6.2f} s CPU, load {os.getloadavg()[0]:.1f} | " + " | ".join(said))
                if r.returncode:
                    print(r.stderr[-2000:])
                shutil.rmtree(d)
        ratios = [a / b for a, b in zip(wall["fp32"], wall["auto"])]
        print(f"fp32/auto per pair: {', '.join(f'{x:.2f}×' for x in ratios)}; medians "
              f"{statistics.median(wall['fp32']):.2f} s / {statistics.median(wall['auto']):.2f} s "
              f"= {statistics.median(wall['fp32']) / statistics.median(wall['auto']):.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
