"""Box tracking and masks from boxes in the real window, pressed as a person presses them: two
box keyframes of the demo's bell drawn with the Keyframe box tool (K), P tracks the box-only
segment (a box drawn while the job runs is kept as drawn; the status bar's Cancel stops it; P
again resumes it in the same operation; Ctrl+Z takes the whole track back), and Propagate ▸
Masks from boxes turns the keyframes into anchor masks and propagates them. The real store
file, the demo video, the real weight-free engines (the gate only holds one engine step back,
so that the person's edits land while the job runs)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from annotator.core.box_tracks import segment_track
from annotator.demo import FPS, _bell_center
from tests.gui.test_box_only import drag

LEFT = Qt.MouseButton.LeftButton
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def bell_box(f: int, grow: float = 0.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two corners of the bell's box on frame ``f`` (the demo draws it 84×100 pixels)."""
    cx, cy = _bell_center(f / FPS)
    return (cx - 44 - grow, cy - 52 - grow), (cx + 44 + grow, cy + 52 + grow)


def drag_during_job(ui, qtbot, a, b) -> None:
    """Drag on the canvas while a job runs, and wait for the write (not for the job)."""
    canvas = ui.win.canvas
    pa, pb = canvas.to_widget(*a).toPoint(), canvas.to_widget(*b).toPoint()
    qtbot.mousePress(canvas, LEFT, pos=pa)
    qtbot.mouseMove(canvas, canvas.to_widget((a[0] + b[0]) / 2, (a[1] + b[1]) / 2).toPoint())
    qtbot.mouseMove(canvas, pb)
    qtbot.mouseRelease(canvas, LEFT, pos=pb)
    qtbot.waitUntil(lambda: ui.win.session.serial.pending == 0, timeout=30000)


def keyframes(ui, oid, seg) -> list[int]:
    """Draw the bell's box on the segment's first frame and ten frames on, with K."""
    ui.go_to_segment(seg.id)
    f0 = ui.win.state.frame
    ui.key(Qt.Key.Key_K)
    drag(ui, ui.qtbot, *bell_box(f0))
    ui.key(Qt.Key.Key_Right, SHIFT)
    ui.idle()
    drag(ui, ui.qtbot, *bell_box(f0 + 10))
    assert [b.frame for b in ui.store.boxes_of(oid)] == [f0, f0 + 10]
    return [f0, f0 + 10]


def test_p_tracks_a_box_only_segment_keeps_a_drawn_box_resumes_and_undoes(
        ui, qtbot, gate_fallback):
    session, store = ui.win.session, ui.store
    oid, seg = ui.bell()
    keys = keyframes(ui, oid, seg)
    drawn = {f: store.box(oid, f).box for f in keys}
    reached, go = gate_fallback(4)  # the engine's 5th step: frame f0 + 4 (after the seed)
    for _ in range(3):  # back to f0 + 7, ahead of the job
        ui.key(Qt.Key.Key_Left)
    ui.idle()
    f7 = keys[0] + 7
    qtbot.waitUntil(lambda: ui.win.canvas.view.index == f7)
    with qtbot.waitSignal(session.job_started, timeout=10000):
        ui.key(Qt.Key.Key_P)
    assert reached.wait(60)
    assert ui.win.state.frame == f7 and store.box(oid, f7) is None
    drag_during_job(ui, qtbot, *bell_box(f7, grow=15))  # a person's box while the job waits
    mine = store.box(oid, f7)
    assert mine.source == "drawn"
    with qtbot.waitSignal(session.job_finished, timeout=60000) as blocker:
        qtbot.mouseClick(ui.win.status.cancel_btn, LEFT)
        go.set()
    out = blocker.args[0]
    assert out.cancelled and "Cancelled" in out.text() and "boxes tracked" in out.text()
    ui.idle()
    first = {b.frame for b in store.boxes_of(oid) if b.source == "tracked"}
    assert first and max(first) < keys[1]  # stopped inside the first stretch
    op = store.jobs()[-1]["params"]["op"]

    with qtbot.waitSignal(session.job_finished, timeout=120000) as blocker:
        ui.key(Qt.Key.Key_P)  # the segment's keyframes changed (frame f7): a new run
    out = blocker.args[0]
    assert not out.cancelled and out.boxes > 0, out.text()
    ui.idle()
    assert "boxes tracked" in ui.win.status.currentMessage()
    rows = {b.frame: b for b in store.boxes_of(oid, seg.start, seg.end)}
    assert {f: rows[f].box for f in keys} == drawn and rows[f7].box == mine.box
    assert all(rows[f].source == "drawn" for f in (*keys, f7))
    tracked = sorted(f for f, b in rows.items() if b.source == "tracked")
    assert tracked == [f for f in range(seg.start, seg.end + 1) if f not in (*keys, f7)]
    track = {t.frame: t for t in segment_track(store, oid, seg.start, seg.end)}
    assert track[seg.end].source == "tracked"  # after the last keyframe: the track holds
    assert store.jobs()[-1]["params"]["op"] != op

    with qtbot.waitSignal(session.job_finished, timeout=60000) as blocker:
        ui.key(Qt.Key.Key_P)  # nothing changed since: nothing to do
    assert "already tracked" in blocker.args[0].text()
    ui.idle()
    ui.key(Qt.Key.Key_Z, CTRL)  # the second track, one step: the first one's boxes again
    ui.idle()
    assert {b.frame for b in store.boxes_of(oid) if b.source == "tracked"} == first
    ui.key(Qt.Key.Key_Z, CTRL)  # the first track (it wrote after the person's box)
    ui.idle()
    assert {b.source for b in store.boxes_of(oid)} == {"drawn"}
    assert store.box(oid, f7).box == mine.box


def test_a_cancelled_track_resumes_in_the_same_operation(ui, qtbot, gate_fallback):
    session, store = ui.win.session, ui.store
    oid, seg = ui.bell()
    keys = keyframes(ui, oid, seg)
    reached, go = gate_fallback(6)
    with qtbot.waitSignal(session.job_started, timeout=10000):
        ui.key(Qt.Key.Key_P)
    assert reached.wait(60)
    with qtbot.waitSignal(session.job_finished, timeout=60000):
        qtbot.mouseClick(ui.win.status.cancel_btn, LEFT)
        go.set()
    ui.idle()
    op = store.jobs()[-1]["params"]["op"]
    assert 0 < sum(b.source == "tracked" for b in store.boxes_of(oid)) < 9
    with qtbot.waitSignal(session.job_finished, timeout=120000) as blocker:
        ui.key(Qt.Key.Key_P)
    assert not blocker.args[0].cancelled
    ui.idle()
    job = store.jobs()[-1]
    assert job["params"]["op"] == op and job["state"] == "done"  # resumed, not started over
    assert sum(b.source == "tracked" for b in store.boxes_of(oid)) == seg.length - len(keys)
    ui.key(Qt.Key.Key_Z, CTRL)  # both runs are one undo step
    ui.idle()
    assert [b.frame for b in store.boxes_of(oid)] == keys


def test_masks_from_boxes_in_the_propagate_menu(ui, qtbot):
    session, store = ui.win.session, ui.store
    oid, seg = ui.bell()
    keys = keyframes(ui, oid, seg)
    drawn = {f: store.box(oid, f).box for f in keys}
    with qtbot.waitSignal(session.job_finished, timeout=180000) as blocker:
        ui.menu_action("Propagate", "Masks from boxes").trigger()
    out = blocker.args[0]
    assert not out.failed, out.error
    assert "2 anchor masks from box keyframes" in out.text() and out.frames > 0
    ui.idle()
    assert store.anchors(oid, seg.start, seg.end) == keys
    assert len(store.masks_of(oid, seg.start, seg.end)) == seg.length
    m = store.mask(oid, keys[1]).decode()
    (x0, y0), (x1, y1) = bell_box(keys[1])
    ys, xs = m.nonzero()
    assert xs.min() >= x0 - 3 and xs.max() <= x1 + 3 and ys.min() >= y0 - 3
    assert {f: store.box(oid, f).box for f in keys} == drawn  # the boxes stay
    # again: the segment has masks now; nothing is made from its boxes, and it says why
    with qtbot.waitSignal(session.job_finished, timeout=30000) as blocker:
        ui.menu_action("Propagate", "Masks from boxes").trigger()
    assert "has masks already" in " ".join(blocker.args[0].skipped)
    ui.idle()
    assert store.anchors(oid, seg.start, seg.end) == keys
