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
    assert abs(ui.win.state.frame - 120) <= 1
    qtbot.mouseMove(tl, QPoint(int(tl._x(40)) + 1, 30))
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl._x(40)) + 1, 30))
    assert abs(ui.win.state.frame - 40) <= 1
    ui.idle()
    assert ui.win.canvas.view.index == ui.win.state.frame
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
    assert ui.win.state.frame == 120 and ui.win.state.object_id == bell


def test_space_plays_and_pauses(ui, qtbot):
    ui.win.state.set_frame(5)
    ui.idle()
    ui.key(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ui.win.state.frame >= 8, timeout=10000)
    ui.key(Qt.Key.Key_Space)
    stopped = ui.win.state.frame
    ui.idle()
    qtbot.wait(200)
    assert ui.win.state.frame == stopped


def test_add_and_delete_segment_through_the_panel_and_undo(ui, qtbot):
    """Add… opens the segment dialog (filled through its spin boxes, OK clicked); the Delete
    key on the table asks first and says what the segment holds; both are one undo step."""
    from PySide6.QtWidgets import QMessageBox

    from annotator.gui.dialogs.segment_dialog import SegmentDialog

    left = Qt.MouseButton.LeftButton
    panel = ui.win.segments_panel
    drum = ui.store.object_by_name("drum").id
    ui.select_object(drum)
    ui.win.state.set_frame(150)
    ui.idle()
    qtbot.mouseClick(panel.add_btn, left)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, SegmentDialog), timeout=5000)
    dlg = panel.dialog
    assert dlg.values() == (drum, 150, 199)  # starts at the current frame
    dlg.end.selectAll()
    qtbot.keyClicks(dlg.end, "10")
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()  # inverted
    dlg.end.selectAll()
    qtbot.keyClicks(dlg.end, "170")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), left)
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(drum)] == [(50, 140), (150, 170)]
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 4, timeout=5000)

    # Delete on the selected row asks first; Cancel keeps it, Delete removes it
    row = next(r for r in range(panel.proxy.rowCount())
               if panel.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1)
               == ui.store.segments(drum)[1].id)
    rect = panel.table.visualRect(panel.proxy.index(row, 0))
    qtbot.mouseClick(panel.table.viewport(), left, pos=rect.center())
    for answer in (QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes):
        qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
        qtbot.waitUntil(lambda: isinstance(panel.dialog, QMessageBox), timeout=5000)
        box = panel.dialog
        assert "frames 150–170" in box.text() and "0 masks" in box.informativeText()
        qtbot.mouseClick(box.button(answer), left)
        ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(drum)] == [(50, 140)]
    ui.trigger("undo")
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(drum)] == [(50, 140), (150, 170)]
    ui.trigger("undo")
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(drum)] == [(50, 140)]
