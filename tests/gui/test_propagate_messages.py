"""What the propagation commands say on the real window: "P" on a segment without an anchor
names that segment's frames and what to do; "Propagate all" (Shift+P) skips segments already
propagated or done and names those it cannot start. Anchors are set up in the real store
(what an accepted click writes); the commands are pressed as keys into the canvas, and the
propagation is the real pipeline (fallback engine, as in a fresh install)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from annotator.demo import FPS, H, W, _bell_center


def _anchor(ui, name: str, frame: int) -> None:
    st = ui.store
    h, w = st.size_hw
    yy, xx = np.mgrid[:h, :w]
    if name == "bell":
        x, y = _bell_center(frame / FPS)
        mask = (xx - x) ** 2 + (yy - y) ** 2 <= 40 ** 2
    else:
        mask = (np.abs(xx - W * 0.8) <= 38) & (np.abs(yy - H * 0.72) <= 27)
    op = st.new_op("test", f"anchor {name} {frame}")
    st.put_mask(st.object_by_name(name).id, frame, mask, source="manual", op=op)
    ui.win.session.history.rebuild()


def _open_segment(ui, qtbot, segment_id: int) -> None:
    """Double-click the segment's row in the segments table (its first frame, its object)."""
    panel = ui.win.segments_panel
    qtbot.waitUntil(lambda: panel.proxy.rowCount() > 0)
    row = next(r for r in range(panel.proxy.rowCount())
               if panel.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) == segment_id)
    index = panel.proxy.index(row, 1)
    panel.table.scrollTo(index)
    pos = panel.table.visualRect(index).center()
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    ui.idle()


def _message(ui) -> str:
    return ui.win.status.currentMessage()


def test_p_on_a_segment_without_anchor_names_its_frames_and_what_to_do(ui, qtbot):
    bell = ui.store.object_by_name("bell").id
    late = ui.store.segments(bell)[1]  # 120–180: nothing accepted there
    _open_segment(ui, qtbot, late.id)
    assert (ui.win.state.frame, ui.win.state.object_id) == (late.start, bell)
    ui.key(Qt.Key.Key_P)
    qtbot.waitUntil(lambda: "no accepted mask" in _message(ui))
    text = _message(ui)
    assert f"bell {late.start}–{late.end}" in text
    assert f"click the object on frame {late.start} and press Enter" in text
    assert "0–0" not in text
    assert ui.win.status.level == "error"  # nothing was done
    ui.idle()
    assert ui.store.masks_of(bell, late.start, late.end) == []


def test_propagate_all_skips_what_is_done_and_names_what_it_cannot_start(ui, qtbot):
    st = ui.store
    bell, drum = st.object_by_name("bell").id, st.object_by_name("drum").id
    early, late = st.segments(bell)
    (drums,) = st.segments(drum)
    _anchor(ui, "bell", early.start)
    _open_segment(ui, qtbot, early.id)
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.key(Qt.Key.Key_P)
    ui.idle()
    before = {m.frame: m.rev_id for m in st.masks_of(bell, early.start, early.end)}
    assert sorted(before) == list(range(early.start, early.end + 1))
    _anchor(ui, "drum", drums.start)
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.key(Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)  # Propagate all
    ui.idle()
    # the drum ran; the bell's first segment was already propagated and is left as it was
    assert len(st.masks_of(drum, drums.start, drums.end)) == drums.length
    assert {m.frame: m.rev_id for m in st.masks_of(bell, early.start, early.end)} == before
    assert st.masks_of(bell, late.start, late.end) == []
    text = _message(ui)
    assert "masks propagated" in text
    assert f"skipped 1 segment already propagated or done (bell {early.start}–{early.end})" \
        in text
    assert f"no accepted mask yet: bell {late.start}–{late.end}" in text
    assert f"frame {late.start} and press Enter" in text
    assert ui.win.status.level == "warning"  # done, with something left out: not an error
    # again: nothing left to do, and no job starts
    ui.key(Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "Nothing to propagate" in _message(ui))
    assert ui.win.session.job is None
    assert "skipped 2 segments already propagated or done" in _message(ui)
