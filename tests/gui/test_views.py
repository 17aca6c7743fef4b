"""The views themselves: canvas zoom around the cursor, pan and fit; timeline scrubbing; the
segment table's filter and sort; playback with Space."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent


def _wheel(widget, pos: QPointF, steps: int) -> None:
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    widget.wheelEvent(ev)


def test_canvas_zoom_keeps_the_pixel_under_the_cursor_pan_and_fit(ui, qtbot):
    c = ui.win.canvas
    c.fit()
    fitted = c.scale
    w, h = c.image_size()
    assert abs(c.to_widget(w, h).x() - c.to_widget(0, 0).x() - w * fitted) < 1e-6
    pos = QPointF(c.width() * 0.3, c.height() * 0.6)
    under = c.to_image(pos)
    _wheel(c, pos, 2)
    assert c.scale > fitted * 1.5
    after = c.to_image(pos)
    assert abs(after.x() - under.x()) < 1e-6 and abs(after.y() - under.y()) < 1e-6
    # middle-button drag pans by the mouse movement
    before = c.to_widget(100, 100)
    qtbot.mousePress(c, Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    qtbot.mouseMove(c, QPoint(260, 230))
    qtbot.mouseRelease(c, Qt.MouseButton.MiddleButton, pos=QPoint(260, 230))
    moved = c.to_widget(100, 100)
    assert (round(moved.x() - before.x()), round(moved.y() - before.y())) == (60, 30)
    ui.key(Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)  # fit to window
    assert abs(c.scale - fitted) < 1e-9


def test_timeline_click_and_drag_scrub(ui, qtbot):
    tl = ui.win.timeline
    x = tl._x(120)
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(x) + 1, 30))
    assert abs(ui.win.frame - 120) <= 1
    qtbot.mouseMove(tl, QPoint(int(tl._x(40)) + 1, 30))
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl._x(40)) + 1, 30))
    assert abs(ui.win.frame - 40) <= 1
    ui.idle()
    assert ui.win.canvas.view.index == ui.win.frame
    assert [o.name for o in tl.objects] == ["bell", "drum"]


def test_segments_filter_sort_and_jump(ui):
    panel = ui.win.segments_panel
    ui.idle()
    assert panel.proxy.rowCount() == 3
    panel.text_filter.setText("drum")
    assert panel.proxy.rowCount() == 1
    panel.text_filter.setText("")
    panel.status_filter.setCurrentIndex(panel.status_filter.findData("done"))
    assert panel.proxy.rowCount() == 0
    panel.status_filter.setCurrentIndex(0)
    panel.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # by end, latest first
    first = panel.proxy.index(0, 0)
    assert panel.proxy.index(0, 3).data() == "120–180"
    panel.table.doubleClicked.emit(first)
    bell = ui.store.object_by_name("bell").id
    assert ui.win.frame == 120 and ui.win.object_id == bell


def test_space_plays_and_pauses(ui, qtbot):
    ui.win.go_to(5)
    ui.idle()
    ui.key(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ui.win.frame >= 8, timeout=10000)
    ui.key(Qt.Key.Key_Space)
    stopped = ui.win.frame
    ui.idle()
    qtbot.wait(200)
    assert ui.win.frame == stopped


def test_add_segment_and_undo(ui, qtbot):
    from annotator.gui.dialogs.segment_dialog import SegmentDialog

    drum = ui.store.object_by_name("drum").id
    ui.win.segments_panel.add(drum, 150, 170)
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(drum)] == [(50, 140), (150, 170)]
    assert ui.win.segments_panel.proxy.rowCount() == 4
    ui.trigger("undo")
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(drum)] == [(50, 140)]
    # the dialog: starts at the current frame, refuses an inverted range
    dlg = SegmentDialog(ui.win, ui.store.objects(), drum, 60, ui.win.session.frame_count,
                        ui.win.session.time_of)
    qtbot.addWidget(dlg)
    assert dlg.values() == (drum, 60, 110)
    dlg.end.setValue(10)
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
