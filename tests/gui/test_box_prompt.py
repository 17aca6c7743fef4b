"""The Box tool on the real window: the toolbar's Box button (or N), a rectangle dragged on the
frame with the mouse → the segmenter's mask (the real weight-free one, GrabCut with the box as
its rectangle) stored with the box in its prompt and drawn on the canvas; a click inside adds
a point to the box, a second drag replaces the box, Ctrl+Z takes back each step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from annotator.demo import FPS, H, W, _bell_center
from annotator.pipeline.prompting import prompt_of

LEFT = Qt.MouseButton.LeftButton


def _bell_truth(frame: int) -> np.ndarray:
    cx, cy = _bell_center(frame / FPS)
    yy, xx = np.mgrid[:H, :W]
    return ((xx - cx) / 42) ** 2 + ((yy - cy) / 50) ** 2 <= 1


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def _drag(ui, qtbot, a: tuple[float, float], b: tuple[float, float]) -> None:
    """Press at frame pixel ``a``, move in two steps, release at ``b`` (as a hand drags)."""
    canvas = ui.win.canvas
    pa, pb = canvas.to_widget(*a).toPoint(), canvas.to_widget(*b).toPoint()
    mid = canvas.to_widget((a[0] + b[0]) / 2, (a[1] + b[1]) / 2).toPoint()
    qtbot.mousePress(canvas, LEFT, pos=pa)
    qtbot.mouseMove(canvas, mid)
    assert canvas._drag is not None  # the rubber band follows the mouse
    qtbot.mouseMove(canvas, pb)
    qtbot.mouseRelease(canvas, LEFT, pos=pb)


def _prompt(ui, oid: int, f: int) -> dict:
    """The prompt of the frame's current mask revision (undo goes back a revision)."""
    return prompt_of(ui.store, ui.store.mask(oid, f))


def _box_near(actual, expected, tol: float) -> bool:
    return actual is not None and np.allclose(actual, expected, atol=tol)


def test_drag_a_box_on_the_frame_gives_a_mask_and_undo_covers_it(ui, qtbot):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    f = ui.win.state.frame
    canvas = ui.win.canvas
    qtbot.mouseClick(ui.win.toolbar.widgetForAction(ui.win.actions_["tool_box"]), LEFT)
    assert canvas.tool == "box" and ui.win.actions_["tool_box"].isChecked()
    canvas.setFocus()
    cx, cy = (float(v) for v in _bell_center(f / FPS))
    tol = 1.5 / canvas.scale + 0.5  # a widget pixel, in frame pixels (and rounding)
    _drag(ui, qtbot, (cx - 52, cy - 60), (cx + 52, cy + 60))
    ui.idle()
    rec = ui.store.mask(oid, f)
    assert rec is not None and rec.source == "grabcut" and not rec.anchor
    assert _iou(rec.decode(), _bell_truth(f)) > 0.7
    prompt = _prompt(ui, oid, f)
    assert _box_near(prompt["box"], [cx - 52, cy - 60, cx + 52, cy + 60], tol)
    assert prompt["points"] == [] and _box_near(canvas.box, prompt["box"], 1e-6)
    assert oid in canvas.view.layers
    first_box = prompt["box"]

    # a click (no drag) with the Box tool is an object point, joined to the box
    ui.click(cx, cy)
    ui.idle()
    prompt = _prompt(ui, oid, f)
    assert len(prompt["points"]) == 1 and prompt["box"] == first_box
    assert [p[2] for p in canvas.points] == [True]

    # a second box, dragged from bottom-right to top-left, replaces the first
    _drag(ui, qtbot, (cx + 80, cy + 90), (cx - 80, cy - 90))
    ui.idle()
    prompt = _prompt(ui, oid, f)
    assert _box_near(prompt["box"], [cx - 80, cy - 90, cx + 80, cy + 90], tol)
    assert len(prompt["points"]) == 1 and _box_near(canvas.box, prompt["box"], 1e-6)
    assert ui.win.actions_["undo"].text().startswith("&Undo Box (")

    # Ctrl+Z: the first box again (and its point), then no point, then no mask at all
    ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    assert _prompt(ui, oid, f)["box"] == first_box
    qtbot.waitUntil(lambda: canvas.box == first_box and len(canvas.points) == 1)
    ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    qtbot.waitUntil(lambda: canvas.points == [] and canvas.box == first_box)
    ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    assert ui.store.mask(oid, f) is None
    qtbot.waitUntil(lambda: canvas.box is None and oid not in canvas.view.layers)
    # the box drawn again: Enter makes it the frame's anchor
    ui.key(Qt.Key.Key_N)
    _drag(ui, qtbot, (cx - 52, cy - 60), (cx + 52, cy + 60))
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    ui.idle()
    assert ui.store.mask(oid, f).anchor
    assert _box_near(_prompt(ui, oid, f)["box"], first_box, 1e-6)


def test_a_box_outside_the_segments_or_without_an_inside_explains(ui, qtbot):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    f = ui.win.state.frame
    ui.key(Qt.Key.Key_N)
    assert ui.win.canvas.tool == "box"
    cx, cy = (float(v) for v in _bell_center(f / FPS))
    # a flat box (one frame pixel high, wider than a click) is no box
    _drag(ui, qtbot, (cx - 40, cy), (cx + 40, cy + 0.5))
    ui.idle()
    assert ui.store.mask(oid, f) is None
    assert "at least 2 pixels" in ui.win.status.currentMessage()
    ui.win.state.set_frame(0)  # before the bell sounds
    ui.idle()
    _drag(ui, qtbot, (cx - 52, cy - 60), (cx + 52, cy + 60))
    ui.idle()
    assert ui.store.mask(oid, 0) is None
    assert "outside every audible segment" in ui.win.status.currentMessage()


def test_masks_tight_boxes_are_shown_on_request(ui, qtbot):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    f = ui.win.state.frame
    cx, cy = (float(v) for v in _bell_center(f / FPS))
    ui.click(cx, cy)
    ui.idle()
    rec = ui.store.mask(oid, f)
    canvas = ui.win.canvas
    assert not canvas.mask_boxes
    ui.key(Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert canvas.mask_boxes and ui.win.actions_["mask_boxes"].isChecked()
    qtbot.waitUntil(lambda: oid in canvas.view.layers)
    x, y, w, h = rec.bbox
    assert canvas.view.layers[oid].box == (x, y, x + w, y + h)  # what the exports write
    assert not canvas.grab().isNull()  # painted with the boxes
    ui.key(Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.mask_boxes
