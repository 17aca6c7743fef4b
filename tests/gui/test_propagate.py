"""Stage 2 on the real window: propagation runs in a worker while the event loop keeps
turning, masks land in the store frame by frame, cancel keeps what was done, undo reverts it."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer

from annotator.demo import FPS, _bell_center


def _anchor_bell(ui):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    ui.idle()
    # paint the bell with the brush (independent of the segmenter's quality), then accept
    x, y = _bell_center(seg.start / FPS)
    ui.key(Qt.Key.Key_B)
    ui.win.canvas.set_brush_radius(44)
    pos = ui.win.canvas.to_widget(float(x), float(y)).toPoint()
    ui.qtbot.mousePress(ui.win.canvas, Qt.MouseButton.LeftButton, pos=pos)
    ui.qtbot.mouseRelease(ui.win.canvas, Qt.MouseButton.LeftButton, pos=pos)
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    ui.idle()
    assert ui.store.anchors(oid) == [seg.start]
    return oid, seg


def test_propagate_segment_in_worker_and_undo(ui, qtbot):
    oid, seg = _anchor_bell(ui)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(ui.win.session.job is not None))
    timer.start(5)
    arrived = []
    ui.win.session.masks_changed.connect(lambda keys: arrived.append(keys))
    with qtbot.waitSignal(ui.win.session.job_started, timeout=10000):
        ui.key(Qt.Key.Key_P)
    assert ui.win.status.cancel_btn.isVisible()
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        pass
    timer.stop()
    # the GUI thread kept turning while the job ran, and masks arrived one frame at a time
    assert sum(ticks) >= 3
    assert sum(1 for k in arrived if k and len(k) == 1) >= 3
    masks = ui.store.masks_of(oid, seg.start, seg.end)
    assert [m.frame for m in masks] == list(range(seg.start, seg.end + 1))
    assert all(not m.anchor for m in masks[1:])
    assert ui.store.segment(seg.id).status in ("propagated", "review")
    assert not ui.win.status.cancel_btn.isVisible()
    # the current frame shows the mask; moving on shows the propagated one
    ui.key(Qt.Key.Key_Right)
    ui.idle()
    assert ui.win.canvas.view.sources[oid] in ("propagated", "refined")
    # one undo removes the whole propagation, redo brings it back
    ui.trigger("undo")
    ui.idle()
    assert [m.frame for m in ui.store.masks_of(oid, seg.start, seg.end)] == [seg.start]
    ui.trigger("redo")
    ui.idle()
    assert len(ui.store.masks_of(oid, seg.start, seg.end)) == seg.length


def test_cancel_keeps_frames_done(ui, qtbot):
    oid, seg = _anchor_bell(ui)
    session = ui.win.session

    def cancel_soon(done, total, _msg):
        if done >= 2:
            ui.win.propagation.cancel_job()

    session.job_progress.connect(cancel_soon)
    with qtbot.waitSignal(session.job_finished, timeout=120000) as blocker:
        ui.trigger("propagate")
    assert blocker.args[0].cancelled
    kept = ui.store.masks_of(oid, seg.start, seg.end)
    assert 2 < len(kept) < seg.length  # the anchor and the frames done before cancel
    frames = [m.frame for m in kept]
    assert frames == list(range(seg.start, seg.start + len(kept)))
    assert "Cancelled" in ui.win.status.currentMessage()
    # running it again resumes and finishes
    session.job_progress.disconnect(cancel_soon)
    with qtbot.waitSignal(session.job_finished, timeout=120000):
        ui.trigger("propagate")
    assert len(ui.store.masks_of(oid, seg.start, seg.end)) == seg.length


def test_propagate_without_anchor_says_what_to_do(ui):
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id)
    ui.idle()
    ui.trigger("propagate")
    ui.idle()
    assert ui.store.masks_of(oid) == []
    assert "press Enter first" in ui.win.status.currentMessage()


def test_batch_over_other_projects(ui, qtbot, tmp_path, _demo_master):
    """Propagate ▸ Batch: another project (copied demo with an anchor) is opened, propagated
    and closed by the job while this window stays on its own project."""
    import shutil

    import numpy as np

    from annotator.core.project import Project

    other = tmp_path / "other"
    shutil.copytree(_demo_master, other)
    with Project.open(other / "demo.avsproj") as project:
        st = project.store
        oid = st.object_by_name("bell").id
        seg = st.segments(oid)[0]
        h, w = st.size_hw
        yy, xx = np.mgrid[:h, :w]
        x, y = _bell_center(seg.start / FPS)
        st.put_mask(oid, seg.start, (xx - x) ** 2 + (yy - y) ** 2 <= 40 ** 2, source="manual")
        drum = st.object_by_name("drum").id  # annotated with boxes: two keyframes drawn
        dseg = st.segments(drum)[0]
        drawn = {dseg.start: (250.0, 150.0, 340.0, 240.0), dseg.end: (260.0, 150.0, 350.0, 240.0)}
        for f, box in drawn.items():
            st.put_box(drum, f, box)
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000) as blocker:
        ui.win.files.batch_projects([str(other / "demo.avsproj")])
    with Project.open(other / "demo.avsproj", readonly=True) as project:
        assert len(project.store.masks_of(oid, seg.start, seg.end)) == seg.length
        boxes = {b.frame: b for b in project.store.boxes_of(drum, dseg.start, dseg.end)}
        tracked = [f for f, b in boxes.items() if b.source == "tracked"]
        assert tracked and all(dseg.start < f < dseg.end for f in tracked)
        for f, box in drawn.items():  # the drawn keyframes are as the person drew them
            assert tuple(boxes[f].box) == box and boxes[f].source == "drawn"
    assert (f"demo.avsproj: 55 masks, 0 flagged, {len(tracked)} boxes tracked"
            in blocker.args[0].message)
    assert ui.store.mask_count() == 0  # the open project is untouched
