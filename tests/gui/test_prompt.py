"""Stage 1 on the real window: clicks make points and a mask, candidates, brush, accept, undo."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from annotator.demo import FPS, _bell_center


def _center(frame: int) -> tuple[float, float]:
    x, y = _bell_center(frame / FPS)
    return float(x), float(y)


def _goto_bell(ui):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    ui.idle()
    assert ui.win.state.frame == seg.start and ui.win.state.object_id == oid
    return oid, seg.start


def test_click_creates_points_and_mask(ui):
    oid, f = _goto_bell(ui)
    x, y = _center(f)
    ui.click(x, y)
    ui.idle()
    rec = ui.store.mask(oid, f)
    assert rec is not None and not rec.anchor and rec.source == "grabcut"  # no SAM here
    mask = rec.decode()
    assert mask[int(y), int(x)]
    assert mask.sum() < 0.1 * mask.size  # the bell, not the frame
    assert [p[2] for p in ui.win.canvas.points] == [True]
    assert oid in ui.win.canvas.view.layers
    # a negative click far away adds a red point, the bell stays
    ui.click(40, 40, positive=False)
    ui.idle()
    assert [p[2] for p in ui.win.canvas.points] == [True, False]
    mask = ui.store.mask(oid, f).decode()
    assert mask[int(y), int(x)] and not mask[40, 40]


def test_accept_candidates_remove_point_and_undo(ui):
    oid, f = _goto_bell(ui)
    x, y = _center(f)
    ui.click(x, y)
    ui.idle()
    first = ui.store.mask(oid, f)
    ui.key(Qt.Key.Key_Tab)  # next candidate
    ui.idle()
    cand = ui.store.mask(oid, f)
    assert cand.rev_id != first.rev_id and len(ui.win.canvas.points) == 1
    ui.key(Qt.Key.Key_Return)  # accept
    ui.idle()
    acc = ui.store.mask(oid, f)
    assert acc.anchor and ui.store.anchors(oid, f, f) == [f]
    assert np.array_equal(acc.decode(), cand.decode())
    assert ui.store.segments(oid)[0].status == "annotated"
    # undo accept: no anchor, segment back to "to do"; undo candidate: first mask again
    ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    assert not ui.store.mask(oid, f).anchor and ui.store.segments(oid)[0].status == "todo"
    ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    assert ui.store.mask(oid, f).rev_id == first.rev_id
    # redo both
    for _ in range(2):
        ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        ui.idle()
    assert ui.store.mask(oid, f).anchor
    # remove the last point (after a second click), then undo the first click entirely
    ui.click(40, 40, positive=False)
    ui.idle()
    assert len(ui.win.canvas.points) == 2
    ui.key(Qt.Key.Key_Backspace)
    ui.idle()
    assert len(ui.win.canvas.points) == 1


def test_undo_click_removes_mask_and_points(ui):
    oid, f = _goto_bell(ui)
    ui.click(*_center(f))
    ui.idle()
    assert ui.store.mask(oid, f) is not None
    ui.trigger("undo")
    ui.idle()
    assert ui.store.mask(oid, f) is None
    assert ui.win.canvas.points == []
    assert oid not in ui.win.canvas.view.layers
    ui.trigger("redo")
    ui.idle()
    assert ui.store.mask(oid, f) is not None and len(ui.win.canvas.points) == 1


def test_brush_and_eraser_strokes_are_undoable(ui, qtbot):
    oid, f = _goto_bell(ui)
    canvas = ui.win.canvas
    ui.key(Qt.Key.Key_B)
    assert canvas.tool == "brush"
    a, b = canvas.to_widget(100, 300).toPoint(), canvas.to_widget(160, 300).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    ui.idle()
    rec = ui.store.mask(oid, f)
    assert rec.source == "brush" and rec.decode()[300, 130]
    ui.key(Qt.Key.Key_E)
    assert canvas.tool == "eraser"
    p = canvas.to_widget(130, 300).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=p)
    ui.idle()
    assert not ui.store.mask(oid, f).decode()[300, 130]
    ui.trigger("undo")
    ui.idle()
    assert ui.store.mask(oid, f).decode()[300, 130]
    ui.trigger("undo")
    ui.idle()
    assert ui.store.mask(oid, f) is None


def test_click_outside_segments_explains(ui):
    oid, seg = ui.bell()
    ui.win.state.set_frame(0)  # before the bell sounds
    ui.idle()
    ui.click(*_center(0))
    ui.idle()
    assert ui.store.mask(oid, 0) is None
    assert "outside every audible segment" in ui.win.status.currentMessage()


def test_keyboard_navigation(ui):
    ui.win.state.set_frame(50)
    ui.idle()
    for key, mod, expect in ((Qt.Key.Key_Right, None, 51), (Qt.Key.Key_Left, None, 50),
                             (Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier, 60),
                             (Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier, 50),
                             (Qt.Key.Key_End, None, ui.win.session.frame_count - 1),
                             (Qt.Key.Key_Home, None, 0)):
        ui.key(key, mod)
        assert ui.win.state.frame == expect
    ui.idle()
    assert ui.win.canvas.view.index == 0
    ui.key(Qt.Key.Key_2)
    assert ui.win.state.object_id == ui.store.object_by_name("drum").id
