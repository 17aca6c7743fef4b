"""Batch propagation: the local queue against Ray with 1 and 2 workers, and what Ray adds.

Projects are made on DAVIS-2016 sequences (one object, one audible segment of ``--frames``
frames, the first frame's ground truth as the anchor) and propagated with the weight-free
fallback engine (no XMem weights on the development machine; the bench says so), refinement
off. For each way it prints the wall time and the masks per second of a batch of
``--projects`` projects:

* **local** — :func:`annotator.pipeline.queue.propagate_projects` in this process;
* **ray N** — :func:`annotator.pipeline.cluster.run_batch` on a local Ray instance with N CPUs
  (N workers, one project task each at a time): ``ray.init`` alone, the first batch (*cold*:
  Ray starts the worker processes, which import the package and make their engine registry —
  where the models would load), a second batch of fresh projects (*warm*: the same workers,
  models kept), and batches of ``--idle`` projects with nothing to propagate (what Ray adds per
  batch — the progress actor, the driver's polling — and per project — scheduling the task,
  opening, planning and closing the project — against the local queue's for the same no-op).

    python bench/cluster_bench.py [--projects 4] [--frames 40] [--workers 1 2] [--idle 16]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.core.project import Project  # noqa: E402
from annotator.pipeline.queue import propagate_projects  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "davis2016"
SEQUENCES = ["boat", "bus", "car-turn", "kite-walk", "hockey", "tennis", "stroller", "bmx-bumps"]
OPTS = {"engine": "fallback", "refine": "off"}


def make(root: Path, n: int, frames: int, anchor: bool = True) -> list[Path]:
    dirs = []
    for i in range(n):
        seq = SEQUENCES[i % len(SEQUENCES)]
        folder = DATA / seq
        with Project.create(root / f"{i}-{seq}", folder / "JPEGImages") as project:
            st = project.store
            oid = st.add_object("x")
            st.add_segment(oid, 0, frames - 1)
            if anchor:
                gt = np.array(Image.open(folder / "Annotations" / "00000.png")) > 0
                st.put_mask(oid, 0, gt, source="manual", op=st.new_op("bench", "anchor"))
        dirs.append(root / f"{i}-{seq}")
    return dirs


def timed(fn, repeat: int = 1) -> float:
    """The shortest of ``repeat`` runs of ``fn`` (s)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", type=int, default=4)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--idle", type=int, default=16,
                    help="projects with nothing to propagate, for the overheads")
    args = ap.parse_args()
    import ray

    from annotator.pipeline.cluster import run_batch

    masks = args.projects * (args.frames - 1)
    print(f"cluster_bench {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"ray {ray.__version__}; {args.projects} projects x {args.frames - 1} masks "
          f"(DAVIS-2016), fallback engine (no XMem weights here), refine off; load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dirs = make(tmp / "local", args.projects, args.frames)
        wall = timed(lambda: propagate_projects(dirs, **OPTS))
        idle = make(tmp / "idle", args.idle, args.frames, anchor=False)  # nothing to propagate
        rows.append(("local queue", None, None, wall,
                     *_overhead(lambda d: propagate_projects(d, **OPTS), idle)))
        for n in args.workers:
            init = timed(lambda n=n: ray.init(num_cpus=n, include_dashboard=False,
                                              log_to_driver=False))
            cold_dirs = make(tmp / f"cold{n}", args.projects, args.frames)
            cold = timed(lambda d=cold_dirs: run_batch(d, **OPTS))
            warm_dirs = make(tmp / f"warm{n}", args.projects, args.frames)
            warm = timed(lambda d=warm_dirs: run_batch(d, **OPTS))
            over = _overhead(lambda d: run_batch(d, **OPTS), idle)
            ray.shutdown()
            rows.append((f"ray, {n} worker{'s' if n > 1 else ''}", init, cold, warm, *over))
    print(f"{'way':16s} {'ray.init':>9s} {'cold batch':>11s} {'warm batch':>11s} "
          f"{'masks/s':>8s} {'per batch':>10s} {'per project':>12s}")
    for name, init, cold, warm, fixed, per in rows:
        print(f"{name:16s} {_s(init):>9s} {_s(cold):>11s} {_s(warm):>11s} "
              f"{masks / warm:8.1f} {fixed:8.2f} s {per * 1000:9.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("(cold: the first batch on a fresh instance, worker processes started and imported; "
          "warm: the same workers again; masks/s from the warm batch; per batch / per project: "
          "a batch of --idle projects with nothing to propagate: T(1 project) - per project, "
          "and (T(all) - T(1)) / (projects - 1), shortest of 3 each)")


def _overhead(batch, dirs) -> tuple[float, float]:
    """(fixed s per batch, s per project) of ``batch`` over finished projects."""
    one = timed(lambda: batch(dirs[:1]), 3)
    per = (timed(lambda: batch(dirs), 3) - one) / max(1, len(dirs) - 1)
    return one - per, per


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


if __name__ == "__main__":
    main()
