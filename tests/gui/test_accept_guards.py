"""Guards on anchors, pressed as a person presses them: Enter on an empty mask or on one far
smaller than its neighbours asks first; Cancel leaves the mask as it was (no anchor), the
dialog's "Accept anyway" makes it one. A normal mask is accepted without a question."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import open_window

LEFT = Qt.MouseButton.LeftButton


def _question(qtbot, win) -> QMessageBox:
    qtbot.waitUntil(lambda: isinstance(win.dialog, QMessageBox) and win.dialog.isVisible(),
                    timeout=10000)
    return win.dialog


def _stroke(ui, qtbot, x0, x1, y) -> None:
    canvas = ui.win.canvas
    a, b = canvas.to_widget(x0, y).toPoint(), canvas.to_widget(x1, y).toPoint()
    qtbot.mousePress(canvas, LEFT, pos=a)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, LEFT, pos=b)
    ui.idle()


def test_tiny_and_empty_masks_ask_before_becoming_anchors(ui, qtbot):
    # a normal first-frame mask: accepted without a question
    oid, seg = ui.anchor_bell()
    first = ui.store.mask(oid, seg.start)
    assert first.anchor and first.area > 500
    assert ui.win.dialog is None or not ui.win.dialog.isVisible()

    # five frames on: a short brush stroke, far smaller than the anchor next to it
    f = seg.start + 5
    ui.key(Qt.Key.Key_Right)
    for _ in range(4):
        ui.key(Qt.Key.Key_Right)
    ui.idle()
    assert ui.win.state.frame == f
    ui.key(Qt.Key.Key_B)
    ui.win.canvas.set_brush_radius(2)
    _stroke(ui, qtbot, 100, 104, 300)
    tiny = ui.store.mask(oid, f)
    assert tiny.source == "brush" and 0 < tiny.area < first.area / 3
    ui.key(Qt.Key.Key_Return)
    box = _question(qtbot, ui.win)
    assert f"frame {f}" in box.text() and "smaller than its neighbours" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), LEFT)
    ui.idle()
    assert not ui.store.mask(oid, f).anchor

    # erased to nothing: an empty mask asks too; "Accept anyway" makes it an anchor
    # the eraser from the toolbar (the question box took the keyboard focus a moment ago)
    qtbot.mouseClick(ui.win.toolbar.widgetForAction(ui.win.actions_["tool_eraser"]), LEFT)
    assert ui.win.canvas.tool == "eraser"
    ui.win.canvas.set_brush_radius(30)
    _stroke(ui, qtbot, 90, 115, 300)
    assert ui.store.mask(oid, f).area == 0
    qtbot.mouseClick(ui.win.toolbar.widgetForAction(ui.win.actions_["accept"]), LEFT)
    box = _question(qtbot, ui.win)
    assert "is empty" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), LEFT)
    ui.idle()
    rec = ui.store.mask(oid, f)
    assert rec.anchor and rec.area == 0


def test_a_first_mask_over_the_road_asks_before_it_becomes_an_anchor(qtbot, tmp_path, shared):
    """A real street video (vtest.avi): the person clicks a walker (the weight-free
    segmenter's mask: the walker alone), then brushes over the road — the brush path, as the
    segmenter does not spread onto the road by itself — and presses Enter on this first mask
    of the object: the window asks (it reaches far past the click); Cancel keeps it a plain
    mask, propagation has no anchor to start from. Brushed over most of the frame, it asks
    again (it covers most of the frame too); "Accept anyway" makes it the anchor."""
    from annotator.core.project import Project
    from tests.api.test_api_guards import BRUSH, PERSON, ROAD
    from tests.gui.conftest import _UI
    from tests.person import strokes_over

    with Project.create(tmp_path / "street.avsproj",
                        shared("data", "videos", "vtest.avi")) as project:
        st = project.store
        oid = st.add_object("walker", "person")
        st.add_segment(oid, 0, 99)
        h, w = st.size_hw
    win = open_window(qtbot, tmp_path / "street.avsproj", size=(1366, 768))
    ui = _UI(qtbot, win)
    try:
        seg = ui.store.segments(oid)[0]
        ui.go_to_segment(seg.id)
        assert (win.state.frame, win.state.object_id) == (0, oid)
        ui.click(*PERSON)
        ui.idle()
        assert 0 < ui.store.mask(oid, 0).area < 0.02 * h * w  # the walker
        ui.key(Qt.Key.Key_B)
        win.canvas.set_brush_radius(BRUSH)

        def paint(polygon) -> None:
            canvas = win.canvas
            for (x0, y0), (x1, y1) in strokes_over(polygon, (h, w), BRUSH):
                a = canvas.to_widget(x0, y0).toPoint()
                b = canvas.to_widget(x1, y1).toPoint()
                qtbot.mousePress(canvas, LEFT, pos=a)
                qtbot.mouseMove(canvas, b)
                qtbot.mouseRelease(canvas, LEFT, pos=b)
            ui.idle()

        paint(ROAD)
        rec = ui.store.mask(oid, 0)
        assert rec.source == "brush" and 0.25 < rec.area / (h * w) < 0.5
        ui.key(Qt.Key.Key_Return)
        box = _question(qtbot, win)
        assert "walker on frame 0 reaches far past the points you clicked" in box.text()
        assert "of the frame" not in box.text()  # under half the frame: only the leak
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), LEFT)
        ui.idle()
        assert not ui.store.mask(oid, 0).anchor and ui.store.anchors(oid) == []

        paint(((0, 150), (w, 150), (w, h), (0, h)))  # the grass below too
        assert ui.store.mask(oid, 0).area > 0.5 * h * w
        win.canvas.setFocus()
        qtbot.mouseClick(win.toolbar.widgetForAction(win.actions_["accept"]), LEFT)
        box = _question(qtbot, win)
        assert "of the frame (more than 50%)" in box.text()
        assert "reaches far past the points you clicked" in box.text()
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), LEFT)
        ui.idle()
        assert ui.store.mask(oid, 0).anchor and ui.store.anchors(oid) == [0]
    finally:
        win.close_project()
