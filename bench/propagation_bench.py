"""Propagation benchmark on DAVIS-2016: the weight-free fallback vs plain flow warping.

For each sequence of ``../shared/data/davis2016`` the first frame's ground truth is given as the
anchor and the engine propagates it to the last frame. Reported per sequence and on average:

* J — region similarity (IoU; an empty prediction on an empty ground truth scores 1),
* F — DAVIS boundary F-measure (bound_th = 0.008 of the image diagonal),
* fps — frames per second of ``step()`` alone (decoding and scoring excluded), and the CPU
  milliseconds per frame (all threads of the process); timings on a shared machine
  are noisy, repeat the run when it is quiet.

J and F are averaged over the propagated frames (the anchor frame is excluded).

Per-frame quality signals (confidence, area and centroid jumps, lost object) go through
:func:`annotator.core.quality.frame_flags`; the bench reports how well the flags find the frames
where the ground truth is empty (bmx-bumps: the rider is hidden in 14 frames) and how many other
frames they flag. ``--frames`` prints the per-frame signals.

Run: ``python bench/propagation_bench.py [--sequences boat ...] [--engines fallback flow-warp]``
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from annotator.core import quality
from annotator.engines.registry import make_propagator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "davis2016"
SEQUENCES = ["boat", "bmx-bumps", "dog-agility", "hockey", "stroller", "tennis"]


@dataclass
class SequenceResult:
    """Scores and per-frame signals of one engine on one sequence."""

    engine: str
    sequence: str
    j: list[float] = field(default_factory=list)
    f: list[float] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    area: list[int] = field(default_factory=list)
    gt_empty: list[bool] = field(default_factory=list)
    flags: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock time in step()
    cpu_seconds: float = 0.0  # CPU time of this process in step() (all its threads)

    @property
    def fps(self) -> float:
        return len(self.j) / self.seconds if self.seconds else float("nan")

    def flag_stats(self) -> dict[str, int]:
        """How the flags line up with empty ground truth and with actual failures (J < 0.5)."""
        flagged = [bool(fl) for fl in self.flags]
        empty, fail = self.gt_empty, [j < 0.5 for j in self.j]
        rows = list(zip(flagged, empty, fail))
        return {
            "empty": sum(empty),
            "empty_flagged": sum(f and e for f, e, _ in rows),
            "other": len(rows) - sum(empty),
            "other_flagged": sum(f and not e for f, e, _ in rows),
            "other_flagged_failing": sum(f and not e and x for f, e, x in rows),
            "failing": sum(fail),
            "failing_flagged": sum(f and x for f, _, x in rows),
            "good": len(rows) - sum(fail),
            "good_flagged": sum(f and not x for f, _, x in rows),
        }


def load_sequence(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """RGB frames and boolean ground-truth masks of one DAVIS sequence."""
    frames, masks = [], []
    for jpg in sorted((folder / "JPEGImages").glob("*.jpg")):
        frames.append(cv2.cvtColor(cv2.imread(str(jpg)), cv2.COLOR_BGR2RGB))
        png = folder / "Annotations" / (jpg.stem + ".png")
        masks.append(cv2.imread(str(png), cv2.IMREAD_GRAYSCALE) > 127)
    if not frames:
        raise SystemExit(f"no frames in {folder / 'JPEGImages'}")
    return frames, masks


def run_sequence(engine: str, name: str, frames: list, gts: list, **options) -> SequenceResult:
    """Anchor the first ground truth, propagate to the end, score every later frame."""
    prop = make_propagator(engine, **options)
    res = SequenceResult(prop.name, name)
    reference = float(gts[0].sum())
    prop.step(frames[0], given={1: gts[0]})  # the anchor frame is not timed
    prev = gts[0]
    for frame, gt in zip(frames[1:], gts[1:]):
        wall, cpu = time.perf_counter(), time.process_time()
        out = prop.step(frame)
        res.seconds += time.perf_counter() - wall
        res.cpu_seconds += time.process_time() - cpu
        mask, conf = out.masks[1], out.confidence[1]
        res.j.append(quality.region_similarity(mask, gt))
        res.f.append(quality.boundary_f_measure(mask, gt))
        res.confidence.append(conf)
        res.area.append(int(mask.sum()))
        res.gt_empty.append(not gt.any())
        res.flags.append(quality.frame_flags(mask, prev, conf, reference))
        prev = mask
    return res


def print_frames(res: SequenceResult) -> None:
    print(f"\n{res.engine} on {res.sequence}: frame, J, F, confidence, area, gt empty, flags")
    for i, (j, f, c, a, e, fl) in enumerate(
        zip(res.j, res.f, res.confidence, res.area, res.gt_empty, res.flags), start=1
    ):
        print(
            f"  {i:3d}  J={j:.3f}  F={f:.3f}  conf={c:.2f}  area={a:6d}  "
            f"{'EMPTY' if e else '     '}  {','.join(fl)}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="davis2016 folder")
    ap.add_argument("--sequences", nargs="+", default=SEQUENCES)
    ap.add_argument("--engines", nargs="+", default=["fallback", "flow-warp"])
    ap.add_argument(
        "--work-long-side",
        type=int,
        default=None,
        help="override the engines' working resolution (long side; 0: full size); by default "
        "the fallback works at 480 px and plain warping at full size",
    )
    ap.add_argument("--frames", action="store_true", help="print per-frame signals")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data} is absent: point --data at the davis2016 folder", file=sys.stderr)
        return 2
    options = {}
    if args.work_long_side is not None:
        options["work_long_side"] = args.work_long_side or None

    results: dict[str, list[SequenceResult]] = {e: [] for e in args.engines}
    for seq in args.sequences:
        frames, gts = load_sequence(args.data / seq)
        for engine in args.engines:
            res = run_sequence(engine, seq, frames, gts, **options)
            results[engine].append(res)
            if args.frames:
                print_frames(res)

    print("\nDAVIS-2016, first-frame ground truth as the anchor; J, F: mean over propagated frames")
    header = f"{'sequence':<12}" + "".join(
        f" | {results[e][0].engine[:26]:^26}" for e in args.engines
    )
    print(header)
    print(
        f"{'':<12}"
        + "".join(f" | {'J':>6} {'F':>6} {'fps':>6} {'cpu ms':>6}" for _ in args.engines)
    )
    for k, seq in enumerate(args.sequences):
        row = f"{seq:<12}"
        for e in args.engines:
            r = results[e][k]
            cpu_ms = 1000 * r.cpu_seconds / len(r.j)
            row += f" | {np.mean(r.j):6.3f} {np.mean(r.f):6.3f} {r.fps:6.1f} {cpu_ms:6.0f}"
        print(row)
    row = f"{'mean':<12}"
    for e in args.engines:
        rs = results[e]
        n = sum(len(r.j) for r in rs)
        fps = n / sum(r.seconds for r in rs)
        cpu_ms = 1000 * sum(r.cpu_seconds for r in rs) / n
        row += (
            f" | {np.mean([np.mean(r.j) for r in rs]):6.3f} "
            f"{np.mean([np.mean(r.f) for r in rs]):6.3f} {fps:6.1f} {cpu_ms:6.0f}"
        )
    print(row)

    print("\nFlags (lost, area/centroid jump, whole frame, low confidence), flagged/frames:")
    print("  empty GT: frames whose ground truth is empty (recall of the flags)")
    print("  other: the remaining frames (in brackets: how many of those the engine got wrong)")
    print("  J<0.5 / J>=0.5: frames the engine got wrong / right")
    for e in args.engines:
        for r in results[e]:
            st = r.flag_stats()
            empty = f"{st['empty_flagged']}/{st['empty']}" if st["empty"] else "-"
            print(
                f"  {r.engine[:30]:<30} {r.sequence:<12} empty GT {empty:>5}  "
                f"other {st['other_flagged']:>2}/{st['other']:<2} "
                f"({st['other_flagged_failing']:>2} wrong)  "
                f"J<0.5 {st['failing_flagged']:>2}/{st['failing']:<2}  "
                f"J>=0.5 {st['good_flagged']:>2}/{st['good']:<2}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
