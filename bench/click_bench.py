"""Simulated annotator: NoC@85 / NoC@90 and per-click latency of a point-prompt segmenter.

Protocol (the usual interactive-segmentation one, ``bench/clicker.py``): on every ``--every``-th
frame of the DAVIS sequences in ``../shared/data/davis2016``, start with an empty mask; each click
goes to the interior-most point (largest distance to the region's edge) of the largest error
region, positive if that region is missed object, negative if it is false object; all clicks so
far are passed to ``predict`` together with the previous best low-resolution logits; at most
``--max-clicks`` clicks. NoC@t is the number of clicks needed to reach IoU ≥ t (``--max-clicks``
when never reached). Frames whose ground truth is empty are skipped (NoC is undefined there).

    python bench/click_bench.py                      # the weight-free fallback
    python bench/click_bench.py --sam PATH --arch vit_b

Published figures for GrabCut on DAVIS under this protocol: NoC@85 ≈ 15.1, NoC@90 ≈ 17.4.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clicker import next_click  # noqa: E402  (bench/clicker.py: the NoC protocol's clicks)

from annotator.engines.segmenter import Segmenter  # noqa: E402


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def run_frame(seg: Segmenter, image: np.ndarray, gt: np.ndarray, max_clicks: int):
    seg.embed(image)
    pred = np.zeros_like(gt)
    points: list[tuple[int, int]] = []
    labels: list[int] = []
    logits = None
    ious: list[float] = []
    latencies: list[float] = []
    for _ in range(max_clicks):
        click = next_click(pred, gt)
        if click is None:  # perfect already
            ious.append(1.0)
            continue
        points.append((click.x, click.y))
        labels.append(int(click.positive))
        t0 = time.perf_counter()
        res = seg.predict(np.array(points), np.array(labels), mask_logits=logits,
                          multimask=len(points) == 1)
        latencies.append(time.perf_counter() - t0)
        pred = res.best_mask
        logits = res.best_logits
        ious.append(iou(pred, gt))
    return ious, latencies


def noc(ious: list[float], thr: float, max_clicks: int) -> int:
    for k, v in enumerate(ious, start=1):
        if v >= thr:
            return k
    return max_clicks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "davis2016")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--sequences", nargs="*", default=None)
    ap.add_argument("--sam", type=Path, default=None, help="a SAM checkpoint (default: fallback)")
    ap.add_argument("--arch", default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    from annotator.engines import registry

    registry.start(None)  # threads and allocator once, as the app and the CLI start up

    if args.sam:
        from annotator.engines.sam import SamSegmenter

        seg: Segmenter = SamSegmenter.from_checkpoint(args.sam, arch=args.arch)
    else:
        from annotator.engines.fallback_segmenter import FallbackSegmenter

        seg = FallbackSegmenter()
    print(f"engine: {seg.name}")
    seqs = args.sequences or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    n85, n90, lat, first_iou, skipped = [], [], [], [], 0
    for seq in seqs:
        images = sorted((args.data / seq / "JPEGImages").glob("*.jpg"))[:: args.every]
        for img_path in images:
            gt_path = args.data / seq / "Annotations" / (img_path.stem + ".png")
            gt = cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE) > 127
            if not gt.any():
                skipped += 1
                continue
            image = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
            ious, lats = run_frame(seg, image, gt, args.max_clicks)
            n85.append(noc(ious, 0.85, args.max_clicks))
            n90.append(noc(ious, 0.90, args.max_clicks))
            first_iou.append(ious[0])
            lat.extend(lats)
            if args.verbose:
                print(f"{seq}/{img_path.stem}: NoC85={n85[-1]:2d} NoC90={n90[-1]:2d} "
                      f"IoU@1={ious[0]:.3f} IoU@5={ious[min(4, len(ious) - 1)]:.3f} "
                      f"IoU@20={ious[-1]:.3f}", flush=True)
    print(f"frames: {len(n85)} (every {args.every}th frame of {', '.join(seqs)}; "
          f"{skipped} with empty ground truth skipped)")
    print(f"NoC@85: {statistics.mean(n85):.2f}   NoC@90: {statistics.mean(n90):.2f}   "
          f"(max {args.max_clicks} clicks; GrabCut published: 15.1 / 17.4)")
    print(f"mIoU after 1 click: {statistics.mean(first_iou):.3f}")
    lat_ms = sorted(v * 1000 for v in lat)
    print(f"per-click latency: median {statistics.median(lat_ms):.0f} ms, "
          f"p90 {lat_ms[int(0.9 * (len(lat_ms) - 1))]:.0f} ms, max {lat_ms[-1]:.0f} ms "
          f"over {len(lat_ms)} clicks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
