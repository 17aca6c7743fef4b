"""Segments ▸ Add… with a span that overlaps the same object's segment: the store refuses it
(the segment rule, annotator.core.segments), the status bar names both spans, and nothing is
stored (the demo project: the bell sounds on frames 10–65 and 120–180)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from annotator.gui.dialogs.segment_dialog import SegmentDialog

LEFT = Qt.MouseButton.LeftButton


def test_add_overlapping_the_same_objects_segment_is_refused_naming_both_spans(ui, qtbot):
    win, panel = ui.win, ui.win.segments_panel
    bell = ui.store.object_by_name("bell").id
    before = [(s.start, s.end) for s in ui.store.segments(bell)]
    assert before[0] == (10, 65)
    ui.key(Qt.Key.Key_1)  # the bell
    qtbot.waitUntil(lambda: win.state.object_id == bell, timeout=5000)
    qtbot.mouseClick(panel.add_btn, LEFT)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, SegmentDialog), timeout=5000)
    dlg = panel.dialog
    assert dlg.values()[0] == bell
    dlg.start.selectAll()
    qtbot.keyClicks(dlg.start, "15")
    dlg.end.selectAll()
    qtbot.keyClicks(dlg.end, "70")
    assert dlg.values() == (bell, 15, 70)
    # the dialog says it as the frames are typed, naming both spans, and OK waits
    text = dlg.times.text()
    assert "15–70" in text and "bell's segment 10–65" in text, text
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    qtbot.mouseClick(ok, LEFT)
    qtbot.keyClick(dlg.end, Qt.Key.Key_Return)  # Enter does not get past it either
    assert dlg.isVisible()
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Cancel), LEFT)
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(bell)] == before
    # without the dialog's check (the panel asked for the span directly) the store refuses
    # it, in the same words, on the status bar
    panel.add(bell, 12, 20)
    qtbot.waitUntil(lambda: "overlap" in win.status.currentMessage(), timeout=10000)
    ui.idle()
    text = win.status.currentMessage()
    assert "12–20" in text and "bell's segment 10–65" in text, text
    assert [(s.start, s.end) for s in ui.store.segments(bell)] == before

    # the drum's segment 50–140 does not stand in the bell's way: frames of its own are free
    qtbot.mouseClick(panel.add_btn, LEFT)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, SegmentDialog), timeout=5000)
    dlg = panel.dialog
    dlg.start.selectAll()
    qtbot.keyClicks(dlg.start, "66")
    dlg.end.selectAll()
    qtbot.keyClicks(dlg.end, "119")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(bell)] == [(10, 65), (66, 119),
                                                                   (120, 180)]


def test_the_add_segment_dialog_is_wide_enough_for_its_title_and_a_one_line_span(ui, qtbot):
    """Add… in the Segments panel: the dialog's title and the span under the frames fit (it
    opened about 200 px wide: the window manager cut the title to "Add an…otator" and the span
    "0.00 s – 2.00 s, 51 frames" broke over two lines)."""
    panel = ui.win.segments_panel
    ui.key(Qt.Key.Key_End)  # the last frame, then ten back: frames 189–199 are free
    ui.key(Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: ui.win.state.frame == 189, timeout=5000)
    qtbot.mouseClick(panel.add_btn, LEFT)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, SegmentDialog), timeout=5000)
    dlg = panel.dialog
    qtbot.waitExposed(dlg)
    metrics = dlg.fontMetrics()
    assert "frames" in dlg.times.text()
    lines = dlg.times.heightForWidth(dlg.times.width()) / metrics.lineSpacing()
    assert lines < 1.5, dlg.times.text()  # the span on one line
    title = f"{dlg.windowTitle()} — AVS Annotator"
    assert dlg.width() >= metrics.horizontalAdvance(title) + 100  # + the title bar's buttons
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Cancel), LEFT)
