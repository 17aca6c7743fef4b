"""A project that another process is editing (another window, a running ``annotator
propagate``) opens in the window view only, saying which process has it, instead of an error
box about command-line tools; the commands that would change it are off, and a click on the
frame is refused in those words; nothing is written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton

from tests.gui.conftest import open_window

HOLD = ("import sys\nfrom annotator.core.project import Project\n"
        "p = Project.open(sys.argv[1])\nprint('holding', flush=True)\nsys.stdin.read()\n")


@contextmanager
def held_elsewhere(source, tmp_path):
    """A copy of the demo project that another process holds open; yields (folder, process)."""
    project = tmp_path / source.name
    shutil.copytree(source, project)
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(project)], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert other.stdout.readline().strip() == "holding"
        yield project, other
    finally:
        other.stdin.close()
        other.wait(timeout=30)


def test_a_project_open_elsewhere_opens_view_only_and_says_who_has_it(
        qtbot, demo_dir, tmp_path, monkeypatch):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    with held_elsewhere(demo_dir, tmp_path) as (project, other):
        application()
        win = MainWindow()
        qtbot.addWidget(win)
        win.resize(1280, 800)
        win.show()
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(project))
        win.activateWindow()
        qtbot.waitUntil(win.isActiveWindow, timeout=5000)
        qtbot.keyClick(win.canvas, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Ctrl+O
        qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                        timeout=30000)
        try:
            assert f"view only: open in process {other.pid}" in win.windowTitle()
            assert f"open for editing in process {other.pid}" in win.status.currentMessage()
            assert win.errors.last_error in (None, "")  # no error box
            # every command that would change the project is off; looking and exporting stay
            acts = win.actions_
            assert not any(acts[n].isEnabled() for n in (
                "import_segments", "import_masks", "propagate", "propagate_all", "accept",
                "undo", "tool_brush", "mark_done", "propose"))
            assert all(acts[n].isEnabled() for n in ("export_coco", "next_frame", "play",
                                                     "check_view", "close"))
            qtbot.keyClick(win.canvas, Qt.Key.Key_P)  # P does nothing, and says nothing false
            assert "Done" not in win.status.currentMessage()
            # a click on the frame would make a mask: refused in words naming the process
            before = win.session.store.mask_count()
            qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton,
                             pos=win.canvas.to_widget(100.0, 100.0).toPoint())
            qtbot.waitUntil(lambda: "open for editing in process" in
                            win.status.currentMessage(), timeout=30000)
            assert "close it there, then open it again here" in win.status.currentMessage()
            assert win.session.store.mask_count() == before
        finally:
            win.close_project()


def test_view_only_the_panels_buttons_that_would_change_it_are_off_and_say_why(
        qtbot, demo_dir, tmp_path):
    """The Objects and Segments panels' Add…, Rename…, Colour…, Delete…, Done and Failed were
    live in a view-only window: Add… opened its dialog, the person typed a name, and only OK
    answered, in red, that nothing can be written. Now they are greyed like the menus' commands,
    their tooltips say why, and a click opens nothing; Annotate (a jump) still works."""

    with held_elsewhere(demo_dir, tmp_path) as (project, other):
        win = open_window(qtbot, project)
        try:
            objects, segments = win.objects_panel, win.segments_panel
            edits = [b for panel in (objects, segments) for b in panel.findChildren(QPushButton)
                     if b.text() in ("Add…", "Rename…", "Colour…", "Delete…", "Done", "Failed")]
            assert len(edits) == 7
            for button in edits:
                assert not button.isEnabled(), button.text()
                assert f"open for editing in process {other.pid}" in button.toolTip()
            for panel in (objects, segments):
                qtbot.mouseClick(panel.add_btn, Qt.MouseButton.LeftButton)
                qtbot.wait(100)
                assert panel.dialog is None  # no dialog to fill in vain
            assert segments.go_btn.isEnabled()
            segments.select(win.session.segments[0].id)
            qtbot.mouseClick(segments.go_btn, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: win.state.frame == win.session.segments[0].start,
                            timeout=10000)
        finally:
            win.close_project()
