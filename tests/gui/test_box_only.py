"""Box-only annotation on the real window, pressed as a person presses it: the Keyframe box
tool (K), two keyframes drawn with the mouse ten frames apart, the interpolated box in between
drawn on the canvas, that box moved with the mouse (it becomes a keyframe), an outside
keyframe (Shift+K), File ▸ Export ▸ COCO with a box per frame, and Ctrl+Z taking back each
step. The real store file, the demo video, real widgets."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from annotator.core.box_tracks import interpolate
from annotator.pipeline.check_list import BOX_KEY, BOX_LINE

LEFT = Qt.MouseButton.LeftButton
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def drag(ui, qtbot, a, b):
    canvas = ui.win.canvas
    pa, pb = canvas.to_widget(*a).toPoint(), canvas.to_widget(*b).toPoint()
    qtbot.mousePress(canvas, LEFT, pos=pa)
    qtbot.mouseMove(canvas, canvas.to_widget((a[0] + b[0]) / 2, (a[1] + b[1]) / 2).toPoint())
    qtbot.mouseMove(canvas, pb)
    qtbot.mouseRelease(canvas, LEFT, pos=pb)
    ui.idle()


def shown(ui, oid):
    """The box the canvas shows for the object on this frame (TrackBox), once painted."""
    view = ui.win.canvas.view
    return view.boxes[oid][0] if view is not None and oid in view.boxes else None


def test_keyframes_drawn_interpolated_moved_exported_and_undone(ui, qtbot, tmp_path,
                                                                monkeypatch):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    f0 = ui.win.state.frame
    canvas = ui.win.canvas
    ui.key(Qt.Key.Key_K)
    assert canvas.tool == "keyframe" and ui.win.actions_["tool_keyframe"].isChecked()
    tol = 1.0 / canvas.scale + 0.5  # one widget pixel in frame pixels, and rounding

    drag(ui, qtbot, (100, 80), (220, 200))  # keyframe 1
    first = ui.store.box(oid, f0)
    assert first.source == "drawn" and first.box == pytest.approx((100, 80, 220, 200), abs=tol)
    qtbot.waitUntil(lambda: shown(ui, oid) is not None and shown(ui, oid).keyframe)

    ui.key(Qt.Key.Key_Right, SHIFT)  # ten frames on
    ui.idle()
    assert ui.win.state.frame == f0 + 10
    qtbot.waitUntil(lambda: shown(ui, oid) is not None and ui.win.canvas.view.index == f0 + 10)
    assert shown(ui, oid).source == "interpolated"  # the first box, held after the last key
    drag(ui, qtbot, (300, 150), (420, 290))  # keyframe 2, drawn outside the held box
    second = ui.store.box(oid, f0 + 10)
    assert second.source == "drawn" and second.box == pytest.approx((300, 150, 420, 290),
                                                                    abs=tol)

    for _ in range(5):
        ui.key(Qt.Key.Key_Left)
    ui.idle()
    qtbot.waitUntil(lambda: ui.win.canvas.view.index == f0 + 5 and shown(ui, oid) is not None)
    mid = shown(ui, oid)
    assert mid.source == "interpolated" and not mid.keyframe
    assert mid.box == pytest.approx(interpolate(first.box, second.box, 0.5), abs=1e-6)
    assert ui.store.box(oid, f0 + 5) is None  # interpolated boxes are not stored
    timeline = ui.win.timeline  # the object's row: keyframes as ticks, interpolation a line

    def row(f):
        return timeline.states.get(oid, [0] * (f + 1))[f]

    qtbot.waitUntil(lambda: (row(f0), row(f0 + 5), row(f0 + 10)) == (BOX_KEY, BOX_LINE,
                                                                      BOX_KEY))
    assert not timeline.grab().isNull()

    # drag inside the in-between box: it moves, and becomes a keyframe
    cx, cy = (mid.box[0] + mid.box[2]) / 2, (mid.box[1] + mid.box[3]) / 2
    drag(ui, qtbot, (cx, cy), (cx + 30, cy - 20))
    moved = ui.store.box(oid, f0 + 5)
    assert moved.source == "drawn"
    assert moved.box == pytest.approx([mid.box[0] + 30, mid.box[1] - 20, mid.box[2] + 30,
                                       mid.box[3] - 20], abs=tol)
    qtbot.waitUntil(lambda: shown(ui, oid).keyframe and row(f0 + 5) == BOX_KEY)
    # a handle resizes: the bottom-right corner dragged out
    drag(ui, qtbot, (moved.box[2], moved.box[3]), (moved.box[2] + 25, moved.box[3] + 15))
    resized = ui.store.box(oid, f0 + 5)
    assert resized.box[:2] == pytest.approx(moved.box[:2], abs=1e-6)
    assert resized.box[2:] == pytest.approx([moved.box[2] + 25, moved.box[3] + 15], abs=tol)

    # File ▸ Export ▸ COCO: one bbox-only annotation per frame of the segment from the first
    # keyframe on, the keyframes marked
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "boxes.json"), ""))
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000) as done:
        ui.menu_action("File", "Export", "COCO RLE").trigger()
    assert not done.args[0].failed, done.args[0].error
    data = json.loads((tmp_path / "boxes.json").read_text())
    frames = {im["id"]: im["frame_index"] for im in data["images"]}
    boxes = {frames[a["image_id"]]: a for a in data["annotations"] if a["segmentation"] == []}
    assert sorted(boxes) == list(range(f0, seg.end + 1))
    assert [f for f, a in boxes.items() if a["attributes"]["keyframe"]] == [f0, f0 + 5, f0 + 10]
    x0, y0, x1, y1 = resized.box
    assert boxes[f0 + 5]["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=1e-9)

    # Shift+K on frame f0 + 12: not visible from there
    for _ in range(7):
        ui.key(Qt.Key.Key_Right)
    ui.idle()
    assert ui.win.state.frame == f0 + 12
    ui.key(Qt.Key.Key_K, SHIFT)
    ui.idle()
    assert ui.store.box(oid, f0 + 12).outside
    qtbot.waitUntil(lambda: ui.win.canvas.view.index == f0 + 12
                    and shown(ui, oid) is not None and shown(ui, oid).box is None)

    # Ctrl+Z takes back each step: outside, resize, move, keyframe 2, keyframe 1
    for check in (lambda: ui.store.box(oid, f0 + 12) is None,
                  lambda: ui.store.box(oid, f0 + 5).box == moved.box,
                  lambda: ui.store.box(oid, f0 + 5) is None,
                  lambda: ui.store.box(oid, f0 + 10) is None,
                  lambda: ui.store.box(oid, f0) is None):
        ui.key(Qt.Key.Key_Z, CTRL)
        ui.idle()
        assert check()
    assert ui.store.box_count() == 0
