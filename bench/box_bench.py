"""Box prompt → mask: time and IoU of a box around the object, the Box tool's prompt.

Protocol: on every ``--every``-th frame of the DAVIS-2016 sequences in
``../shared/data/davis2016`` the tight box of the ground-truth mask (pixel edges, as the Box tool
draws it) goes to ``predict`` alone (no points); the best mask is scored against the ground
truth. Nothing is fitted or chosen on the data. Frames whose ground truth is empty are skipped.

    python bench/box_bench.py                 # the weight-free fallback (GrabCut in the box)
    python bench/box_bench.py --sam-random    # SAM vit_b with random weights: times only
    python bench/box_bench.py --track [--gap 10] [--sequences 5]   # box tracking s/frame

``--sam-random`` builds SAM vit_b with random weights (the real architecture, loaded from a
file as a user's checkpoint is) and times the image encoder once and the box → mask decoder
call; its masks mean nothing (random weights), so no IoU is printed for it.

``--track``: on the first ``--sequences`` DAVIS sequences (alphabetically), a box-only segment
over the whole sequence with a keyframe (the ground truth's tight box) every ``--gap`` frames;
box tracking with the weight-free engines (GrabCut from each keyframe box, the fallback
propagator), timed per tracked frame; the box IoU with the ground truth of the segment's track
(the track rule of ``annotator.core.box_tracks`` applied: ``bench/box_rule_bench.py`` chose it)
and of plain interpolation, on the frames between keyframes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DAVIS = ROOT.parent / "shared" / "data" / "davis2016"


def tight_box(mask: np.ndarray) -> np.ndarray:
    """``x0 y0 x1 y1`` of the mask's pixels, x1/y1 the far pixel edges."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def frames(every: int, limit: int):
    for seq in sorted(p for p in DAVIS.iterdir() if (p / "JPEGImages").is_dir()):
        jpgs = sorted((seq / "JPEGImages").glob("*.jpg"))[::every][:limit]
        for jpg in jpgs:
            gt = np.array(Image.open(seq / "Annotations" / f"{jpg.stem}.png")) > 0
            if gt.any():
                yield seq.name, np.asarray(Image.open(jpg).convert("RGB")), gt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=20, help="every n-th frame of each sequence")
    ap.add_argument("--limit", type=int, default=3, help="frames per sequence at most")
    ap.add_argument("--sam-random", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--boxes", type=int, default=20, help="SAM: box calls timed")
    ap.add_argument("--track", action="store_true")
    ap.add_argument("--gap", type=int, default=10, help="--track: frames between keyframes")
    ap.add_argument("--sequences", type=int, default=5, help="--track: sequences")
    args = ap.parse_args(argv)
    if not DAVIS.is_dir():
        print(f"{DAVIS}: the DAVIS-2016 data is not there; nothing to measure", file=sys.stderr)
        return 2
    if args.sam_random:
        return sam_random(args)
    if args.track:
        return track(args)
    from annotator.engines.fallback_segmenter import FallbackSegmenter

    seg = FallbackSegmenter()
    per_seq: dict[str, list[float]] = {}
    times: list[float] = []
    for name, image, gt in frames(args.every, args.limit):
        seg.embed(image)
        t = time.perf_counter()
        res = seg.predict(None, None, box=tight_box(gt))
        times.append(1000 * (time.perf_counter() - t))
        per_seq.setdefault(name, []).append(iou(res.best_mask, gt))
    scores = [v for vs in per_seq.values() for v in vs]
    print(f"engine: {seg.name}; {len(scores)} frames of {len(per_seq)} DAVIS-2016 sequences "
          f"(every {args.every}th, at most {args.limit} each)")
    print(f"box → mask: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
    print(f"IoU with the ground truth: mean {np.mean(scores):.3f}, median "
          f"{statistics.median(scores):.3f}; sequence means from "
          f"{min(np.mean(v) for v in per_seq.values()):.3f} to "
          f"{max(np.mean(v) for v in per_seq.values()):.3f}")
    return 0


def sam_random(args: argparse.Namespace) -> int:
    from annotator.engines import registry

    registry.start(args.device)
    import torch
    from segment_anything import sam_model_registry

    from annotator.engines.sam import SamSegmenter

    name, image, gt = next(frames(args.every, 1))
    with tempfile.TemporaryDirectory(prefix="box_bench-") as tmp:
        torch.manual_seed(0)
        ckpt = Path(tmp) / "random_vit_b.pth"
        torch.save(sam_model_registry["vit_b"]().state_dict(), ckpt)
        seg = SamSegmenter.from_checkpoint(ckpt, device=args.device,
                                           cache_dir=Path(tmp) / "embeddings")
        t = time.perf_counter()
        seg.embed(image)
        embed_s = time.perf_counter() - t
        box = tight_box(gt)
        rng = np.random.default_rng(0)
        lat = []
        for _ in range(args.boxes):
            jitter = box + rng.uniform(-8, 8, 4).astype(np.float32)
            t = time.perf_counter()
            seg.predict(None, None, box=jitter)
            lat.append(1000 * (time.perf_counter() - t))
    print(f"engine: {seg.name} (random weights); torch threads {torch.get_num_threads()}; "
          f"frame {name} {image.shape[1]}×{image.shape[0]}")
    print(f"embed (image encoder, once per frame): {embed_s:.2f} s")
    print(f"box → mask (embedding in memory): median {statistics.median(lat):.0f} ms, "
          f"min {min(lat):.0f} ms, max {max(lat):.0f} ms over {len(lat)} boxes")
    print(f"box → mask on a new frame (encoder + decoder): {embed_s + statistics.median(lat) / 1000:.2f} s")
    return 0


def track(args: argparse.Namespace) -> int:
    from annotator import api
    from annotator.core.box_tracks import box_track, segment_track
    from annotator.engines.fallback_propagator import FallbackPropagator
    from annotator.engines.fallback_segmenter import FallbackSegmenter
    from annotator.pipeline.box_tracking import track_box_segments
    from annotator.pipeline.evaluate import box_iou

    seqs = sorted(p for p in DAVIS.iterdir() if (p / "JPEGImages").is_dir())[:args.sequences]
    per_frame, tracked_iou, interp_iou = [], [], []
    with tempfile.TemporaryDirectory(prefix="box_bench-") as tmp:
        for seq in seqs:
            truth = {int(f.stem): np.array(Image.open(f)) > 0
                     for f in sorted((seq / "Annotations").glob("*.png"))}
            n = len(truth)
            p = api.create(seq / "JPEGImages", Path(tmp) / f"{seq.name}.avsproj")
            oid = p.add_object(seq.name, category="object")
            p.add_segment(oid, 0, n - 1)
            keys = [f for f in range(0, n, args.gap) if truth[f].any()]
            for f in keys:
                p.store.put_box(oid, f, tuple(float(v) for v in tight_box(truth[f])))
            interpolated = {t.frame: t.box for t in box_track(0, n - 1, p.store.boxes_of(oid))}
            t0 = time.perf_counter()
            (r,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
            per_frame.append((time.perf_counter() - t0) / max(1, r.written + r.lost))
            track = {t.frame: t.box for t in segment_track(p.store, oid, 0, n - 1)}
            for f in range(n):
                if f in keys or not truth[f].any():
                    continue
                gt = tight_box(truth[f])
                for got, out in ((track.get(f), tracked_iou), (interpolated.get(f), interp_iou)):
                    out.append(box_iou(None if got is None else np.array(got), gt))
            print(f"{seq.name}: {n} frames, {len(keys)} keyframes, {r.written} tracked, "
                  f"{r.lost} lost, {per_frame[-1]:.3f} s/frame")
            p.close()
    print(f"box tracking (fallback engines): median {statistics.median(per_frame):.3f} s/frame "
          f"over {len(seqs)} sequences")
    print(f"box IoU with the ground truth between keyframes (every {args.gap}th): tracked "
          f"{np.mean(tracked_iou):.3f}, interpolated {np.mean(interp_iou):.3f} "
          f"({len(tracked_iou)} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
