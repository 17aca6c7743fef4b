"""New project from the File menu, the way a person does it: the dialog filled through its
own fields, the project placed where they chose; a bad file leaves the open project open;
a video in a folder that cannot be written to gets a project in the per-user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from annotator.gui.dialogs.new_project_dialog import NewProjectDialog
from tests.conftest import SHARED

VIDEOS = SHARED / "data" / "videos"
LEFT = Qt.MouseButton.LeftButton


def _bikes() -> Path:
    video = VIDEOS / "bikes.mp4"
    if not video.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{video} is missing: CI always has ../shared")
        pytest.skip("../shared/data is not here (a user's clone)")
    return video


def _dialog(qtbot, win) -> NewProjectDialog:
    win.actions_["new"].trigger()  # File ▸ New project from video… (Ctrl+N)
    qtbot.waitUntil(lambda: isinstance(win.dialog, NewProjectDialog) and win.dialog.isVisible(),
                    timeout=5000)
    return win.dialog


def _type(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def _ok(qtbot, dlg) -> None:
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)


def test_a_bad_file_leaves_the_open_project_open(ui, qtbot, tmp_path):
    win = ui.win
    before = win.session.project.dir
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    dlg = _dialog(qtbot, win)
    _type(qtbot, dlg.video, str(bad))
    assert dlg.location.text() == str(tmp_path / "broken.mp4.avsproj")
    assert "beside the video" in dlg.note.text()
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: win.errors.last_error is not None, timeout=30000)
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert "broken.mp4" in box.text()
    # headed by what the person did, not by a project folder that was never made
    assert box.text().startswith("Could not create a project from broken.mp4")
    box.close()
    # the demo is still open and still shows its frame
    assert win.session is not None and win.session.project.dir == before
    assert win.canvas.view is not None
    assert not (tmp_path / "broken.mp4.avsproj").exists()


def test_new_project_goes_where_the_person_chose(ui, qtbot, tmp_path):
    win = ui.win
    video = _bikes()
    dlg = _dialog(qtbot, win)
    _type(qtbot, dlg.video, str(video))
    assert dlg.location.text().endswith("bikes.mp4.avsproj")
    # a location that cannot be used is refused inside the dialog
    _type(qtbot, dlg.video, str(tmp_path / "nothing.mp4"))
    _ok(qtbot, dlg)
    assert dlg.isVisible() and "does not exist" in dlg.problem.text()
    _type(qtbot, dlg.video, str(video))
    chosen = tmp_path / "team" / "bikes.avsproj"
    _type(qtbot, dlg.location, str(chosen))
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: win.session is not None and win.session.project.dir == chosen
                    and win.canvas.view is not None, timeout=60000)
    assert win.session.frame_count == 250
    assert not (video.parent / "bikes.mp4.avsproj").exists()
    assert win.windowTitle().startswith("bikes.avsproj")


def test_unwritable_video_folder_puts_the_project_in_the_data_folder(ui, qtbot, tmp_path,
                                                                     monkeypatch):
    """The operating system's answer "this folder cannot be written to" is faked (the tests
    run as root, for whom permission bits do not stop a write); the rest is the real dialog
    and the real project creation."""
    import annotator.core.project as P

    video = _bikes()
    real = P.folder_is_writable
    monkeypatch.setattr(P, "folder_is_writable",
                        lambda folder: Path(folder) != video.parent and real(folder))
    import annotator.gui.dialogs.new_project_dialog as D

    monkeypatch.setattr(D, "folder_is_writable", P.folder_is_writable)
    dlg = _dialog(qtbot, ui.win)
    _type(qtbot, dlg.video, str(video))
    expected = tmp_path / "data" / "projects" / "bikes.mp4.avsproj"
    assert dlg.location.text() == str(expected)
    assert "cannot be written to" in dlg.note.text() and "data folder" in dlg.note.text()
    # typing the video's own folder back is refused with the reason
    _type(qtbot, dlg.location, str(video.parent / "bikes.mp4.avsproj"))
    _ok(qtbot, dlg)
    assert dlg.isVisible() and "cannot be written to" in dlg.problem.text()
    _type(qtbot, dlg.location, str(expected))
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: ui.win.session is not None
                    and ui.win.session.project.dir == expected, timeout=60000)
    # dropping the same video again finds that project instead of making another
    folder, why = P.suggested_project_dir(video)
    assert folder == expected and "already has a project" in why


def test_a_refused_folder_is_said_whole(ui, qtbot, monkeypatch):
    """The reason a folder is refused wraps onto a second line: the dialog grows to show all
    of it (it was cut in half), and the "Suggested" note goes once the person typed their own
    folder. The operating system's "cannot be written to" is faked as above (root)."""
    import annotator.core.project as P
    import annotator.gui.dialogs.new_project_dialog as D

    video = _bikes()
    real = P.folder_is_writable
    monkeypatch.setattr(D, "folder_is_writable",
                        lambda folder: Path(folder) != video.parent and real(folder))
    dlg = _dialog(qtbot, ui.win)
    _type(qtbot, dlg.video, str(video))
    assert dlg.note.text().startswith("Suggested")
    _type(qtbot, dlg.location, str(video.parent / "mine" / "bikes.avsproj"))
    assert dlg.note.text() == ""  # no longer the suggestion
    _ok(qtbot, dlg)
    assert dlg.isVisible() and "cannot be written to" in dlg.problem.text()
    label = dlg.problem
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=3000)
    assert label.heightForWidth(label.width()) > label.fontMetrics().height()  # two lines
    bottom = label.mapTo(dlg, label.rect().bottomLeft()).y()
    assert bottom <= dlg.buttons.geometry().top()  # not under the buttons either
    dlg.reject()
