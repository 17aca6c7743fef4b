"""Render each view of the demo project to PNG (offscreen): ``python scripts/screenshots.py [DIR]``.

Drives the real window as a person would — clicks on the bell, accept, propagate both objects,
open the check view — and saves ``window.grab()`` at each stage into DIR (default
``docs/screenshots``), once per window size (``--sizes``, default a 1920×1080 desktop and a
1024×640 laptop). The first size gets the plain names (``01-project-open.png`` …) and the
dialogs; every other size gets its stages 01, 02 and 05 as ``WxH-01-project-open.png`` ….
Runs on the weight-free fallback engines unless model files are present.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]


def _shrink(path: Path) -> None:
    """256-colour PNG: a third of the size, no visible difference on these views."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


def _davis_project(src: Path, tmp: Path) -> Path:
    """A project on a DAVIS sequence: one object, one segment, the first ground-truth mask."""
    import numpy as np
    from PIL import Image

    from annotator.core.project import Project

    with Project.create(tmp / f"{src.name}.avsproj", src / "JPEGImages", fps=24) as project:
        st = project.store
        oid = st.add_object("rider", "person")
        st.add_segment(oid, 0, st.frame_count - 1)
        gt = np.array(Image.open(src / "Annotations" / "00000.png")) > 0
        st.put_mask(oid, 0, gt, source="imported")
        return project.dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--sizes", default="1920x1080,1024x640",
                    help="window sizes WxH, comma separated (the first: every view and dialog)")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="avs-shots-"))
    os.environ["AVS_ANNOTATOR_SETTINGS"] = str(tmp / "settings.ini")
    os.environ.setdefault("AVS_ANNOTATOR_LOG_DIR", str(tmp / "logs"))

    from PySide6.QtWidgets import QApplication

    from annotator.gui.app import application

    app = application()
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    for i, (w, h) in enumerate(sizes):
        first = i == 0
        _render(app, (w, h), out, tmp / f"{w}x{h}", prefix="" if first else f"{w}x{h}-",
                only=None if first else {"01-project-open", "02-prompt-clicks", "05-check-view"},
                dialogs=first)
    QApplication.quit()
    return 0


def _render(app, size: tuple[int, int], out: Path, tmp: Path, prefix: str,
            only: set[str] | None, dialogs: bool) -> None:
    """The whole walk-through on a fresh demo, in a window of ``size``."""
    from PySide6.QtCore import QPointF

    from annotator.demo import FPS, _bell_center, make_demo
    from annotator.gui.main_window import MainWindow

    tmp.mkdir(parents=True)
    make_demo(tmp).close()
    win = MainWindow()
    win.resize(*size)
    win.show()

    def spin(cond=lambda: True, timeout: float = 120.0) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            app.processEvents()
            s = win.session
            idle = s is None or (s.serial.pending == 0 and s.tasks.pending == 0 and s.job is None
                                 and not win.feed.loading)
            if idle and cond():
                for _ in range(5):
                    app.processEvents()
                return
            time.sleep(0.01)
        raise TimeoutError("the window did not settle")

    def sound_drawn() -> bool:
        """The timeline's sound rows are analysed (or have no sound) and drawn for the view."""
        tl = win.timeline
        if tl is None or tl.audio.state in ("starting", "building"):
            return False
        g = tl.geom
        return tl.audio.state != "ready" or (
            tl.audio.images is not None and tl.audio.images[0][:3] == (g.v0, g.v1, g.plot_w))

    def shot(name: str, widget=None) -> None:
        if only is not None and name not in only:
            return
        app.processEvents()
        if win.timeline is not None:  # not idle: a job may be running (03-propagating)
            win.timeline.repaint()  # asks for the images of the current view
            t0 = time.monotonic()
            while not sound_drawn() and time.monotonic() - t0 < 60:
                app.processEvents()
                time.sleep(0.01)
        if widget is None:
            assert win.size().toTuple() == size, (win.size().toTuple(), size)
        path = out / f"{prefix}{name}.png"
        (widget or win).grab().save(str(path))
        _shrink(path)
        print(path)

    win.open_path(tmp / "demo.avsproj")
    spin(lambda: win.session is not None and win.canvas.view is not None)
    shot("01-project-open")

    store = win.session.store
    bell = store.object_by_name("bell").id
    drum = store.object_by_name("drum").id
    # stage 1: the bell's first segment, a positive click on it, a negative one beside it
    seg = store.segments(bell)[0]
    win.segments_panel.segment_activated.emit(seg.id)
    spin()
    x, y = _bell_center(seg.start / FPS)
    win.prompt.click(float(x), float(y), True)
    spin()
    win.prompt.click(float(x) - 120, float(y) + 60, False)
    spin()
    shot("02-prompt-clicks")
    win.review.accept()
    spin()
    # the drum: first frame of its segment, two clicks, accept
    dseg = store.segments(drum)[0]
    win.segments_panel.segment_activated.emit(dseg.id)
    spin()
    win.prompt.click(512.0, 259.0, True)
    spin()
    win.prompt.click(430.0, 200.0, False)
    spin()
    win.review.accept()
    spin()
    # the bell's second segment, from one click and one negative click
    seg2 = store.segments(bell)[1]
    win.segments_panel.segment_activated.emit(seg2.id)
    spin()
    x2, y2 = _bell_center(seg2.start / FPS)
    win.prompt.click(float(x2), float(y2), True)
    spin()
    win.prompt.click(float(x2) + 110, float(y2) + 90, False)
    spin()
    win.review.accept()
    spin()
    # stage 2: propagate everything; capture while it runs
    win.state.set_frame(seg.start + 20)
    spin()
    win.propagation.propagate_all()
    t0 = time.monotonic()  # the segments are triaged on a worker first, then the job starts
    while win.session.job is None and time.monotonic() - t0 < 30:
        app.processEvents()
        time.sleep(0.005)
    while win.session.job is not None and time.monotonic() - t0 < 120:
        app.processEvents()
        if win.status.progress.value() >= win.status.progress.maximum() * 0.3 > 0:
            break
        time.sleep(0.01)
    shot("03-propagating")
    spin()
    win.state.set_frame(60)
    spin()
    shot("04-propagated")
    # stage 3: the check view at the worst flagged clip. The demo propagates cleanly, so when
    # ../shared is there a real DAVIS sequence shows it (first-frame ground truth as the anchor).
    davis = ROOT.parent / "shared" / "data" / "davis2016" / "bmx-bumps"
    if davis.exists():
        project_dir = _davis_project(davis, tmp)
        win.open_path(project_dir)
        spin(lambda: win.session is not None and win.session.project.dir == project_dir
             and win.canvas.view is not None)
        win.propagation.propagate_all()
        spin()
    win.review.show_check_view()
    spin()
    if win.session.checks.clips:
        clip = win.session.checks.clips[0]
        win.state.go(clip.object_id, clip.worst_frame)
        spin()
    shot("05-check-view")
    win.edit.set_tool("brush")
    win.canvas.set_brush_radius(18)
    cx, cy = win.canvas.width() // 2, win.canvas.height() // 2
    win.canvas._mouse = QPointF(cx, cy)
    win.canvas.update()
    shot("06-brush", win.canvas)
    win.edit.set_tool("points")
    if dialogs:
        from annotator.gui.dialogs.models_dialog import ModelsDialog
        from annotator.gui.dialogs.preferences import PreferencesDialog
        from annotator.gui.dialogs.shortcuts import ShortcutsDialog

        for name, dlg in (("07-preferences", PreferencesDialog(win, win.actions_)),
                          ("08-shortcuts", ShortcutsDialog(win, win.actions_)),
                          ("09-models", ModelsDialog(win))):
            dlg.show()
            app.processEvents()
            shot(name, dlg)
            dlg.close()
    win.close()
    app.processEvents()


if __name__ == "__main__":
    sys.exit(main())
