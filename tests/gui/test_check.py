"""Stage 3 on the real window: flagged clips worst first, stepping through flags, XMem vs
refined, a fix that re-propagates only between the neighbouring anchors, segment verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from annotator.demo import FPS, _bell_center
from tests.gui.conftest import open_window


def _disk(store, frame: int, r: int = 40) -> np.ndarray:
    h, w = store.size_hw
    x, y = _bell_center(frame / FPS)
    yy, xx = np.mgrid[:h, :w]
    return (xx - x) ** 2 + (yy - y) ** 2 <= r * r


def _seed_flags(ui):
    """Flagged propagated masks as the pipeline writes them (flags on the revision), ranked so
    that the list's order (worst first) is not the frame order: bell 60–61 (2.0), bell 40
    (1.0), drum 100 (0.6), bell 12 (0.5)."""
    st = ui.store
    bell = st.object_by_name("bell").id
    drum = st.object_by_name("drum").id
    st.put_mask(bell, 12, _disk(st, 12), source="propagated", flags=["area_jump"])
    st.put_mask(bell, 40, _disk(st, 40), source="propagated", flags=["lost"])
    for f in (60, 61):
        st.put_mask(bell, f, _disk(st, f), source="propagated", flags=["lost", "low_confidence"])
    st.put_mask(drum, 100, _disk(st, 100, 20), source="propagated", flags=["disagreement"])
    return bell, drum


def _rows(cv) -> list[tuple[str, str, str]]:
    return [(it.text(0), it.text(1), it.text(2))
            for it in (cv.tree.topLevelItem(i) for i in range(cv.tree.topLevelItemCount()))]


def _click_row(qtbot, cv, row: int) -> None:
    item = cv.tree.topLevelItem(row)
    cv.tree.scrollToItem(item)
    pos = cv.tree.visualItemRect(item).center()
    qtbot.mouseClick(cv.tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_check_view_lists_worst_first_and_steps_through_flags_in_that_order(ui, qtbot):
    bell, drum = _seed_flags(ui)
    ui.win.state.set_frame(0)
    ui.key(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # the check view
    ui.idle()
    cv = ui.win.check_view
    assert ui.win.docks["check"].isVisible()
    assert [r[1] for r in _rows(cv)] == ["60–61", "40–40", "100–100", "12–12"]
    seen = []
    for _ in range(6):
        ui.key(Qt.Key.Key_F)
        ui.idle()
        seen.append((ui.win.state.frame, ui.win.state.object_id))
    # the list's order, worst first (not frame order), then round again
    assert seen == [(60, bell), (61, bell), (40, bell), (100, drum), (12, bell), (60, bell)]
    for want in ((12, bell), (100, drum), (40, bell)):
        ui.key(Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
        ui.idle()
        assert (ui.win.state.frame, ui.win.state.object_id) == want
    assert cv.tree.currentItem() is cv.tree.topLevelItem(1)  # the row of frame 40
    # clicking a clip jumps to its worst frame, and F goes on from there in the list's order
    _click_row(qtbot, cv, 2)
    ui.idle()
    assert (ui.win.state.frame, ui.win.state.object_id) == (100, drum)
    ui.key(Qt.Key.Key_F)
    ui.idle()
    assert (ui.win.state.frame, ui.win.state.object_id) == (12, bell)
    qtbot.mouseClick(cv.prev_btn, Qt.MouseButton.LeftButton)
    ui.idle()
    assert (ui.win.state.frame, ui.win.state.object_id) == (100, drum)


@pytest.mark.parametrize("size", [(1024, 640), (1366, 768), (1920, 1080)])
def test_flag_names_are_readable_explained_and_not_truncated(ui, qtbot, size):
    ui.win.resize(*size)
    _seed_flags(ui)
    ui.key(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    cv = ui.win.check_view
    flags = "\n".join(r[2] for r in _rows(cv))
    for label in ("lost object", "low confidence", "area jump", "XMem–SAM disagreement"):
        assert label in flags
    assert "_" not in flags
    top = cv.tree.topLevelItem(0)  # bell 60–61: lost + low confidence
    tip = top.toolTip(2)
    assert "worst is frame 60" in tip
    assert "low confidence (2 frames): The propagator's own confidence" in tip
    assert "press Enter" in tip  # says what to do
    # nothing is cut: every column is at least as wide as its widest cell, all within the view
    qtbot.waitUntil(lambda: cv.tree.header().sectionSize(2) >= cv.tree.sizeHintForColumn(2))
    header = cv.tree.header()
    for col in range(cv.tree.columnCount()):
        assert header.sectionSize(col) >= cv.tree.sizeHintForColumn(col), col
    assert header.length() <= cv.tree.viewport().width()
    assert cv.tree.horizontalScrollBar().maximum() == 0


def test_real_flags_of_a_davis_sequence_read_as_words(qtbot, tmp_path, shared):
    """DAVIS bmx-bumps (../shared), first ground-truth mask as the anchor, propagated with
    Shift+P by the real pipeline (fallback engine): the check view names its real flags in
    words, explains them, fits them in its columns, and F starts at the worst clip."""
    from PIL import Image

    from annotator.core.project import Project

    src = shared("data", "davis2016", "bmx-bumps")
    with Project.create(tmp_path / "bmx.avsproj", src / "JPEGImages", fps=24) as project:
        st = project.store
        oid = st.add_object("rider", "person")
        st.add_segment(oid, 0, st.frame_count - 1)
        gt = np.array(Image.open(src / "Annotations" / "00000.png")) > 0
        st.put_mask(oid, 0, gt, source="imported")
    win = open_window(qtbot, tmp_path / "bmx.avsproj", size=(1366, 768))
    try:
        with qtbot.waitSignal(win.session.job_finished, timeout=300000):
            qtbot.keyClick(win.canvas, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
        qtbot.keyClick(win.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        cv = win.check_view
        qtbot.waitUntil(lambda: cv.tree.topLevelItemCount() > 0, timeout=30000)
        cells = "\n".join(it.text(2) for it in (cv.tree.topLevelItem(i)
                                                for i in range(cv.tree.topLevelItemCount())))
        assert "_" not in cells
        from annotator.pipeline.failure import SIGNAL_INFO  # the failure score's reasons
        words = [label for label, _ in SIGNAL_INFO.values()]
        assert any(w in cells for w in words)
        tip = cv.tree.topLevelItem(0).toolTip(2)
        assert "frames):" in tip and "Enter" in tip
        header = cv.tree.header()
        for col in range(cv.tree.columnCount()):
            assert header.sectionSize(col) >= cv.tree.sizeHintForColumn(col), col
        assert cv.tree.horizontalScrollBar().maximum() == 0
        worst = win.session.checks.clips[0]
        qtbot.keyClick(win.canvas, Qt.Key.Key_F)
        first = [f for f, o in win.session.checks.frames if o == worst.object_id and worst.start <= f]
        qtbot.waitUntil(lambda: win.state.frame == first[0])
    finally:
        win.close_project()


def test_a_segment_marked_failed_is_listed_and_says_why(ui, qtbot):
    bell, seg = ui.bell()
    ui.go_to_segment(seg.id)
    ui.key(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    cv = ui.win.check_view
    assert _rows(cv) == []
    qtbot.mouseClick(cv.failed_btn, Qt.MouseButton.LeftButton)
    ui.idle()
    qtbot.waitUntil(lambda: cv.tree.topLevelItemCount() == 1)
    assert _rows(cv) == [("bell", f"{seg.start}–{seg.end}", "marked failed")]
    assert "You marked this segment failed" in cv.tree.topLevelItem(0).toolTip(2)
    assert "1 segment marked failed" in cv.summary.text()
    ui.win.state.set_frame(150)
    ui.idle()
    _click_row(qtbot, cv, 0)
    ui.idle()
    assert (ui.win.state.frame, ui.win.state.object_id) == (seg.start, bell)
    qtbot.mouseClick(cv.done_btn, Qt.MouseButton.LeftButton)
    ui.idle()
    qtbot.waitUntil(lambda: cv.tree.topLevelItemCount() == 0)


def test_toggle_xmem_and_refined_then_use_shown(ui):
    st = ui.store
    bell = st.object_by_name("bell").id
    raw = _disk(st, 30, 30)
    st.put_mask(bell, 30, raw, source="propagated", flags=["disagreement"])
    st.put_mask(bell, 30, _disk(st, 30, 45), source="refined")
    ui.select_object(bell)
    ui.win.state.set_frame(30)
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
    ui.select_object(bell)
    ui.win.state.set_frame(seg.start)
    ui.idle()
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.trigger("propagate")
    before = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    assert sorted(before) == list(range(seg.start, seg.end + 1))
    # fix frame 20 in the check view: brush the mask, Enter → anchor + re-propagation
    ui.trigger("check_view")
    ui.win.state.set_frame(20)
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
    ui.go_to_segment(seg.id)
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


def test_a_stale_compare_result_is_dropped_and_never_written_onto_another_frame(ui, qtbot,
                                                                              monkeypatch):
    """The store's real ``revisions`` is slowed down for frame 30 with a fake delay (a sleep
    around the real call), so that its result arrives after the person moved on to frame 31
    and compared there: it must not be shown there, and Enter must anchor frame 31's own
    other version."""
    import threading
    import time

    st = ui.store
    bell = st.object_by_name("bell").id
    raw = {f: _disk(st, f, 25 + f - 30) for f in (30, 31)}
    for f in (30, 31):
        st.put_mask(bell, f, raw[f], source="propagated", flags=["disagreement"])
        st.put_mask(bell, f, _disk(st, f, 45), source="refined")
    real = type(st).revisions
    slow_done = threading.Event()

    def slowed(self, oid, frame, *a, **k):
        out = real(self, oid, frame, *a, **k)
        if frame == 30:
            time.sleep(1.5)
            slow_done.set()
        return out

    monkeypatch.setattr(type(st), "revisions", slowed)
    ui.select_object(bell)
    ui.win.state.set_frame(30)
    ui.key(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    ui.idle()
    ui.key(Qt.Key.Key_X)  # frame 30's other version: slow
    ui.key(Qt.Key.Key_Right)
    ui.key(Qt.Key.Key_X)  # frame 31's: fast
    qtbot.waitUntil(lambda: "propagated version" in ui.win.check_view.compare_label.text())
    qtbot.waitUntil(slow_done.is_set, timeout=10000)
    ui.idle()
    assert ui.win.state.frame == 31
    ui.key(Qt.Key.Key_Return)
    ui.idle()
    rec = st.mask(bell, 31)
    assert rec.anchor and rec.source == "propagated"
    assert np.array_equal(rec.decode(), raw[31])
    assert not st.mask(bell, 30).anchor


def test_fix_in_a_reviewed_segment_asks_before_replacing_its_masks(ui, qtbot):
    """The segment was marked done (Ctrl+D): a fix whose re-propagation would replace more
    than 20 of its masks asks first; Cancel keeps every mask, the dialog's Re-propagate runs
    it as one undo step."""
    from PySide6.QtWidgets import QMessageBox

    st = ui.store
    bell, seg = ui.bell()
    op = st.new_op("test", "anchor")
    st.put_mask(bell, seg.start, _disk(st, seg.start), source="manual", op=op)
    ui.win.session.history.rebuild()
    ui.select_object(bell)
    ui.win.state.set_frame(seg.start)
    ui.idle()
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.trigger("propagate")
    ui.idle()
    ui.key(Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # mark the segment done
    ui.idle()
    assert st.segment(seg.id).status == "done"
    ui.trigger("check_view")
    ui.win.state.set_frame(seg.start + 30)
    ui.idle()
    before = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    x, y = _bell_center((seg.start + 30) / FPS)
    ui.click(float(x), float(y))
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(ui.win.dialog, QMessageBox), timeout=30000)
    box = ui.win.dialog
    assert "marked done" in box.text() and f"frames {seg.start + 1}–{seg.end}" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    ui.idle()
    after = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    assert all(after[f] == before[f] for f in after if f != seg.start + 30)
    assert st.mask(bell, seg.start + 30).anchor  # the fix itself stays
    # again, and this time the person says yes
    ui.win.canvas.setFocus()
    qtbot.mouseClick(ui.win.toolbar.widgetForAction(ui.win.actions_["accept"]),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(ui.win.dialog, QMessageBox), timeout=30000)
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        qtbot.mouseClick(ui.win.dialog.button(QMessageBox.StandardButton.Yes),
                         Qt.MouseButton.LeftButton)
    ui.idle()
    after = {m.frame: m.rev_id for m in st.masks_of(bell, seg.start, seg.end)}
    assert after[seg.start + 31] != before[seg.start + 31]
