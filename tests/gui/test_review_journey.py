"""Review ▸ Reviewer mode on the real window, pressed as people press it: the reviewer (her
name typed into Preferences) turns reviewer mode on in the Review menu, goes to frame 30 of the
bell's segment and asks for work with a comment through the dialog's own widgets; the
annotator (his name in Preferences) sees that item first in the check view (F goes there) with
the comment on that frame, fixes it (a click, Enter): "needs work, fixed since"; the reviewer
approves it; the export says review=approved, reviewed_by=her; an edit after that is "changed
since approval". Who made each operation is in the store. Views alone: test_review_views.py."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from annotator import settings
from annotator.demo import FPS, _bell_center
from tests.gui.test_preferences import _ok, _preferences, _press, _tab, _type_number

LEFT = Qt.MouseButton.LeftButton
COMMENT = "the handle is cut off"


@pytest.fixture(autouse=True)
def _fresh_settings():
    settings.reload()
    yield
    settings.reload()


def _menu_click(qtbot, win, title: str, name: str) -> None:
    """Open the menu ``title`` and click its entry ``name`` with the mouse."""
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == title)
    act = win.actions_[name]
    assert act in menu.actions() and act.isEnabled()
    menu.popup(win.mapToGlobal(win.rect().center()))
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    qtbot.mouseClick(menu, LEFT, pos=menu.actionGeometry(act).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=3000)


def _my_name(qtbot, win, name: str) -> None:
    """Edit ▸ Preferences (Ctrl+,), Window tab, "Your name", OK."""
    dlg = _preferences(qtbot, win)
    _tab(qtbot, dlg, "Window")
    _type_number(qtbot, dlg.person_name, name)
    _ok(qtbot, dlg)
    assert settings.person() == name


def _first_row(cv) -> str:
    item = cv.tree.topLevelItem(0)
    return item.text(2) if item is not None else ""


def _click(ui, frame: int) -> None:
    x, y = _bell_center(frame / FPS)
    ui.click(float(x), float(y))
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    ui.idle()


def test_needs_work_fix_approve_export(ui, qtbot, tmp_path):
    from annotator.cli import main
    from annotator.core.review import segment_reviews

    win, cv = ui.win, ui.win.check_view
    bell, seg = ui.bell()
    _my_name(qtbot, win, "rita")
    assert not cv.needs_work_btn.isVisible()
    _menu_click(qtbot, win, "&Review", "reviewer_mode")
    assert win.actions_["reviewer_mode"].isChecked() and win.reviewer.on
    assert cv.needs_work_btn.isVisible() and cv.approve_btn.isVisible()
    ui.go_to_segment(seg.id)
    for _ in range(2):  # 10 frames on, twice
        _press(qtbot, win, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert (win.state.frame, win.state.object_id) == (30, bell)
    qtbot.mouseClick(cv.needs_work_btn, LEFT)
    qtbot.waitUntil(lambda: win.reviewer.dialog is not None and win.reviewer.dialog.isVisible(),
                    timeout=5000)
    dlg = win.reviewer.dialog
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert not ok.isEnabled() and dlg.frame.value() == 30
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.comment, timeout=5000)
    qtbot.keyClicks(QApplication.focusWidget(), COMMENT)
    qtbot.mouseClick(ok, LEFT)
    qtbot.waitUntil(lambda: _first_row(cv).startswith("needs work (rita)"), timeout=10000)
    assert COMMENT in _first_row(cv) and cv.tree.topLevelItem(0).text(3) == "@30"
    qtbot.waitUntil(lambda: COMMENT in win.canvas.remark, timeout=5000)  # on this frame
    _menu_click(qtbot, win, "&Review", "reviewer_mode")  # off
    assert not win.reviewer.on and not cv.needs_work_btn.isVisible()

    # the annotator: the request comes first, F goes to its frame, the comment is on it
    _my_name(qtbot, win, "anna")
    _press(qtbot, win, Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier)
    ui.idle()
    assert win.state.frame == 0 and win.canvas.remark == ""
    _press(qtbot, win, Qt.Key.Key_F, Qt.KeyboardModifier.NoModifier)
    ui.idle()
    assert (win.state.frame, win.state.object_id) == (30, bell)
    assert "Needs work (rita, bell): " + COMMENT in win.canvas.remark
    _click(ui, 30)  # the fix: a click on the bell, Enter
    qtbot.waitUntil(lambda: _first_row(cv).startswith("needs work, fixed since (rita)"),
                    timeout=30000)
    assert segment_reviews(ui.store)[seg.id].state == "fixed"
    assert ui.store.history(1)[0].author == "anna"  # the fix (and its re-propagation)

    # the reviewer approves it
    _my_name(qtbot, win, "rita")
    _menu_click(qtbot, win, "&Review", "reviewer_mode")
    item = cv.tree.topLevelItem(0)
    qtbot.mouseClick(cv.tree.viewport(), LEFT, pos=cv.tree.visualItemRect(item).center())
    ui.idle()
    assert (win.state.frame, win.state.object_id) == (30, bell)
    qtbot.mouseClick(cv.approve_btn, LEFT)
    qtbot.waitUntil(lambda: not _first_row(cv).startswith(("needs work", "changed")),
                    timeout=10000)
    review = segment_reviews(ui.store)[seg.id]
    assert (review.state, review.by) == ("approved", "rita")
    assert win.canvas.remark == ""  # nothing asked for any more
    out = tmp_path / "out.json"
    assert main(["export", str(ui.win.session.project.dir), "-o", str(out)]) == 0
    anns = [a for a in json.loads(out.read_text())["annotations"] if a["segment_id"] == seg.id]
    assert anns and {(a["attributes"]["review"], a["attributes"]["reviewed_by"])
                     for a in anns} == {("approved", "rita")}

    # an edit after approval
    _menu_click(qtbot, win, "&Review", "reviewer_mode")
    _my_name(qtbot, win, "anna")
    _press(qtbot, win, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)  # frame 20
    assert win.state.frame == 20
    _click(ui, 20)
    qtbot.waitUntil(lambda: _first_row(cv).startswith("changed since approval (rita)"),
                    timeout=30000)
    authors = {o.author for o in ui.store.history(50)}
    assert {"anna"} <= authors and "rita" not in authors  # a verdict is no operation
