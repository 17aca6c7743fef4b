"""Stage 3 on the real window: flagged clips worst first, stepping through flags, XMem vs
refined, a fix that re-propagates only between the neighbouring anchors, segment verdicts."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from annotator.demo import FPS, _bell_center


def _disk(store, frame: int, r: int = 40) -> np.ndarray:
    h, w = store.size_hw
    x, y = _bell_center(frame / FPS)
    yy, xx = np.mgrid[:h, :w]
    return (xx - x) ** 2 + (yy - y) ** 2 <= r * r


def _seed_flags(ui):
    """Flagged propagated masks as the pipeline writes them (flags on the revision)."""
    st = ui.store
    bell = st.object_by_name("bell").id
    drum = st.object_by_name("drum").id
    for f in (20, 21):
        st.put_mask(bell, f, _disk(st, f), source="propagated", flags=["lost", "low_confidence"])
    st.put_mask(bell, 40, _disk(st, 40), source="propagated", flags=["lost"])
    st.put_mask(drum, 60, _disk(st, 60, 20), source="propagated", flags=["area_jump"])
    return bell, drum


def test_check_view_lists_worst_first_and_steps_through_flags(ui):
    bell, drum = _seed_flags(ui)
    ui.win.go_to(0)
    ui.trigger("check_view")
    ui.idle()
    cv = ui.win.check_view
    assert ui.win.docks["check"].isVisible()
    rows = [cv.tree.topLevelItem(i).text(1) for i in range(cv.tree.topLevelItemCount())]
    assert rows == ["20–21", "40–40", "60–60"]
    seen = []
    for _ in range(4):
        ui.key(Qt.Key.Key_F)
        ui.idle()
        seen.append((ui.win.frame, ui.win.object_id))
    assert seen == [(20, bell), (21, bell), (40, bell), (60, drum)]
    ui.key(Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    assert (ui.win.frame, ui.win.object_id) == (40, bell)
    # clicking a clip jumps to its worst frame
    cv._activated(cv.tree.topLevelItem(2))
    assert (ui.win.frame, ui.win.object_id) == (60, drum)


def test_toggle_xmem_and_refined_then_use_shown(ui):
    st = ui.store
    bell = st.object_by_name("bell").id
    raw = _disk(st, 30, 30)
    st.put_mask(bell, 30, raw, source="propagated", flags=["disagreement"])
    st.put_mask(bell, 30, _disk(st, 30, 45), source="refined")
    ui.win.objects_panel.select(bell)
    ui.win.go_to(30)
    ui.trigger("check_view")
    ui.idle()
    ui.key(Qt.Key.Key_X)
    ui.idle()
    assert ui.win.canvas.preview is not None and ui.win.canvas.preview_hides == bell
    assert "propagated version" in ui.win.check_view.compare_label.text()
    ui.key(Qt.Key.Key_X)
    assert ui.win.canvas.preview is None
    ui.key(Qt.Key.Key_X)
    ui.idle()
    ui.key(Qt.Key.Key_Return)  # use the XMem mask as this frame's anchor
    ui.idle()
    rec = st.mask(bell, 30)
    assert rec.anchor and rec.source == "propagated"
    assert np.array_equal(rec.decode(), raw)


def test_fix_repropagates_only_between_anchors(ui, qtbot):
    st = ui.store
    bell, seg = ui.bell()
    op = st.new_op("test", "anchors at 10 and 30")
    for f in (seg.start, 30):
        st.put_mask(bell, f, _disk(st, f), source="manual", op=op)
    ui.win.session.history.rebuild()
    ui.win.docks["check"].hide()
    ui.win.objects_panel.select(bell)
    ui.win.go_to(seg.start)
    ui.idle()
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.trigger("propagate")
    before = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    assert sorted(before) == list(range(seg.start, seg.end + 1))
    # fix frame 20 in the check view: brush the mask, Enter → anchor + re-propagation
    ui.trigger("check_view")
    ui.win.go_to(20)
    ui.idle()
    ui.key(Qt.Key.Key_B)
    ui.win.canvas.set_brush_radius(30)
    x, y = _bell_center(20 / FPS)
    pos = ui.win.canvas.to_widget(float(x), float(y)).toPoint()
    qtbot.mousePress(ui.win.canvas, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(ui.win.canvas, Qt.MouseButton.LeftButton, pos=pos)
    ui.idle()
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.key(Qt.Key.Key_Return)
    ui.idle()
    after = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    changed = sorted(f for f in after if after[f] != before[f])
    assert 20 in changed and 19 in changed and 21 in changed
    assert all(seg.start < f < 30 for f in changed)
    assert st.anchors(bell, seg.start, seg.end) == [seg.start, 20, 30]
    # undo the re-propagation: frames around 20 go back to the first propagation
    ui.trigger("undo")
    ui.idle()
    back = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    assert all(back[f] == before[f] for f in changed if f != 20)


def test_mark_segment_done_and_failed(ui):
    bell, seg = ui.bell()
    ui.win.go_to_segment(seg.id)
    ui.trigger("check_view")
    ui.idle()
    ui.win.check_view.done_btn.click()
    ui.idle()
    assert ui.store.segment(seg.id).status == "done"
    ui.key(Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    ui.idle()
    assert ui.store.segment(seg.id).status == "failed"
    ui.trigger("undo")
    ui.idle()
    assert ui.store.segment(seg.id).status == "done"
    assert ui.win.segments_panel.model.rows[0].status == "done"
