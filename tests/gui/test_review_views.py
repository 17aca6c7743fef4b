"""The review views alone, fed their state: the check view's review rows (needs work first, then
fixed, then changed since approval, before failed segments and flags), its reviewer buttons;
the Needs work dialog; and active time measured from the person's input to the real window
and written into the project when it closes (a fake clock stands in for the seconds: the test
is about where the time goes, not about waiting a minute). The journey: test_review_journey.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox

from annotator.core.review import SegmentReview
from annotator.pipeline.check_list import CheckList, listed, walk_order

LEFT = Qt.MouseButton.LeftButton



def _rows(cv) -> list[tuple[str, ...]]:
    return [tuple(cv.tree.topLevelItem(i).text(c) for c in range(4))
            for i in range(cv.tree.topLevelItemCount())]


def test_the_check_view_lists_what_a_reviewer_asked_for_first(qtbot, parts):
    from annotator.gui.check_view import CheckView

    session, state = parts
    qtbot.waitUntil(lambda: session.tasks.pending == 0, timeout=10000)
    bell = next(o.id for o in session.objects if o.name == "bell")
    drum = next(o.id for o in session.objects if o.name == "drum")
    b1, b2 = [s for s in session.segments if s.object_id == bell]
    d1 = next(s for s in session.segments if s.object_id == drum)
    reviews = (
        SegmentReview(b2.id, bell, b2.start, b2.end, "changed", "rita", None, b2.start, 1.0, 1),
        SegmentReview(d1.id, drum, d1.start, d1.end, "fixed", "rita", "too big", 60, 1.0, 1),
        SegmentReview(b1.id, bell, b1.start, b1.end, "needs_work", "rita", "handle", 30, 1.0, 1),
    )
    order = listed(reviews)
    session.checks = CheckList(failed=(d1,), reviews=reviews,
                               order=tuple(walk_order((), [], (d1,), order)))
    cv = CheckView(session, state)
    qtbot.addWidget(cv)
    cv.resize(420, 500)
    cv.show()
    session.flags_changed.emit()
    assert [r[2] for r in _rows(cv)] == ["needs work (rita): handle",
                                         "needs work, fixed since (rita): too big",
                                         "changed since approval (rita)", "marked failed"]
    assert _rows(cv)[0][:2] == ("bell", f"{b1.start}–{b1.end}") and _rows(cv)[0][3] == "@30"
    assert "1 segment needing work" in cv.summary.text()
    assert "fixed" in cv.tree.topLevelItem(1).toolTip(2)
    # F from a frame in no row goes to the first: the frame the comment is pinned to
    state.set_frame(0)
    assert cv.step(+1) == (bell, 30) and state.frame == 30
    item = cv.tree.topLevelItem(1)
    qtbot.mouseClick(cv.tree.viewport(), LEFT, pos=cv.tree.visualItemRect(item).center())
    assert (state.frame, state.object_id) == (60, drum)
    # the reviewer's buttons show in reviewer mode only, and say what was pressed
    assert not cv.approve_btn.isVisible() and not cv.needs_work_btn.isVisible()
    cv.set_reviewer(True)
    assert cv.approve_btn.isVisible() and cv.needs_work_btn.isVisible()
    pressed: list[str] = []
    cv.review.connect(pressed.append)
    qtbot.mouseClick(cv.approve_btn, LEFT)
    qtbot.mouseClick(cv.needs_work_btn, LEFT)
    assert pressed == ["approved", "needs_work"]


def test_the_needs_work_dialog_waits_for_a_comment_on_a_frame_of_the_segment(qtbot):
    from annotator.gui.app import application
    from annotator.gui.dialogs.review_dialog import NeedsWorkDialog

    application()
    dlg = NeedsWorkDialog(None, "What needs work on bell, frames 10–65?", 10, 65, 80)
    qtbot.addWidget(dlg)
    dlg.show()
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and dlg.frame.value() == 65  # a frame of the segment
    qtbot.keyClicks(dlg.comment, "   ")
    assert not ok.isEnabled()
    qtbot.keyClicks(dlg.comment, "the handle")
    dlg.frame.setFocus()
    qtbot.keyClick(dlg.frame, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dlg.frame, "5")  # under the segment: the box keeps it in range
    qtbot.keyClick(dlg.frame, Qt.Key.Key_Down)
    assert ok.isEnabled() and 10 <= dlg.frame.value() <= 65
    with qtbot.waitSignal(dlg.accepted):
        qtbot.mouseClick(ok, LEFT)
    assert dlg.values()[0] == "the handle"


class _Clock:
    """A fake clock for the active-time meter: seconds pass when the test says."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_input_to_the_window_is_active_time_on_the_segment_under_the_playhead(
        qtbot, demo_dir, monkeypatch):
    import annotator.gui.active_time as AT
    from annotator.core.active_time import active_seconds
    from annotator.core.project import Project
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow
    from annotator.pipeline.activity import ActiveTimeMeter
    from tests.gui.conftest import _UI

    clock = _Clock()
    monkeypatch.setattr(AT, "ActiveTimeMeter", lambda: ActiveTimeMeter(clock=clock))
    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    ui = _UI(qtbot, win)
    bell, seg = ui.bell()
    ui.go_to_segment(seg.id)  # a double click: input, on the bell's segment
    clock.now += 20
    qtbot.mouseMove(win.canvas, QPoint(200, 200))  # still there 20 s later
    clock.now += 30
    win.active_time.flush()  # what the timer does every 15 s
    clock.now += 500  # away: only the minute after the last input counts
    qtbot.keyClick(win.canvas, Qt.Key.Key_Home)  # back, and off every segment (frame 0)
    clock.now += 5
    assert win.close_project()
    with Project.open(demo_dir, readonly=True) as project:
        got = active_seconds(project.store)
    assert got.by_segment == {seg.id: pytest.approx(20 + 60), None: pytest.approx(5)}
    assert list(got.by_person) == [project.store.person]
