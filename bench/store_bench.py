"""Store benchmark at LU-AVS scale: insert 200,000 masks, open, read one frame, export.

    python bench/store_bench.py [--masks 200000] [--objects 4] [--width 854 --height 480]

Prints figures; asserts nothing. The masks are real RLEs of moving ellipses at the video's
size, written in batches of one propagated frame's masks each (as the pipeline writes them)
and, for comparison, in large import batches.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from annotator.core import masks as M
from annotator.core.export import export_coco
from annotator.core.records import VideoRecord
from annotator.core.store import Store


def ellipse_rles(h: int, w: int, n: int) -> list[dict]:
    yy, xx = np.mgrid[:h, :w]
    out = []
    for k in range(n):
        cx, cy = w * (0.2 + 0.6 * (k % 17) / 17), h * (0.2 + 0.6 * (k % 11) / 11)
        rx, ry = 30 + (k % 7) * 9, 25 + (k % 5) * 11
        out.append(M.encode(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--masks", type=int, default=200_000)
    ap.add_argument("--objects", type=int, default=4)
    ap.add_argument("--width", type=int, default=854)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--per-frame-commits", type=int, default=2000,
                    help="how many frames to also write one transaction each (fsync cost)")
    args = ap.parse_args()
    h, w, n_obj = args.height, args.width, args.objects
    frames = args.masks // n_obj
    pool = ellipse_rles(h, w, 64)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.avs"
        s = Store(db, create=True)
        s.set_video(VideoRecord("/bench.mp4", None, False, 0, "x", frames, 25.0, w, h,
                                frames / 25.0, True))
        oids = [s.add_object(f"obj{k}") for k in range(n_obj)]
        for k, o in enumerate(oids):
            s.add_segment(o, 0, frames - 1) if k == 0 else None
        t0 = time.perf_counter()
        op = s.new_op("bench", "bulk")
        batch = []
        for f in range(frames):
            for k, o in enumerate(oids):
                batch.append(dict(object_id=o, frame=f, mask=pool[(f + 7 * k) % len(pool)],
                                  source="propagated"))
            if len(batch) >= 5000:
                s.put_masks(batch, op=op)
                batch = []
        if batch:
            s.put_masks(batch, op=op)
        t_bulk = time.perf_counter() - t0
        print(f"insert {frames * n_obj:,} masks ({w}×{h}) in 5,000-mask transactions: "
              f"{t_bulk:.1f} s ({frames * n_obj / t_bulk:,.0f} masks/s)")
        # per-frame transactions, as propagation commits (synchronous=FULL: one fsync each)
        k = min(args.per_frame_commits, frames)
        t0 = time.perf_counter()
        for f in range(k):
            s.put_masks([dict(object_id=o, frame=f, mask=pool[(f + 3) % len(pool)],
                              source="refined") for o in oids], op=op)
        t_pf = time.perf_counter() - t0
        print(f"per-frame commits ({n_obj} masks each, fsync on commit): "
              f"{t_pf / k * 1000:.2f} ms/frame over {k} frames")
        s.close()
        print(f"database size: {db.stat().st_size / 2**20:.1f} MiB (+ WAL "
              f"{Path(str(db) + '-wal').stat().st_size / 2**20 if Path(str(db) + '-wal').exists() else 0:.1f} MiB)")

        opens = []
        for _ in range(5):
            t0 = time.perf_counter()
            s = Store(db)
            s.objects()
            s.segments()
            _ = s.frame_count
            opens.append(time.perf_counter() - t0)
            s.close()
        print(f"open project (schema check, objects, segments): median "
              f"{statistics.median(opens) * 1000:.1f} ms")
        s = Store(db)
        rng = np.random.default_rng(0)
        reads, decs = [], []
        for f in rng.integers(0, frames, 200):
            t0 = time.perf_counter()
            fm = s.frame_masks(int(f))
            reads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for m in fm.values():
                m.decode()
            decs.append(time.perf_counter() - t0)
        print(f"one frame's masks ({n_obj} objects), random frames: median "
              f"{statistics.median(reads) * 1000:.2f} ms, p99 {np.percentile(reads, 99) * 1000:.2f} ms"
              f"; decoding them {statistics.median(decs) * 1000:.2f} ms")
        t0 = time.perf_counter()
        res = export_coco(s, Path(tmp) / "export.json")
        t_exp = time.perf_counter() - t0
        size = (Path(tmp) / "export.json").stat().st_size / 2**20
        print(f"export COCO ({res['annotations']:,} masks, verified with pycocotools, "
              f"{size:.0f} MiB): {t_exp:.1f} s")
        s.close()


if __name__ == "__main__":
    main()
