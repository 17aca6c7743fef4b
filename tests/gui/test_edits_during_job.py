"""Journey: a person accepts an anchor and paints a brush stroke inside the range of a running
propagation; both survive the job, the job is on the window's undo stack, and Ctrl+Z takes
back the job first (the person's edits stay), then the edits, newest first.

Everything is pressed through the real window (keys into the canvas, mouse clicks and drags on
it, the undo shortcut) on the demo project, with the real weight-free propagator and
segmenter. One stand-in: a *gate* wrapped around the real fallback propagator's ``step`` holds
the job on its sixth frame until the edits are in (a fake delay, so the edits land mid-job on
any machine); the engine itself computes every mask.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from annotator.demo import FPS, _bell_center

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def gated_engine(gate_fallback):
    """(reached, go): the real fallback step, but the sixth call waits for ``go`` (≤ 60 s)."""
    return gate_fallback(5)


def _bell_point(ui, frame):
    x, y = _bell_center(frame / FPS)
    return ui.win.canvas.to_widget(float(x), float(y)).toPoint()


def _go_forward(ui, frames: int) -> None:
    """Shift+Right (10 frames) and Right (1 frame) presses."""
    for _ in range(frames // 10):
        ui.key(Qt.Key.Key_Right, SHIFT)
    for _ in range(frames % 10):
        ui.key(Qt.Key.Key_Right)


def _wait_written(ui, what) -> None:
    s = ui.win.session
    ui.qtbot.waitUntil(lambda: s.serial.pending == 0 and what(), timeout=30000)


def test_anchor_and_stroke_during_a_job_survive_and_undo_takes_the_job_first(ui, qtbot,
                                                                             gated_engine):
    reached, go = gated_engine
    session, store = ui.win.session, ui.store
    oid, seg = ui.bell()
    order = [o.id for o in store.objects()].index(oid) + 1
    ui.key(getattr(Qt.Key, f"Key_{order}"))  # select the bell
    ui.key(Qt.Key.Key_Home)
    _go_forward(ui, seg.start)
    ui.idle()
    assert ui.win.state.frame == seg.start and ui.win.state.object_id == oid
    qtbot.mouseClick(ui.win.canvas, Qt.MouseButton.LeftButton, pos=_bell_point(ui, seg.start))
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    ui.idle()
    assert store.anchors(oid) == [seg.start]

    with qtbot.waitSignal(session.job_started, timeout=10000):
        ui.key(Qt.Key.Key_P)
    assert reached.wait(60), "the job never reached its sixth frame"
    # while the job waits on its sixth frame: an accepted click on a frame ahead of it …
    fa = seg.start + 30
    _go_forward(ui, 30)
    qtbot.waitUntil(lambda: not ui.win.feed.loading and ui.win.canvas.view.index == fa)
    qtbot.mouseClick(ui.win.canvas, Qt.MouseButton.LeftButton, pos=_bell_point(ui, fa))
    _wait_written(ui, lambda: store.mask(oid, fa) is not None)
    ui.key(Qt.Key.Key_Return)
    _wait_written(ui, lambda: fa in store.anchors(oid))
    # … and a brush stroke (B, a drag across the bell) a few frames further
    fb = fa + 5
    _go_forward(ui, 5)
    qtbot.waitUntil(lambda: not ui.win.feed.loading and ui.win.canvas.view.index == fb)
    ui.key(Qt.Key.Key_B)
    p = _bell_point(ui, fb)
    qtbot.mousePress(ui.win.canvas, Qt.MouseButton.LeftButton, pos=p)
    for dx in (-12, -6, 0, 6, 12):
        qtbot.mouseMove(ui.win.canvas, p + type(p)(dx, 0))
    qtbot.mouseRelease(ui.win.canvas, Qt.MouseButton.LeftButton, pos=p + type(p)(12, 0))
    _wait_written(ui, lambda: store.mask(oid, fb) is not None)
    assert session.job is not None  # still running: the edits landed inside its range
    edits = store.history(2)
    assert [op.kind for op in edits] == ["brush", "accept"]

    with qtbot.waitSignal(session.job_finished, timeout=120000):
        go.set()
    ui.idle()
    # both edits survive the job
    assert store.anchors(oid, seg.start, seg.end) == [seg.start, fa]
    assert (store.mask(oid, fb).source, store.mask(oid, fb).anchor) == ("brush", False)
    masks = store.masks_of(oid, seg.start, seg.end)
    assert [m.frame for m in masks] == list(range(seg.start, seg.end + 1))
    job_op = store.jobs()[-1]["params"]["op"]
    assert all(m.op_id == job_op for m in masks if m.frame not in (seg.start, fa, fb))
    # the job's operation is on the window's undo stack, above the edits made while it ran
    top = session.history.command(session.history.count() - 1)
    assert top.op_id == job_op and "Propagate" in session.history.undoText()
    assert session.history.command(session.history.count() - 2).op_id == edits[0].id

    ui.key(Qt.Key.Key_Z, CTRL)  # the job first …
    ui.idle()
    assert store.operation(job_op).undone
    assert [m.frame for m in store.masks_of(oid, seg.start, seg.end)] == [seg.start, fa, fb]
    assert store.anchors(oid, seg.start, seg.end) == [seg.start, fa]
    assert store.mask(oid, fb).source == "brush"
    ui.key(Qt.Key.Key_Z, CTRL)  # … then the stroke, the newest edit
    ui.idle()
    assert [m.frame for m in store.masks_of(oid, seg.start, seg.end)] == [seg.start, fa]
    assert store.operation(edits[0].id).undone and not store.operation(edits[1].id).undone
    ui.key(Qt.Key.Key_Z, CTRL | SHIFT)  # redo walks back in reverse: the stroke …
    ui.idle()
    assert store.mask(oid, fb).source == "brush" and store.operation(job_op).undone
    ui.key(Qt.Key.Key_Z, CTRL | SHIFT)  # … then the job
    ui.idle()
    assert len(store.masks_of(oid, seg.start, seg.end)) == seg.length
    assert store.anchors(oid, seg.start, seg.end) == [seg.start, fa]
    assert store.mask(oid, fb).source == "brush"


def test_a_job_resumed_after_an_edit_goes_above_it_on_the_undo_stack(ui, qtbot, gated_engine):
    """Cancel (the status bar's button) while the job waits on its sixth frame, paint a stroke
    ahead of it, press P again: the job resumes into its operation, which wrote after the
    stroke, so the window's stack is rebuilt with the job on top and Ctrl+Z takes it first."""
    reached, go = gated_engine
    session, store = ui.win.session, ui.store
    oid, seg = ui.bell()
    order = [o.id for o in store.objects()].index(oid) + 1
    ui.key(getattr(Qt.Key, f"Key_{order}"))
    ui.key(Qt.Key.Key_Home)
    _go_forward(ui, seg.start)
    ui.idle()
    qtbot.mouseClick(ui.win.canvas, Qt.MouseButton.LeftButton, pos=_bell_point(ui, seg.start))
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    ui.idle()
    with qtbot.waitSignal(session.job_started, timeout=10000):
        ui.key(Qt.Key.Key_P)
    assert reached.wait(60)
    with qtbot.waitSignal(session.job_finished, timeout=60000) as blocker:
        qtbot.mouseClick(ui.win.status.cancel_btn, Qt.MouseButton.LeftButton)
        go.set()
    assert blocker.args[0].cancelled
    ui.idle()
    job_op = store.jobs()[-1]["params"]["op"]
    assert session.history.command(session.history.count() - 1).op_id == job_op
    done_before = {m.frame for m in store.masks_of(oid, seg.start, seg.end)}
    fb = seg.start + 40
    assert fb not in done_before
    _go_forward(ui, 40)
    ui.idle()
    ui.key(Qt.Key.Key_B)
    p = _bell_point(ui, fb)
    qtbot.mousePress(ui.win.canvas, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(ui.win.canvas, p + type(p)(10, 0))
    qtbot.mouseRelease(ui.win.canvas, Qt.MouseButton.LeftButton, pos=p + type(p)(10, 0))
    ui.idle()
    stroke = store.history(1)[0]
    assert stroke.kind == "brush"
    assert session.history.command(session.history.count() - 1).op_id == stroke.id

    with qtbot.waitSignal(session.job_finished, timeout=120000) as blocker:
        ui.key(Qt.Key.Key_P)
    assert not blocker.args[0].cancelled
    ui.idle()
    assert store.jobs()[-1]["params"]["op"] == job_op  # resumed, not started over
    assert store.mask(oid, fb).source == "brush"
    ids = [session.history.command(i).op_id for i in range(session.history.count())]
    assert ids[-2:] == [stroke.id, job_op] and ids.count(job_op) == 1
    ui.key(Qt.Key.Key_Z, CTRL)
    ui.idle()
    assert store.operation(job_op).undone and not store.operation(stroke.id).undone
    assert [m.frame for m in store.masks_of(oid, seg.start, seg.end)] == [seg.start, fb]
