"""The dataset window's table on thousands of small projects: open, and scroll.

    python bench/dataset_window_bench.py [--videos 2000] [--frames 8] [--dir DIR]

Builds the dataset of :mod:`bench.dataset_bench` (``--videos`` generated frame folders, one
project each, one audible segment and ``--frames`` masks per project; with ``--dir`` holding a
``big`` dataset already, that one is reused), then, in the real window (offscreen platform):

* **open**: File ▸ Open dataset… (the action triggered, the folder dialog answered) until the
  table holds every row and its viewport has painted them: with an empty summary cache (every project's
  store read on the controller's worker) and with the cache filled;
* **stall**: a 5 ms QTimer heartbeat on the GUI thread during each open and during the
  scrolling; a stall is the gap between two ticks minus the interval (as in
  ``bench/gui_bench.py``);
* **scroll**: the table's vertical scroll bar stepped from the top to the bottom, one step (a
  row) every 10 ms by a second timer, then again a page at a time, events processed.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dataset_bench import build, frames_template  # noqa: E402

INTERVAL = 5  # ms, the heartbeat


class Heartbeat:
    """A 5 ms timer on the GUI thread; the gaps between its ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import QElapsedTimer, Qt, QTimer

        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.last = 0.0

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self.last)
        self.last = now

    def start(self) -> None:
        self.gaps.clear()
        self.clock.start()
        self.last = 0.0
        self.timer.start(INTERVAL)

    def stop(self) -> str:
        self.timer.stop()
        stalls = sorted(max(0.0, g - INTERVAL) for g in self.gaps)
        if not stalls:
            return "no ticks"
        p99 = stalls[min(len(stalls) - 1, int(0.99 * len(stalls)))]
        return (f"stall max {stalls[-1]:.1f} ms, p99 {p99:.1f} ms, median "
                f"{statistics.median(stalls):.1f} ms over {len(stalls)} ticks")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--videos", type=int, default=2000)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--dir", type=Path, help="where to build (default: a temporary folder); "
                    "a DIR/big dataset already there is reused")
    args = ap.parse_args(argv)
    base = Path(args.dir or tempfile.mkdtemp(prefix="dataset-window-bench-"))
    root = base / "big"
    if (root / "dataset.avsds").exists():
        print(f"reusing the dataset in {root}")
    else:
        template = frames_template(base / "template", args.frames)
        t = time.perf_counter()
        build(root, template, args.videos, args.frames)
        print(f"{args.videos} videos built (add, import, masks): "
              f"{time.perf_counter() - t:.1f} s")
    os.environ["AVS_ANNOTATOR_SETTINGS"] = str(base / "settings.ini")

    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QFileDialog

    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    app = application()
    win = MainWindow()
    win.resize(1440, 880)
    win.show()
    QFileDialog.getExistingDirectory = staticmethod(lambda *a, **k: str(root))
    view = win.datasets.view
    table = view.table
    painted: list[float] = []

    class Paints(QObject):
        """Notes each paint event of the table's viewport (the paint follows at once)."""

        def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint:
                painted.append(time.perf_counter())
            return False

    paints = Paints()
    table.viewport().installEventFilter(paints)

    def spin(cond, timeout=600.0) -> None:
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.001)
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("timed out")

    spin(lambda: win.isVisible())
    for _ in range(20):
        app.processEvents()
    beat = Heartbeat()
    n = None
    for label in ("empty cache (every project read)", "cached summaries"):
        if label.startswith("empty"):
            db = sqlite3.connect(root / "dataset.avsds")
            db.execute("DELETE FROM summaries")
            db.commit()
            db.close()
        view.model.set_rows([])
        spin(lambda: view.proxy.rowCount() == 0)
        painted.clear()
        beat.start()
        t0 = time.perf_counter()
        win.actions_["open_dataset"].trigger()
        spin(lambda: win.datasets.showing and view.proxy.rowCount() > 0)
        rows_at = time.perf_counter()
        spin(lambda t=rows_at: bool(painted) and painted[-1] > t, timeout=60)
        took = time.perf_counter() - t0  # the paint noted has run by now
        stalls = beat.stop()
        n = view.proxy.rowCount()
        print(f"open, {label}: {n} rows in the table {rows_at - t0:.2f} s, painted "
              f"{took:.2f} s; {stalls}")

    from PySide6.QtCore import QTimer

    bar = table.verticalScrollBar()
    print(f"table: {n} rows, {bar.maximum() - bar.minimum() + 1} scroll positions, "
          f"{bar.pageStep()} rows a page, viewport {table.viewport().width()}×"
          f"{table.viewport().height()}")
    for label, step in (("a row", bar.singleStep()), ("a page", bar.pageStep())):
        bar.setValue(bar.minimum())
        for _ in range(10):
            app.processEvents()
        stepper = QTimer()
        stepper.timeout.connect(lambda step=step: bar.setValue(bar.value() + step))
        painted.clear()
        beat.start()
        t0 = time.perf_counter()
        stepper.start(10)
        spin(lambda: bar.value() >= bar.maximum())
        stepper.stop()
        for _ in range(10):
            app.processEvents()
        took = time.perf_counter() - t0
        stalls = beat.stop()
        print(f"scroll top to bottom {label} every 10 ms: {took:.2f} s, {len(painted)} "
              f"repaints; {stalls}")
    win.close()
    print(f"(built in {base}; delete it when done)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
