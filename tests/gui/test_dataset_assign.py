"""Assigning videos in the dataset window's table: rows selected with a click and a
Ctrl+click, *Assign…* (the button, then the rows' context menu), the dialog filled through
its own combobox and OK; the assignment is written to the real dataset database on the
controller's worker and the Assignee column shows it once the rows are read afresh. The
dataset is real: three DAVIS-2016 sequences from ../shared/data (tests/dataset/conftest.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QFileDialog

from tests.gui.test_dataset_window import _cli, dataset  # noqa: F401 (ann's three videos)


def _assignments(root) -> dict[str, str]:
    from annotator.core.dataset import Dataset

    with Dataset.open(root, readonly=True) as ds:
        return ds.assignments()


def _click_row(qtbot, view, row: int, mods=Qt.KeyboardModifier.NoModifier) -> None:
    rect = view.table.visualRect(view.proxy.index(row, 0))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())


def _dialog(qtbot, view):
    qtbot.waitUntil(lambda: view.assign_dialog is not None and view.assign_dialog.isVisible(),
                    timeout=5000)
    dialog = view.assign_dialog
    return dialog, dialog.findChild(QComboBox), dialog.findChild(QDialogButtonBox)


def _ok(qtbot, buttons) -> None:
    qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def _assignees(view) -> dict[str, str]:
    return {view.row_at(r)["video_id"]: view.proxy.index(r, 6).data()
            for r in range(view.proxy.rowCount())}


def test_assign_selected_rows_from_the_button_and_the_context_menu(qtbot, dataset,  # noqa: F811
                                                                   monkeypatch):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    view = win.datasets.view
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(dataset))
    qtbot.keyClick(win, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # File ▸ Open dataset…
    qtbot.waitUntil(lambda: win.datasets.showing and view.proxy.rowCount() == 3, timeout=30000)
    assert [view.row_at(r)["video_id"] for r in range(3)] == [
        "dog-agility", "motorbike", "rollerblade"]
    assert not view.assign_button.isEnabled()  # nothing selected yet

    # a click on dog-agility, a Ctrl+click on rollerblade; Assign…; a new name typed; OK
    _click_row(qtbot, view, 0)
    _click_row(qtbot, view, 2, Qt.KeyboardModifier.ControlModifier)
    assert view.selected_ids() == ["dog-agility", "rollerblade"]
    assert view.assign_button.isEnabled()
    qtbot.mouseClick(view.assign_button, Qt.MouseButton.LeftButton)
    dialog, combo, buttons = _dialog(qtbot, view)
    assert "2 videos" in dialog.labelText()
    assert [combo.itemText(i) for i in range(combo.count())] == ["ann"]  # the person first
    combo.lineEdit().setFocus()
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(combo.lineEdit(), "bob")
    _ok(qtbot, buttons)
    qtbot.waitUntil(lambda: _assignees(view)["rollerblade"] == "bob", timeout=30000)
    assert _assignees(view) == {"dog-agility": "bob", "motorbike": "ann", "rollerblade": "bob"}
    assert _assignments(dataset) == {"dog-agility": "bob", "motorbike": "ann",
                                     "rollerblade": "bob"}
    assert "Assigned dog-agility, rollerblade to bob" in win.status.currentMessage()
    assert not view.assign_button.isEnabled()  # the rows were read afresh

    # motorbike: the rows' context menu (what a right click sends), Assign…, "bob" picked
    # from the list (known now) with the arrow key, OK
    _click_row(qtbot, view, 1)
    centre = view.table.visualRect(view.proxy.index(1, 0)).center()
    viewport = view.table.viewport()
    QApplication.sendEvent(viewport, QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, centre, viewport.mapToGlobal(centre)))
    qtbot.waitUntil(view.context_menu.isVisible, timeout=5000)
    qtbot.mouseClick(view.context_menu, Qt.MouseButton.LeftButton,
                     pos=view.context_menu.actionGeometry(view.assign_action).center())
    dialog, combo, buttons = _dialog(qtbot, view)
    assert "1 video " in dialog.labelText()
    assert [combo.itemText(i) for i in range(combo.count())] == ["ann", "bob"]
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == "bob"
    _ok(qtbot, buttons)
    qtbot.waitUntil(lambda: _assignees(view)["motorbike"] == "bob", timeout=30000)
    assert _assignments(dataset) == dict.fromkeys(["dog-agility", "motorbike", "rollerblade"],
                                                  "bob")

    # an empty name assigns nothing and says so
    _click_row(qtbot, view, 0)
    qtbot.mouseClick(view.assign_button, Qt.MouseButton.LeftButton)
    dialog, combo, buttons = _dialog(qtbot, view)
    combo.lineEdit().setFocus()
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Backspace)
    _ok(qtbot, buttons)
    assert "Nothing assigned" in win.status.currentMessage()
    assert _assignments(dataset)["dog-agility"] == "bob"
