"""Guards on anchors, pressed as a person presses them: Enter on an empty mask or on one far
smaller than its neighbours asks first; Cancel leaves the mask as it was (no anchor), the
dialog's "Accept anyway" makes it one. A normal mask is accepted without a question."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

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
