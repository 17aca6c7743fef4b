"""LU-AVS export of one long segment: time and peak memory.

It writes a video of ``--frames`` frames at ``--size`` (default 3,000 frames at 1280×720, a
moving disc on a grey ground; H.264) into a temporary folder, makes a project of it with one
object whose audible segment covers every frame and a mask on each frame (the disc), then, in
a fresh child process, runs ``annotator export --format lu-avs`` the way the command line does
and prints the child's peak RSS (``resource.getrusage``, ru_maxrss) beside the RSS of the same
child before the export and the size of the ``masks.npy`` it wrote. The export streams
``masks.npy`` a frame at a time, so its peak must not grow with the segment: run it with two
lengths to see.

    python bench/lu_avs_bench.py                        # 3,000 frames at 1280×720
    python bench/lu_avs_bench.py --frames 300 3000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
from annotator.core.project import Project
from annotator.pipeline.exports import run_export
proj, out = sys.argv[1], sys.argv[2]
with Project.open(proj, readonly=True) as p:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    res, text = run_export(p, "lu-avs", out)
    took = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "seconds": took,
                  "frames": res["frames"], "text": text}))
"""


def disc(h: int, w: int, f: int, n: int) -> np.ndarray:
    yy, xx = np.ogrid[:h, :w]
    cx = w * (0.2 + 0.6 * f / max(n - 1, 1))
    cy = h * (0.5 + 0.2 * np.sin(f / 40))
    return (xx - cx) ** 2 + (yy - cy) ** 2 < (h / 6) ** 2


def make_video(path: Path, n: int, h: int, w: int) -> None:
    import av

    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=Fraction(30))
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"preset": "ultrafast"}
        for f in range(n):
            img = np.full((h, w, 3), 128, np.uint8)
            img[disc(h, w, f, n)] = (230, 80, 40)
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


def run(n: int, h: int, w: int, tmp: Path) -> dict:
    from annotator.core.project import Project

    video = tmp / f"long{n}.mp4"
    t = time.perf_counter()
    make_video(video, n, h, w)
    with Project.create(tmp / f"p{n}", video) as project:
        st = project.store
        oid = st.add_object("disc", "disc humming")
        st.add_segment(oid, 0, n - 1)
        for a in range(0, n, 200):
            st.put_masks([dict(object_id=oid, frame=f, mask=disc(h, w, f, n), source="manual")
                          for f in range(a, min(a + 200, n))])
    made = time.perf_counter() - t
    out = tmp / f"out{n}"
    r = subprocess.run([sys.executable, "-c", CHILD, str(tmp / f"p{n}"), str(out)],
                       capture_output=True, text=True, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    npy = next(out.rglob("masks.npy"))
    res.update(frames=n, size=f"{w}x{h}", npy_mb=npy.stat().st_size / 2**20, setup_s=made)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[3000])
    ap.add_argument("--size", default="1280x720", help="WxH")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    print(f"{'frames':>7} {'size':>9} {'masks.npy MB':>13} {'RSS before MB':>14} "
          f"{'peak RSS MB':>12} {'export s':>9} {'frames/s':>9}")
    with tempfile.TemporaryDirectory(prefix="lu-avs-bench-") as d:
        for n in args.frames:
            r = run(n, h, w, Path(d))
            print(f"{n:>7} {r['size']:>9} {r['npy_mb']:>13.0f} {r['before_mb']:>14.0f} "
                  f"{r['peak_mb']:>12.0f} {r['seconds']:>9.1f} {n / r['seconds']:>9.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
