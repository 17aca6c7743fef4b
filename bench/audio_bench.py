"""Audio analysis cache of long generated tracks: time and peak memory (issue 14).

For each length (default 10 and 60 minutes) it writes a mono AAC track at 44.1 kHz into a
temporary folder (low background noise with a 2-second 440 Hz tone every 30 seconds), then, in
a fresh child process each, builds the cache with :meth:`AudioAnalysis.build` (one decoding
pass), runs the sound-activity detector and reads a whole-track envelope and spectrogram as
the timeline would. The child prints its peak RSS (``resource.getrusage``, ru_maxrss) before
and after the build: the build's memory must not grow with the length.

    python bench/audio_bench.py                 # 10 and 60 minutes
    python bench/audio_bench.py --minutes 5 120
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

RATE = 44100
EVERY_S, TONE_S = 30.0, 2.0


def write_track(path: Path, minutes: float) -> float:
    """The AAC track; returns the seconds it took to encode."""
    import av

    t = time.perf_counter()
    rng = np.random.default_rng(1)
    n_total = int(minutes * 60 * RATE)
    chunk = RATE  # one second
    with av.open(str(path), "w") as out:
        st = out.add_stream("aac", rate=RATE)
        st.layout = "mono"
        for k in range(0, n_total, chunk):
            n = min(chunk, n_total - k)
            x = 0.001 * rng.standard_normal(n)
            sec = k / RATE
            if sec % EVERY_S < TONE_S:
                x += 0.2 * np.sin(2 * np.pi * 440 * (k + np.arange(n)) / RATE)
            af = av.AudioFrame.from_ndarray(x.astype(np.float32)[None], format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts, af.time_base = RATE, k, Fraction(1, RATE)
            for pkt in st.encode(af):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return time.perf_counter() - t


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(track: Path, cache: Path) -> None:
    from annotator.core.audio import AudioAnalysis
    from annotator.core.sound_activity import detect

    an = AudioAnalysis(track, cache)
    before = rss_mb()
    t = time.perf_counter()
    assert an.build()
    build_s = time.perf_counter() - t
    after_build = rss_mb()
    t = time.perf_counter()
    spans = detect(an)
    detect_s = time.perf_counter() - t
    t = time.perf_counter()
    an.envelope(0, an.duration_s, 1600)
    an.spectrogram(0, an.duration_s, 1600)
    view_s = time.perf_counter() - t
    t = time.perf_counter()
    an.envelope(600.0, 610.0, 1600)
    an.spectrogram(600.0, 610.0, 1600)
    zoom_s = time.perf_counter() - t
    size = sum(p.stat().st_size for p in (cache / "audio").iterdir())
    print(json.dumps({
        "duration_s": an.duration_s, "build_s": build_s, "rss_before_mb": before,
        "rss_after_build_mb": after_build, "rss_after_detect_mb": rss_mb(),
        "detect_s": detect_s, "spans": len(spans), "whole_view_s": view_s,
        "zoomed_view_s": zoom_s, "cache_mb": size / 1e6}))


def machine_line() -> str:
    """``machine: <CPU model>, N CPUs, python X, <date>`` for a bench's first line."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"machine: {cpu}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--child", nargs=2, type=Path, metavar=("TRACK", "CACHE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    print(machine_line())
    print(f"{'minutes':>7} {'encode s':>8} {'build s':>8} {'x realtime':>10} "
          f"{'RSS before':>10} {'RSS build':>9} {'RSS detect':>10} {'detect s':>8} "
          f"{'spans':>5} {'view ms':>7} {'zoom ms':>7} {'cache MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            track = Path(tmp) / f"track_{minutes:g}min.mka"
            enc = write_track(track, minutes)
            cache = Path(tmp) / f"cache_{minutes:g}"
            r = subprocess.run([sys.executable, __file__, "--child", str(track), str(cache)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            m = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{minutes:7g} {enc:8.1f} {m['build_s']:8.1f} "
                  f"{m['duration_s'] / m['build_s']:10.0f} {m['rss_before_mb']:8.0f}MB "
                  f"{m['rss_after_build_mb']:7.0f}MB {m['rss_after_detect_mb']:8.0f}MB "
                  f"{m['detect_s']:8.2f} {m['spans']:5d} {1000 * m['whole_view_s']:7.0f} "
                  f"{1000 * m['zoomed_view_s']:7.1f} {m['cache_mb']:8.1f}")
            track.unlink()
    print(f"(expected spans: one per {EVERY_S:g} s; RSS = peak resident set of the child "
          "process, ru_maxrss)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
