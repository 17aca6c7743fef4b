"""Playback with sound: how closely the frame shown follows the sound played (issue 14).

Opens the demo project in the real window (offscreen), presses Play on the first frame and,
every 20 ms for ``--seconds``, compares three frames: the one the sound clock says (the sink's
own ``processedUSecs``, or the wall clock when playing silent), the window's current frame
(timeline, HUD) and the frame painted on the canvas (decoded off the GUI thread). Prints the
share of samples within one frame, the worst lag, and how many of the frames played were
painted (the rest were dropped because decoding lagged), and the longest stall of the GUI
event loop meanwhile (a 5 ms QTimer, as in bench/gui_bench.py).

    python bench/playback_bench.py                # 6 s at 1×, the sound card if there is one
    python bench/playback_bench.py --speed 2
    AVS_ANNOTATOR_AUDIO=none python bench/playback_bench.py   # silent, on the wall clock
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--speed", type=float, default=1.0, choices=(0.5, 1.0, 2.0))
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="avs-playback-bench-"))
    os.environ.setdefault("AVS_ANNOTATOR_SETTINGS", str(tmp / "settings.ini"))
    os.environ.setdefault("AVS_ANNOTATOR_MODELS_DIR", str(tmp / "models"))
    from PySide6.QtCore import QElapsedTimer

    from annotator.demo import make_demo
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    app = application()
    make_demo(tmp).close()
    win = MainWindow()
    win.resize(1280, 800)
    win.show()

    def wait(ms: float) -> None:
        t = QElapsedTimer()
        t.start()
        while t.elapsed() < ms:
            app.processEvents()
            time.sleep(0.001)

    win.open_path(tmp / "demo.avsproj")
    while win.session is None or win.canvas.view is None:
        wait(20)
    wait(500)
    pb, video = win.playback, win.session.video
    out = pb.out if video.has_audio else None
    pb.set_speed(args.speed)
    p0 = out.sink.processedUSecs() if out else 0
    wall = QElapsedTimer()
    wall.start()
    painted: set[int] = set()
    set_view = win.canvas.set_view

    def record(view):  # every frame the canvas is handed, to count the dropped ones
        if view is not None and pb.playing:
            painted.add(view.index)
        set_view(view)

    win.canvas.set_view = record
    from PySide6.QtCore import QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]

    def probe() -> None:  # a 5 ms timer on the GUI thread: a gap beyond 5 ms is a stall
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - 5)
        last[0] = now

    stall = QTimer()
    stall.timeout.connect(probe)
    stall.start(5)
    win.playback.toggle()
    rows = []
    while wall.elapsed() < args.seconds * 1000 and pb.playing:
        wait(20)
        played = (out.sink.processedUSecs() - p0) / 1e6 if out else wall.elapsed() / 1000
        clock = video.index_at(played * args.speed)
        rows.append((clock, win.state.frame, win.canvas.view.index))
    win.playback.toggle()
    stall.stop()
    moving = [r for r in rows if r[0] > 0]
    if not moving:
        print("the clock never moved")
        return
    d_win = [abs(c - f) for c, f, _ in moving]
    d_shown = [abs(c - v) for c, _, v in moving]
    played_frames = moving[-1][0] - moving[0][0] + 1
    print(f"clock: {'sound card ' + out.name if out else 'wall clock (silent)'}, "
          f"speed {args.speed:g}×, {len(moving)} samples over {played_frames} frames")
    print(f"window frame within 1 of the clock: {100 * sum(d <= 1 for d in d_win) / len(d_win):.0f}% "
          f"(worst {max(d_win)})")
    print(f"painted frame within 1 of the clock: "
          f"{100 * sum(d <= 1 for d in d_shown) / len(d_shown):.0f}% (worst {max(d_shown)})")
    print(f"frames painted: {len(painted)} of {played_frames} played "
          f"({played_frames - len(painted)} dropped)")
    gaps.sort()
    print(f"GUI event loop while playing: longest stall {gaps[-1]:.1f} ms, "
          f"p99 {gaps[int(0.99 * (len(gaps) - 1))]:.1f} ms")
    win.close_project()


if __name__ == "__main__":
    main()
