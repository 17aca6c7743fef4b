"""Box prompt → mask: time and IoU of a box around the object, the Box tool's prompt.

Protocol: on every ``--every``-th frame of the DAVIS-2016 sequences in
``../shared/data/davis2016`` the tight box of the ground-truth mask (pixel edges, as the Box tool
draws it) goes to ``predict`` alone (no points); the best mask is scored against the ground
truth. Nothing is fitted or chosen on the data. Frames whose ground truth is empty are skipped.

    python bench/box_bench.py                 # the weight-free fallback (GrabCut in the box)
    python bench/box_bench.py --sam-random    # SAM vit_b with random weights: times only

``--sam-random`` builds SAM vit_b with random weights (the real architecture, loaded from a
file as a user's checkpoint is) and times the image encoder once and the box → mask decoder
call; its masks mean nothing (random weights), so no IoU is printed for it.
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
    args = ap.parse_args(argv)
    if not DAVIS.is_dir():
        print(f"{DAVIS}: the DAVIS-2016 data is not there; nothing to measure", file=sys.stderr)
        return 2
    if args.sam_random:
        return sam_random(args)
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


if __name__ == "__main__":
    sys.exit(main())
