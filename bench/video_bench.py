"""Video access benchmark: prints figures, asserts nothing.

For each video in ../shared/data/videos (and one DAVIS frame folder):

- index: the demux-only packet scan that builds the frame index (ms, packets/s) and the size
  of the serialised index;
- open: ``open_video`` with the stored index (validation only, no scan);
- seq fps: ``video[i]`` for every i in order (read-ahead off, so it measures the decoder),
  next to a bare PyAV decode + RGB conversion for reference;
- random ms/frame: 50 reads in a seeded random order with no cache (every read seeks or
  decodes forward), and with the default cache.

``--hour`` also builds an hour-long file (a short clip remuxed end to end, no re-encoding) in a
temporary folder and times its index scan, the index round trip and a few random reads.

    python bench/video_bench.py [--hour] [--reads 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from annotator.core.video import FrameIndex
from annotator.core.video_index import scan_packets
from annotator.core.video_open import open_video

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVS_SHARED_DIR", ROOT.parent / "shared")) / "data"


def _scan(path: Path) -> tuple[FrameIndex, float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        t = time.perf_counter()
        idx = scan_packets(c, s, path)
        return idx, time.perf_counter() - t


def _bare_decode_fps(path: Path) -> float:
    with av.open(str(path)) as c:
        t = time.perf_counter()
        n = sum(1 for f in c.decode(video=0) if f.to_ndarray(format="rgb24") is not None)
        return n / (time.perf_counter() - t)


def _random_ms(path: Path, reads: int, cache_bytes: int | None, index: FrameIndex | None) -> float:
    kw = {} if cache_bytes is None else {"cache_bytes": cache_bytes}
    with open_video(path, frame_index=index, readahead=0, **kw) as v:
        order = np.random.default_rng(0).integers(0, len(v), reads).tolist()
        t = time.perf_counter()
        for i in order:
            v[i]
        return (time.perf_counter() - t) * 1000 / reads


def bench_file(path: Path, reads: int) -> dict[str, str]:
    idx, scan_s = _scan(path)
    blob = idx.to_bytes()
    t = time.perf_counter()
    with open_video(path, frame_index=blob, readahead=0, cache_bytes=0) as v:
        open_s = time.perf_counter() - t
        assert v.index_reused
        n = len(v)
        t = time.perf_counter()
        for i in range(n):
            v[i]
        seq_fps = n / (time.perf_counter() - t)
        desc = f"{v.frame_index.stream['codec']} {v.size[0]}x{v.size[1]} {n} fr"
    return {
        "video": path.name,
        "what": desc,
        "index ms": f"{scan_s * 1000:.1f}",
        "pkt/s": f"{idx.packets / scan_s:,.0f}",
        "index B": f"{len(blob):,}",
        "open ms": f"{open_s * 1000:.1f}",
        "seq fps": f"{seq_fps:.0f}",
        "PyAV fps": f"{_bare_decode_fps(path):.0f}",
        "rand ms": f"{_random_ms(path, reads, 0, idx):.1f}",
        "rand+cache ms": f"{_random_ms(path, reads, None, idx):.1f}",
    }


def bench_folder(folder: Path, reads: int) -> dict[str, str]:
    t = time.perf_counter()
    with open_video(folder, readahead=0, cache_bytes=0) as v:
        open_s = time.perf_counter() - t
        n = len(v)
        t = time.perf_counter()
        for i in range(n):
            v[i]
        seq_fps = n / (time.perf_counter() - t)
        desc = f"jpg {v.size[0]}x{v.size[1]} {n} fr"
    return {
        "video": f"{folder.parent.name}/",
        "what": desc,
        "index ms": "-",
        "pkt/s": "-",
        "index B": "-",
        "open ms": f"{open_s * 1000:.1f}",
        "seq fps": f"{seq_fps:.0f}",
        "PyAV fps": "-",
        "rand ms": f"{_random_ms(folder, reads, 0, None):.1f}",
        "rand+cache ms": f"{_random_ms(folder, reads, None, None):.1f}",
    }


def make_hour(dst: Path, seconds: int = 3600) -> Path:
    """An hour-long H.264 file: a 10 s clip (320x180, 30 fps) remuxed end to end."""
    clip = dst.with_name("clip.mp4")
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libx264", rate=30, options={"preset": "ultrafast", "g": "60"})
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        y, x = np.mgrid[0:180, 0:320]
        for i in range(300):
            img = np.stack([(x + i) % 256, (y + 2 * i) % 256, np.full_like(x, i % 256)], -1)
            c.mux(s.encode(av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")))
        c.mux(s.encode())
    with av.open(str(clip)) as ic, av.open(str(dst), "w") as oc:
        ist = ic.streams.video[0]
        ost = oc.add_stream_from_template(ist)
        packets = [p for p in ic.demux(ist) if p.size]
        step = int(round(Fraction(1, 30) / ist.time_base))
        span = step * len(packets)
        for r in range(seconds // 10):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts = p.pts + r * span
                q.dts = (p.dts if p.dts is not None else p.pts) + r * span
                q.duration = p.duration
                q.is_keyframe = p.is_keyframe
                q.time_base = ist.time_base
                q.stream = ost
                oc.mux(q)
    clip.unlink()
    return dst


def bench_hour(tmp: Path) -> None:
    for suffix in (".mp4", ".mkv"):
        t = time.perf_counter()
        path = make_hour(tmp / f"hour{suffix}")
        made = time.perf_counter() - t
        idx, scan_s = _scan(path)
        blob = idx.to_bytes()
        t = time.perf_counter()
        back = FrameIndex.from_bytes(blob)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        with open_video(path, frame_index=back, readahead=0) as v:
            open_s = time.perf_counter() - t
            rand = [v[i] for i in np.random.default_rng(1).integers(0, len(v), 20)]
            rand_ms = (time.perf_counter() - t - open_s) * 1000 / len(rand)
            dur = v.duration
        t = time.perf_counter()
        with open_video(path, readahead=0) as v:
            open_scan_s = time.perf_counter() - t
        print(
            f"hour{suffix}: {dur / 60:.0f} min, {len(idx):,} frames, {path.stat().st_size / 2**20:.0f} MiB "
            f"(made in {made:.1f} s) | index scan {scan_s:.2f} s = {idx.packets / scan_s:,.0f} pkt/s | "
            f"index {len(blob) / 1024:.0f} KiB, from_bytes {load_s * 1000:.0f} ms | "
            f"open with index {open_s * 1000:.0f} ms, open with scan {open_scan_s:.2f} s | "
            f"random read {rand_ms:.1f} ms/frame"
        )
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reads", type=int, default=50, help="random reads per video")
    ap.add_argument("--hour", action="store_true", help="also time an hour-long remuxed file")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"{SHARED} is absent: the shared data lives beside the project", file=sys.stderr)
        return 2
    print(f"PyAV {av.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    rows = [bench_file(p, args.reads) for p in sorted((SHARED / "videos").iterdir())]
    rows.append(bench_folder(SHARED / "davis2016" / "stroller" / "JPEGImages", args.reads))
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in cols))
    if args.hour:
        with tempfile.TemporaryDirectory() as d:
            bench_hour(Path(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
