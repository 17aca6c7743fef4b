"""Audible segments edited on the timeline with the mouse, in the real window on the demo
project: drag on an object's row to draw one, drag its body to move it, drag an edge to resize
it, click it and press Delete; each is one undoable operation (Ctrl+Z), checked in the project
file itself. A drop that would overlap says why and changes nothing; shortening a segment so
that masks fall outside asks first, and undo brings the masks back."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from annotator.core.store import Store
from annotator.gui.timeline import ROW_H
from annotator.gui.timeline_edit import SNAP_PX

LEFT = Qt.MouseButton.LeftButton


def _ready(ui, qtbot):
    """The timeline with its rows and the audio onsets (edges snap to them) loaded."""
    tl = ui.win.timeline
    qtbot.waitUntil(lambda: len(tl.objects) == 2 and tl.audio.state == "ready", timeout=30000)
    ui.idle()
    assert len(tl.audio.onset_bounds) > 0  # the demo's bell and drum strike: there are onsets
    return tl


def _y(tl, name: str) -> int:
    oid = next(o.id for o in tl.objects if o.name == name)
    return int(tl.geom.row_top(oid) + ROW_H // 2)


def _free(tl, near: int, step: int = 1) -> int:
    """A frame boundary from ``near`` on that is no audio onset (a drop there does not snap)."""
    onsets = set(tl.audio.onset_bounds.tolist())
    b = near
    while b in onsets:
        b += step
    return b


def _drag(qtbot, tl, x0: float, x1: float, y: int) -> None:
    """Press at x0, move in steps to x1, release: what a person's hand does."""
    qtbot.mousePress(tl, LEFT, pos=QPoint(round(x0), y))
    for k in range(1, 6):
        qtbot.mouseMove(tl, QPoint(round(x0 + (x1 - x0) * k / 5), y))
    qtbot.mouseRelease(tl, LEFT, pos=QPoint(round(x1), y))


def _on_disk(ui, name: str) -> list[tuple[int, int]]:
    """The object's segments as the project file holds them (a second, read-only reader)."""
    with Store(ui.store.path, readonly=True) as store:
        oid = store.object_by_name(name).id
        return [(s.start, s.end) for s in store.segments(oid)]


def _answer(ui, qtbot, box, button) -> None:
    """Press ``button`` of the question ``box``; then the window is active again, as a window
    manager makes it (the offscreen platform has none), so that its keys work."""
    qtbot.mouseClick(box.button(button), LEFT)
    ui.idle()
    ui.win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ui.win, timeout=5000)


def _undo(ui) -> None:
    ui.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ui.idle()


def test_drag_on_an_empty_row_draws_a_segment_and_undo_takes_it_back(ui, qtbot):
    tl = _ready(ui, qtbot)
    before = _on_disk(ui, "drum")
    assert before == [(50, 140)]
    a, b = _free(tl, 150), _free(tl, 171)
    _drag(qtbot, tl, tl._x(a), tl._x(b), _y(tl, "drum"))
    ui.idle()
    assert _on_disk(ui, "drum") == [(50, 140), (a, b - 1)]
    assert ui.win.session.history.undoText().startswith("Add segment drum")
    # the segments panel shows it too (it reads the store)
    qtbot.waitUntil(lambda: ui.win.segments_panel.proxy.rowCount() == 4, timeout=5000)
    _undo(ui)
    assert _on_disk(ui, "drum") == before
    # dragged right to left, the same span
    _drag(qtbot, tl, tl._x(b), tl._x(a), _y(tl, "drum"))
    ui.idle()
    assert _on_disk(ui, "drum") == [(50, 140), (a, b - 1)]


def test_drag_a_segment_body_moves_it_and_an_edge_resizes_it(ui, qtbot):
    tl = _ready(ui, qtbot)
    onsets = set(tl.audio.onset_bounds.tolist())
    y = _y(tl, "bell")
    # move the bell's second segment (120–180) right by a shift whose new edges are no onsets
    shift = next(s for s in range(4, 12) if 120 + s not in onsets and 181 + s not in onsets)
    _drag(qtbot, tl, tl._x(150.5), tl._x(150.5 + shift), y)
    ui.idle()
    assert _on_disk(ui, "bell") == [(10, 65), (120 + shift, 180 + shift)]
    _undo(ui)
    assert _on_disk(ui, "bell") == [(10, 65), (120, 180)]
    # the end edge of the first (10–65): the cursor says it can be dragged, then drag it
    qtbot.mouseMove(tl, QPoint(round(tl._x(66)), y))
    assert tl.cursor().shape() == Qt.CursorShape.SizeHorCursor
    end = _free(tl, 80)
    _drag(qtbot, tl, tl._x(66), tl._x(end), y)
    ui.idle()
    assert _on_disk(ui, "bell") == [(10, end - 1), (120, 180)]
    # and its start edge
    start = _free(tl, 20)
    _drag(qtbot, tl, tl._x(10), tl._x(start), y)
    ui.idle()
    assert _on_disk(ui, "bell") == [(start, end - 1), (120, 180)]
    _undo(ui)
    assert _on_disk(ui, "bell") == [(10, end - 1), (120, 180)]
    _undo(ui)
    assert _on_disk(ui, "bell") == [(10, 65), (120, 180)]


def test_an_edge_dropped_near_an_onset_snaps_to_it(ui, qtbot):
    tl = _ready(ui, qtbot)
    # an onset boundary between the drum's segment end (141) and the end of the video
    onset = next(int(o) for o in tl.audio.onset_bounds if 145 <= o <= 195)
    drop = round(tl._x(onset) - SNAP_PX + 0.6)
    assert round(tl.geom.pos_at(drop)) != onset  # without snapping it would end elsewhere
    _drag(qtbot, tl, tl._x(141), drop, _y(tl, "drum"))
    ui.idle()
    assert _on_disk(ui, "drum") == [(50, onset - 1)]


def test_an_overlapping_drop_says_why_and_changes_nothing(ui, qtbot):
    tl = _ready(ui, qtbot)
    steps = ui.win.session.history.count()
    # the bell's first segment (10–65) stretched into its second (120–180)
    _drag(qtbot, tl, tl._x(66), tl._x(_free(tl, 130)), _y(tl, "bell"))
    ui.idle()
    assert "overlap" in ui.win.status.currentMessage()
    assert "120–180" in ui.win.status.currentMessage()
    assert _on_disk(ui, "bell") == [(10, 65), (120, 180)]
    assert ui.win.session.history.count() == steps


def test_click_selects_a_segment_and_delete_asks_then_deletes_it(ui, qtbot):
    tl = _ready(ui, qtbot)
    y = _y(tl, "drum")
    qtbot.mouseClick(tl, LEFT, pos=QPoint(round(tl._x(95.5)), y))
    assert abs(ui.win.state.frame - 95) <= 1  # a click still moves the playhead
    assert tl.editor.selected == ui.store.segments(ui.store.object_by_name("drum").id)[0].id
    qtbot.keyClick(tl, Qt.Key.Key_Delete)
    panel = ui.win.segments_panel
    qtbot.waitUntil(lambda: panel.dialog is not None, timeout=5000)
    box = panel.dialog
    assert "50–140" in box.text()
    _answer(ui, qtbot, box, box.StandardButton.Yes)
    assert _on_disk(ui, "drum") == []
    _undo(ui)
    assert _on_disk(ui, "drum") == [(50, 140)]


def test_shortening_over_masks_asks_and_undo_restores_segment_and_masks(ui, qtbot):
    tl = _ready(ui, qtbot)
    oid, seg = ui.anchor_bell()  # a person's mask on the bell's first frame (10)
    assert seg.start == 10 and ui.store.mask(oid, 10) is not None
    start = _free(tl, 16)
    y = _y(tl, "bell")
    # cancel: nothing changes
    _drag(qtbot, tl, tl._x(10), tl._x(start), y)
    ui.idle()
    box = tl.dialog
    assert box is not None and "1 mask of bell" in box.text()
    _answer(ui, qtbot, box, box.StandardButton.Cancel)
    assert _on_disk(ui, "bell") == [(10, 65), (120, 180)]
    assert ui.store.mask(oid, 10) is not None
    # agree: the segment shrinks and the mask goes, kept as a revision
    _drag(qtbot, tl, tl._x(10), tl._x(start), y)
    ui.idle()
    box = tl.dialog
    _answer(ui, qtbot, box, box.StandardButton.Yes)
    assert _on_disk(ui, "bell") == [(start, 65), (120, 180)]
    assert ui.store.mask(oid, 10) is None
    assert len(ui.store.revisions(oid, 10)) >= 2  # the drawn one and its deletion
    _undo(ui)
    assert _on_disk(ui, "bell") == [(10, 65), (120, 180)]
    assert ui.store.mask(oid, 10) is not None and ui.store.mask(oid, 10).anchor


def test_escape_during_a_drag_drops_it(ui, qtbot):
    tl = _ready(ui, qtbot)
    y = _y(tl, "drum")
    qtbot.mousePress(tl, LEFT, pos=QPoint(round(tl._x(150)), y))
    qtbot.mouseMove(tl, QPoint(round(tl._x(160)), y))
    qtbot.keyClick(tl, Qt.Key.Key_Escape)
    qtbot.mouseRelease(tl, LEFT, pos=QPoint(round(tl._x(170)), y))
    ui.idle()
    assert _on_disk(ui, "drum") == [(50, 140)]


def test_while_an_edge_is_dragged_the_status_bar_names_the_span_and_why_it_would_be_refused(
        ui, qtbot):
    tl = _ready(ui, qtbot)
    y = _y(tl, "bell")
    end = _free(tl, 80)
    qtbot.mousePress(tl, LEFT, pos=QPoint(round(tl._x(66)), y))
    for k in range(1, 6):  # the button stays down: nothing is written yet
        qtbot.mouseMove(tl, QPoint(round(tl._x(66) + (tl._x(end) - tl._x(66)) * k / 5), y))
    said = ui.win.status.currentMessage()
    assert f"bell: frames 10–{end - 1}" in said and f"({end - 10} frames" in said
    into = _free(tl, 130)  # on into the bell's second segment (120–180): the drop would overlap
    qtbot.mouseMove(tl, QPoint(round(tl._x(into)), y))
    assert "overlap" in ui.win.status.currentMessage()
    qtbot.mouseRelease(tl, LEFT, pos=QPoint(round(tl._x(into)), y))
    ui.idle()
    assert _on_disk(ui, "bell") == [(10, 65), (120, 180)]
