"""The log file a person attaches to a report: every failure the window catches is written
there with its traceback (a bug also to stderr), the error dialog names the file, Help > Open
log folder opens its folder; a CLI bug's traceback lands there too. The log folder is
``$AVS_ANNOTATOR_LOG_DIR`` (a temporary folder per test, see conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox

from annotator import logs


def _log_dir() -> Path:
    return Path(os.environ["AVS_ANNOTATOR_LOG_DIR"])


def _log_text() -> str:
    logs.flush()
    path = _log_dir() / "annotator.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _open_folder_through_file_menu(qtbot, win, folder: Path) -> None:
    """File > Open project…, type the folder into the real file dialog, Enter."""
    typed: list[str] = []

    def type_path() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QFileDialog):
            QTimer.singleShot(50, type_path)
            return
        edit = dlg.findChild(QLineEdit, "fileNameEdit")
        qtbot.wait(300)  # the folder listing loads in the background and may select a row
        edit.selectAll()
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
        qtbot.keyClicks(edit, str(folder))
        typed.append(edit.text())
        # Enter where the keys go (the completer's list, when it popped up, passes it on)
        qtbot.keyClick(QApplication.focusWidget() or edit, Qt.Key.Key_Return)
        if dlg.isVisible():
            qtbot.keyClick(edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, type_path)
    win.actions_["open"].trigger()  # returns once the dialog is closed
    assert typed == [str(folder)]


def _message_box(qtbot) -> QMessageBox:
    boxes: list[QMessageBox] = []

    def shown() -> bool:
        boxes[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.isVisible()]
        return bool(boxes)

    qtbot.waitUntil(shown, timeout=20000)
    return boxes[0]


def _bare_window(qtbot):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1024, 640)
    win.show()
    return win


def test_a_damaged_project_is_logged_with_its_traceback_and_the_dialog_says_where(
        qtbot, tmp_path, capfd):
    damaged = tmp_path / "broken.avsproj"
    damaged.mkdir()
    (damaged / "project.avs").write_bytes(os.urandom(4096))  # not a database
    win = _bare_window(qtbot)
    _open_folder_through_file_menu(qtbot, win, damaged)
    box = _message_box(qtbot)
    log_file = _log_dir() / "annotator.log"
    assert str(log_file) in box.text()
    assert "not a readable project database" in box.text()
    text = _log_text()
    assert "Traceback (most recent call last)" in text
    assert "StoreError" in text and str(damaged) in text
    err = capfd.readouterr().err  # a bad input: one line on stderr, no traceback
    assert "not a readable project database" in err and "Traceback" not in err
    box.button(QMessageBox.StandardButton.Ok).click()
    assert win.session is None  # and the window goes on


def test_a_bug_is_logged_to_the_file_and_stderr_and_the_dialog_names_the_log(
        qtbot, tmp_path, monkeypatch, capfd):
    """A fake stands in for the bug: opening a project raises an unexpected ZeroDivisionError
    (this test is about what happens to a bug's traceback, not about opening projects)."""
    from annotator.pipeline import opening

    def broken(path):
        return 1 / 0

    monkeypatch.setattr(opening, "open_project", broken)
    project = tmp_path / "p.avsproj"
    project.mkdir()
    (project / "project.avs").write_bytes(b"")
    win = _bare_window(qtbot)
    _open_folder_through_file_menu(qtbot, win, project)
    box = _message_box(qtbot)
    assert box.windowTitle() == "Something went wrong"
    assert str(_log_dir() / "annotator.log") in box.text()
    assert "ZeroDivisionError" in box.detailedText()
    text = _log_text()
    assert "Traceback (most recent call last)" in text
    assert "in broken" in text and "ZeroDivisionError: division by zero" in text
    assert "ZeroDivisionError" in capfd.readouterr().err
    box.button(QMessageBox.StandardButton.Ok).click()


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_help_menu_opens_the_log_folder(qtbot):
    win = _bare_window(qtbot)
    help_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Help")
    act = win.actions_["open_log"]
    assert act in help_menu.actions() and act.isEnabled()
    catcher = _UrlCatcher()  # stands in for the desktop's file manager
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        help_menu.popup(win.mapToGlobal(win.rect().center()))
        qtbot.waitUntil(help_menu.isVisible, timeout=3000)
        qtbot.mouseClick(help_menu, Qt.MouseButton.LeftButton,
                         pos=help_menu.actionGeometry(act).center())
        qtbot.waitUntil(lambda: bool(catcher.urls), timeout=3000)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert Path(catcher.urls[0].toLocalFile()) == _log_dir()
    assert _log_dir().is_dir()


def test_a_cli_bug_leaves_its_traceback_in_the_log(monkeypatch, capsys):
    """A fake stands in for the bug: ``annotator demo`` raises an unexpected error (the test is
    about where a CLI bug's traceback goes)."""
    from annotator import cli, demo

    def broken(*_a, **_k):
        raise RuntimeError("a bug in the demo")

    monkeypatch.setattr(demo, "make_demo", broken)
    with pytest.raises(RuntimeError):
        cli.main(["demo", "--headless", "--dir", str(_log_dir().parent / "demo")])
    err = capsys.readouterr().err
    assert str(_log_dir() / "annotator.log") in err
    text = _log_text()
    assert "annotator demo: RuntimeError: a bug in the demo" in text
    assert "Traceback (most recent call last)" in text and "in broken" in text
