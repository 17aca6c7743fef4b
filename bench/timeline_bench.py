"""The timeline's sound rows on a long generated track: the time to make one view's images.

Writes a mono AAC track (``bench/audio_bench.py``'s: low noise, a 2-second tone every 30 s),
builds the analysis cache once, then times :func:`annotator.gui.timeline_audio.render` — the
worker-thread step that reads the envelope and the log-mel for the view's columns through the
frames' times (25 fps here) and builds the waveform and spectrogram ``QImage``s — for views
from the whole track down to 10 seconds, at a 1800-column timeline with the rows at full
height (34 and 38 px). The GUI thread then only draws the finished images.

    python bench/timeline_bench.py               # 60 minutes
    python bench/timeline_bench.py --minutes 10
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np

FPS, WIDTH, WAVE_H, SPEC_H = 25.0, 1800, 34, 38


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=5, help="renders per view (the median)")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    spec = importlib.util.spec_from_file_location(
        "audio_bench", Path(__file__).with_name("audio_bench.py"))
    audio_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audio_bench)
    from annotator.core.audio import AudioAnalysis
    from annotator.gui.timeline_audio import render

    print(audio_bench.machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        track = Path(tmp) / "track.mka"
        audio_bench.write_track(track, args.minutes)
        an = AudioAnalysis(track, Path(tmp) / "cache")
        t = time.perf_counter()
        assert an.build()
        print(f"{args.minutes:g}-minute track: cache built in {time.perf_counter() - t:.1f} s")
        n = int(an.duration_s * FPS)
        edges = np.arange(n + 1) / FPS
        print(f"{'view':>12} {'frames':>7} {'median ms':>9} {'max ms':>7}")
        for label, seconds in (("whole track", an.duration_s), ("10 minutes", 600.0),
                               ("1 minute", 60.0), ("10 seconds", 10.0)):
            v0 = int(n * 0.37) if seconds < an.duration_s else 0
            v1 = min(n, v0 + int(seconds * FPS))
            times = []
            for k in range(args.repeat):
                t = time.perf_counter()
                wave, spec_img = render(an, edges, v0 + k, v1 + k if v1 + k <= n else v1,
                                        WIDTH, WAVE_H, SPEC_H)
                times.append(time.perf_counter() - t)
                assert wave.width() == WIDTH and spec_img.height() == SPEC_H
            print(f"{label:>12} {v1 - v0:7d} {1000 * float(np.median(times)):9.1f} "
                  f"{1000 * max(times):7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
