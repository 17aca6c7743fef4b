"""The timeline as a widget: built alone (no main window) on the demo project's real session and
a view state, then in the real window for what a person does there. The playhead is kept in
view and the scroll bar follows it; the scroll bar's handle is the visible stretch and dragging
it pans; the wheel zooms around the pointer, a sideways wheel or swipe and Shift+wheel pan; a
click on the ruler sets the frame; the current object's row follows the view state; at a small
height the waveform and the spectrogram are still there, and at the floor the rows say how to
get the spectrogram back. In the window at 1024×640 the sound rows and the scroll bar show."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider

from annotator.gui.session import ProjectSession
from annotator.gui.timeline import LABEL_W, ROW_H, Timeline
from annotator.gui.timeline_geometry import SPEC_H, SPEC_MIN, WAVE_H, WAVE_MIN
from annotator.gui.view_state import ViewState
from annotator.pipeline.opening import open_project

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def alone(qtbot, demo_dir):
    """A Timeline by itself on the demo's real session, fed by its own view state."""
    session = ProjectSession(*open_project(demo_dir))
    state = ViewState()
    state.reset(session.frame_count)
    tl = Timeline(session, state)
    qtbot.addWidget(tl)
    tl.resize(900, tl.sizeHint().height())
    tl.show()
    qtbot.waitExposed(tl)
    qtbot.waitUntil(lambda: tl.audio.state == "ready" and len(tl.states) == 2, timeout=30000)
    yield SimpleNamespace(tl=tl, session=session, state=state)
    tl.close()
    session.close()


def _wheel(target, pos: QPointF, dx: int = 0, dy: int = 0, modifiers=NONE) -> None:
    """One wheel event at ``pos`` of ``target`` (a widget, or the window's QWindow: then Qt
    delivers it to the widget under the pointer, as it does the platform's)."""
    global_pos = target.mapToGlobal(pos)
    QApplication.sendEvent(target, QWheelEvent(
        pos, global_pos, QPoint(0, 0), QPoint(dx, dy), Qt.MouseButton.NoButton, modifiers,
        Qt.ScrollPhase.NoScrollPhase, False))


def _zoom_in(tl, at_frame: float, notches: int = 4) -> None:
    for _ in range(notches):
        _wheel(tl, QPointF(tl.geom.x(at_frame), 8), dy=120)


def _handle(bar):
    """The scroll bar's handle, in the bar's coordinates."""
    opt = QStyleOptionSlider()
    bar.initStyleOption(opt)
    return bar.style().subControlRect(QStyle.ComplexControl.CC_ScrollBar, opt,
                                      QStyle.SubControl.SC_ScrollBarSlider, bar)


def _shows_range(tl) -> bool:
    g, bar = tl.geom, tl.scroll
    return (bar.value(), bar.pageStep(), bar.maximum()) == (g.v0, g.span, g.n - g.span)


def _pixel(tl, x: float, y: float) -> QColor:
    return tl.grab().toImage().pixelColor(int(x), int(y))


def test_setting_the_frame_brings_the_playhead_into_view_and_the_scroll_bar_follows(alone):
    tl, state = alone.tl, alone.state
    g = tl.geom
    assert (g.v0, g.v1) == (0, g.n) and _shows_range(tl)
    _zoom_in(tl, 0)
    span = g.span
    assert span < g.n // 2 and g.v0 == 0 and _shows_range(tl)
    state.set_frame(190)  # far right of the visible stretch: it scrolls there
    assert g.v0 <= 190 < g.v1 and g.span == span and g.v0 > 0
    assert _shows_range(tl)
    red = _pixel(tl, g.x(190.5), 4)
    assert red.red() > 200 and red.green() < 120, red.name()  # the playhead is drawn there
    state.set_frame(3)
    assert g.v0 == 0 and _shows_range(tl)
    state.set_frame(5)  # already in view: nothing moves
    assert g.v0 == 0


def test_dragging_the_scroll_bar_pans_and_a_click_beside_the_handle_pages(alone, qtbot):
    tl, state = alone.tl, alone.state
    g, bar = tl.geom, tl.scroll
    _zoom_in(tl, 0)
    span = g.span
    assert bar.isVisible() and tl.rect().contains(bar.geometry())
    handle = _handle(bar)
    assert handle.width() < bar.width() // 2  # zoomed in: the handle is the visible part
    start = handle.center()
    qtbot.mousePress(bar, LEFT, pos=start)
    for k in range(1, 4):
        qtbot.mouseMove(bar, start + QPoint(20 * k, 0))
    qtbot.mouseRelease(bar, LEFT, pos=start + QPoint(60, 0))
    assert g.v0 > 0 and g.span == span and _shows_range(tl)
    assert state.frame == 0  # scrolling looks elsewhere; it does not move the playhead
    # a click in the groove right of the handle: one page (the visible stretch) onwards
    moved = g.v0
    right = _handle(bar).right() + 10
    assert right < bar.width() - 20
    qtbot.mouseClick(bar, LEFT, pos=QPoint(right, bar.height() // 2))
    assert g.v0 == min(g.n - span, moved + span) and _shows_range(tl)


def test_the_wheel_zooms_around_the_pointer_and_a_sideways_wheel_pans(alone):
    tl = alone.tl
    g = tl.geom
    x = g.x(100)
    _wheel(tl, QPointF(x, 40), dy=120)
    assert g.span < g.n
    assert abs(g.pos_at(x) - 100) < 1.0  # frame 100 stays under the pointer
    _wheel(tl, QPointF(x, 40), dy=120)
    span, v0 = g.span, g.v0
    _wheel(tl, QPointF(x, 40), dx=-120)  # sideways, one notch: a tenth of the view onwards
    assert g.span == span and g.v0 == v0 + span // 10 and _shows_range(tl)
    _wheel(tl, QPointF(x, 40), dy=120, modifiers=SHIFT)  # Shift+wheel up: back
    assert g.v0 == v0 and _shows_range(tl)
    for _ in range(30):  # a trackpad's swipe: many small deltas add up
        _wheel(tl, QPointF(x, 40), dx=-8)
    assert g.v0 == v0 + int(30 * 8 / 120 * span / 10) and g.span == span
    _wheel(tl, QPointF(x, 40), dy=-120 * 20)  # far out: the whole video again
    assert (g.v0, g.v1) == (0, g.n) and _shows_range(tl)


def test_a_click_on_the_ruler_sets_the_frame(alone, qtbot):
    tl, state = alone.tl, alone.state
    qtbot.mouseClick(tl, LEFT, pos=QPoint(round(tl.geom.x(77.5)), 8))
    assert state.frame == 77
    qtbot.mouseClick(tl, LEFT, pos=QPoint(LABEL_W // 2, 8))  # the label column: nothing
    assert state.frame == 77


def test_the_current_objects_row_follows_the_view_state(alone):
    tl, session, state = alone.tl, alone.session, alone.state
    bell, drum = (o.id for o in session.objects)
    highlight = QColor("#34373c")

    def lit(oid) -> bool:  # the row's background right of its name, left of the plot
        return _pixel(tl, LABEL_W - 3, tl.geom.row_top(oid) + ROW_H // 2) == highlight

    assert not lit(bell) and not lit(drum)
    state.object_id = drum
    assert lit(drum) and not lit(bell)
    state.object_id = bell
    assert lit(bell) and not lit(drum)


def test_sound_rows_stay_at_a_small_height_and_the_floor_says_how_to_get_them_back(alone,
                                                                                   qtbot):
    tl = alone.tl
    g = tl.geom
    assert tl.sound_heights() == (WAVE_H, SPEC_H)  # its size hint: both whole
    tl.resize(900, tl.height_for(640))  # what a 1024×640 window gives it
    qtbot.waitUntil(lambda: tl.height() == tl.height_for(640), timeout=3000)
    wave_h, spec_h = tl.sound_heights()
    assert wave_h >= WAVE_MIN and spec_h >= SPEC_MIN and g.sound_hint == ""
    tl.repaint()
    qtbot.waitUntil(lambda: tl.audio.images is not None
                    and tl.audio.images[0][3:] == (wave_h - 2, spec_h - 2), timeout=10000)
    # the person drags it lower: it stops at its floor, the spectrogram goes, the rows say so
    tl.resize(900, 40)
    assert tl.height() == tl.minimumHeight() == g.floor_height()
    assert tl.sound_heights() == (WAVE_MIN, 0)
    assert "spectrogram" in g.sound_hint and "drag" in g.sound_hint
    qtbot.mouseMove(tl, QPoint(round(g.x(50)), g.wave_top + 4))
    assert tl.toolTip() == g.sound_hint
    tl.grab()  # it paints the hint
    tl.resize(900, tl.sizeHint().height())  # taller again: the spectrogram comes back
    assert tl.sound_heights() == (WAVE_H, SPEC_H) and g.sound_hint == ""


# -- in the window ---------------------------------------------------------------------------
def _settle(qtbot, win, w: int, h: int) -> None:
    win.resize(w, h)
    qtbot.waitUntil(lambda: win.size().toTuple() == (w, h), timeout=5000)
    qtbot.wait(50)  # the docks settle on the next turns of the event loop


def test_at_1024x640_the_window_shows_the_sound_rows_and_the_scroll_bar(ui, qtbot):
    win = ui.win
    tl = win.timeline
    qtbot.waitUntil(lambda: tl.audio.state == "ready", timeout=30000)
    _settle(qtbot, win, 1024, 640)
    qtbot.waitUntil(lambda: tl.height() == tl.height_for(640), timeout=3000)
    wave_h, spec_h = tl.sound_heights()
    assert wave_h >= WAVE_MIN and spec_h >= SPEC_MIN and tl.geom.sound_hint == ""
    # the scroll bar is on screen, whole, under the rows
    bar = tl.scroll
    assert bar.isVisible() and bar.visibleRegion().boundingRect() == bar.rect()
    assert bar.geometry().top() >= tl.geom.flags_top
    # the frame keeps most of the height
    between = win.height() - win.menuBar().height() - win.toolbar.height() - win.status.height()
    assert win.canvas.height() >= 0.66 * between
    _settle(qtbot, win, 1920, 1080)
    qtbot.waitUntil(lambda: tl.sound_heights() == (WAVE_H, SPEC_H), timeout=3000)


def test_a_person_zooms_drags_the_scroll_bar_and_swipes_sideways(ui, qtbot):
    win = ui.win
    tl = win.timeline
    g, bar = tl.geom, tl.scroll
    qtbot.waitUntil(lambda: tl.audio.state == "ready", timeout=30000)
    _settle(qtbot, win, 1024, 640)
    window = win.windowHandle()

    def at(frame: float, y: float) -> QPointF:  # a point of the timeline, in the window
        return QPointF(tl.mapTo(win, QPoint(round(g.x(frame)), round(y))))

    for _ in range(4):  # the wheel over the timeline zooms
        _wheel(window, at(20, g.rows_top + 5), dy=120)
    assert g.span < g.n // 2 and _shows_range(tl)
    span = g.span
    # drag the scroll bar's handle to the right
    handle = _handle(bar)
    start = handle.center()
    qtbot.mousePress(bar, LEFT, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(bar, start + QPoint(40 * k, 0))
    qtbot.mouseRelease(bar, LEFT, pos=start + QPoint(160, 0))
    assert g.v0 > 0 and g.span == span and _shows_range(tl)
    v0 = g.v0
    # a sideways swipe over the rows: back towards the start
    for _ in range(3):
        _wheel(window, at(g.v0 + span / 2, g.rows_top + 5), dx=120)
    assert g.v0 == max(0, v0 - 3 * (span // 10)) and g.span == span and _shows_range(tl)
    # the wheel over the scroll bar itself scrolls too (the bar's own)
    v0 = g.v0
    _wheel(window, QPointF(bar.mapTo(win, bar.rect().center())), dy=-120)
    assert g.v0 > v0 and g.span == span and _shows_range(tl)
    assert win.state.frame == 0  # none of it moved the playhead


def test_a_segment_that_begins_before_the_view_stops_at_the_plots_edge(alone):
    """Zoomed in on the middle of the bell's first segment (frames 10–65), its box on the bell's
    row and its shade across the sound rows stop where the plot begins: the label column (the
    object's name, "waveform", "spectrogram") keeps its own background, as before the zoom."""
    tl, session, state = alone.tl, alone.session, alone.state
    bell = session.objects[0].id
    state.object_id = bell
    first = session.segments_of(bell)[0]
    g = tl.geom
    row_mid = g.row_top(bell) + ROW_H // 2
    wave_mid = g.wave_top + g.wave_h // 2
    before = (_pixel(tl, LABEL_W - 3, row_mid), _pixel(tl, LABEL_W - 3, wave_mid))
    _zoom_in(tl, (first.start + first.end) / 2, notches=10)
    assert g.v0 > first.start and g.v1 <= first.end  # the segment runs past both edges
    assert _pixel(tl, LABEL_W + 3, row_mid) != before[0]  # the segment is drawn in the plot
    assert (_pixel(tl, LABEL_W - 3, row_mid), _pixel(tl, LABEL_W - 3, wave_mid)) == before
