"""Render the timeline's sound rows on the demo project to PNG (offscreen):
``python scripts/timeline_screenshots.py [DIR]`` (default ``docs/screenshots``).

The real window at 1920×1080: the audio analysis built in the background, Review ▸ Propose
segments from audio, the bell selected, a click on its second segment (selected), the playhead
in it — ``10-timeline-audio.png``; then the timeline alone, zoomed in with the wheel, while a
new segment is being dragged on the drum's row — ``11-timeline-drag.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="avs-timeline-shots-"))
    os.environ["AVS_ANNOTATOR_SETTINGS"] = str(tmp / "settings.ini")
    os.environ.setdefault("AVS_ANNOTATOR_LOG_DIR", str(tmp / "logs"))
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from annotator.demo import make_demo
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow
    from annotator.gui.timeline import ROW_H

    app = application()
    make_demo(tmp).close()
    win = MainWindow()
    win.resize(1920, 1080)
    win.show()

    def spin(cond=lambda: True, timeout: float = 120.0) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            app.processEvents()
            s = win.session
            idle = s is None or (s.serial.pending == 0 and s.tasks.pending == 0
                                 and not win.feed.loading)
            if idle and cond():
                for _ in range(5):
                    app.processEvents()
                return
            time.sleep(0.01)
        raise TimeoutError("the window did not settle")

    def save(widget, name: str) -> None:
        tl.repaint()
        spin(lambda: tl.audio.images is not None and tl.audio.images[0][:2] == (tl.geom.v0, tl.geom.v1))
        path = out / name
        widget.grab().save(str(path))
        print(path)

    win.open_path(tmp / "demo.avsproj")
    spin(lambda: win.session is not None and win.canvas.view is not None)
    tl = win.timeline
    spin(lambda: tl.audio.state == "ready" and len(tl.objects) == 2)
    win.actions_["propose"].trigger()
    spin(lambda: len(tl.audio.proposals) > 0)
    QTest.keyClick(win.canvas, Qt.Key.Key_1)  # the bell
    spin()
    bell = tl.objects[0].id
    y = int(tl.geom.row_top(bell) + ROW_H // 2)
    QTest.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.geom.x(150)), y))
    spin()
    save(win, "10-timeline-audio.png")
    # zoomed in on the first seconds, a segment being drawn on the drum's row
    for _ in range(5):
        pos = QPointF(tl.geom.x(0) + 1, 30)
        QApplication.sendEvent(tl, QWheelEvent(
            pos, tl.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))
    spin()
    drum = tl.objects[1].id
    y = int(tl.geom.row_top(drum) + ROW_H // 2)
    QTest.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.geom.x(8)), y))
    for f in (12, 18, 24, 30):
        QTest.mouseMove(tl, QPoint(int(tl.geom.x(f)), y))
    spin()
    save(tl, "11-timeline-drag.png")
    QTest.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.geom.x(30)), y))
    spin()
    win.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
