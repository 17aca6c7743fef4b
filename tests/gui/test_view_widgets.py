"""The views alone, without a main window: each is built on a real session of the demo project
(its real store and video) and a ViewState, and checked for what it shows when the state or the
session changes, and for what it asks of them when pressed."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from annotator.demo import FPS, _bell_center

LEFT = Qt.MouseButton.LeftButton



def _idle(qtbot, session):
    qtbot.waitUntil(lambda: session.serial.pending == 0 and session.tasks.pending == 0,
                    timeout=30000)


def _rows(tree):
    return [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]


def test_view_state_clamps_and_says_only_changes(qtbot, parts):
    session, state = parts
    seen = []
    state.frame_changed.connect(lambda f, playing: seen.append((f, playing)))
    state.set_frame(10**6)
    state.set_frame(session.frame_count - 1)  # the same: nothing said
    state.set_frame(-5)
    state.set_frame(7, playing=True)
    state.settle()
    assert seen == [(session.frame_count - 1, False), (0, False), (7, True), (7, False)]
    with pytest.raises(ValueError):
        state.tool = "lasso"
    state.set_overlay("outline", 2.0)
    assert (state.overlay, state.opacity) == ("outline", 1.0)


def test_objects_panel_follows_and_sets_the_current_and_hidden_objects(qtbot, parts):
    from annotator.gui.objects_panel import ObjectsPanel

    session, state = parts
    panel = ObjectsPanel(session, state)
    qtbot.addWidget(panel)
    panel.show()
    bell, drum = (session.store.object_by_name(n).id for n in ("bell", "drum"))
    assert state.object_id == bell  # the first object becomes current
    state.object_id = drum
    assert panel.tree.currentItem().text(0) == "drum"
    item = _rows(panel.tree)[0]  # click the bell's row: the state follows
    qtbot.mouseClick(panel.tree.viewport(), LEFT, pos=panel.tree.visualItemRect(item).center())
    assert state.object_id == bell
    box = panel.tree.visualItemRect(item)  # the tick box at the row's left: hide the bell
    qtbot.mouseClick(panel.tree.viewport(), LEFT, pos=box.topLeft() + QPoint(10, box.height() // 2))
    assert state.hidden == {bell}
    state.hidden = set()
    assert _rows(panel.tree)[0].checkState(0) == Qt.CheckState.Checked
    # an object added through the session is listed and becomes current
    panel.add_object("flute", "flute")
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 3)
    assert state.object_id == session.store.object_by_name("flute").id


def test_segments_panel_lists_the_sessions_segments_and_goes_to_one(qtbot, parts):
    from annotator.gui.segments_panel import SegmentsPanel

    session, state = parts
    panel = SegmentsPanel(session, state)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.model.rowCount() == len(session.store.segments())
    drum = session.store.object_by_name("drum").id
    (seg,) = session.store.segments(drum)
    panel.select(seg.id)
    assert state.selected_segment == seg.id
    qtbot.mouseClick(panel.go_btn, LEFT)  # Annotate: the segment's first frame, its object
    assert (state.object_id, state.frame) == (drum, seg.start)
    n = panel.model.rowCount()
    session.apply("delete", lambda op: session.store.delete_segment(seg.id, op=op),
                  structure=True)
    qtbot.waitUntil(lambda: panel.model.rowCount() == n - 1)
    assert seg.id not in {s.id for s in panel.model.rows}


def test_check_view_lists_the_check_list_and_steps_the_state(qtbot, parts):
    from annotator.gui.check_view import CheckView

    session, state = parts
    st = session.store
    bell = st.object_by_name("bell").id
    h, w = st.size_hw
    yy, xx = np.mgrid[:h, :w]
    for f in (30, 31):
        x, y = _bell_center(f / FPS)
        disk = (xx - x) ** 2 + (yy - y) ** 2 <= 40 ** 2
        st.put_mask(bell, f, disk, source="propagated", flags=["lost"])
    # a flag whose failure score stays under the bar: in no clip, so flagged nowhere
    st.put_mask(bell, 50, disk, source="propagated", flags=["low_confidence"])
    view = CheckView(session, state)
    qtbot.addWidget(view)
    view.show()
    session.refresh_checks()
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 1, timeout=10000)
    row = _rows(view.tree)[0]
    assert (row.text(0), row.text(1)) == ("bell", "30–31")
    assert view.summary.text().startswith("1 flagged clip over 2 frames")
    from annotator.gui.timeline import Timeline

    timeline = Timeline(session, state)  # its flags strip marks the same frames, no other
    qtbot.addWidget(timeline)
    assert list(np.nonzero(timeline.flagged())[0]) == [30, 31]
    assert list(np.nonzero(timeline.flagged(bell))[0]) == [30, 31]
    qtbot.mouseClick(view.next_btn, LEFT)
    assert (state.object_id, state.frame) == (bell, 30)
    qtbot.mouseClick(view.next_btn, LEFT)
    assert state.frame == 31
    qtbot.mouseClick(view.other_version_btn, LEFT)  # the button sets the state, the state the button
    assert state.other_version
    state.other_version = False
    assert not view.other_version_btn.isChecked()


def test_canvas_feed_shows_the_states_frame_and_the_sessions_masks(qtbot, parts):
    from annotator.gui.canvas import Canvas
    from annotator.gui.canvas_feed import CanvasFeed

    session, state = parts
    canvas = Canvas()
    qtbot.addWidget(canvas)
    canvas.resize(640, 360)
    canvas.show()
    feed = CanvasFeed(session, state, canvas)
    qtbot.waitUntil(lambda: canvas.view is not None and canvas.view.index == 0)
    bell = session.store.object_by_name("bell").id
    state.object_id = bell
    state.set_frame(20)
    qtbot.waitUntil(lambda: canvas.view.index == 20)
    assert "frame 20" in canvas.hud and "bell (segment 10–65)" in canvas.hud
    h, w = session.store.size_hw
    x, y = _bell_center(20 / FPS)
    yy, xx = np.mgrid[:h, :w]
    mask = (xx - x) ** 2 + (yy - y) ** 2 <= 30 ** 2
    session.apply("paint", lambda op: session.store.put_mask(bell, 20, mask, source="brush",
                                                             op=op) and [(bell, 20)])
    qtbot.waitUntil(lambda: bell in canvas.view.layers, timeout=10000)
    layer = canvas.view.layers[bell]
    assert (layer.image.width(), layer.image.height()) == (layer.outline.width(),
                                                           layer.outline.height())
    feed.close()
