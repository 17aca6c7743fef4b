"""The views of Review ▸ Compare with… alone, fed their state: the scores dialog, the check
view's second list (and its height on a 1024×640 laptop), the canvas's outlines of the other
annotation. The journeys through the window: test_compare.py."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from annotator.demo import FPS, _bell_center
from tests.gui.test_compare import _choose, _rows, _tick

LEFT = Qt.MouseButton.LeftButton


def _tracks(bell_label: str = "bell"):
    """Hand-built GT and prediction of the demo's bell: frames 10–20, the prediction's frame
    15 another disk (IoU about 0.2)."""
    from annotator.core.tracks import Track

    h, w = 360, 640
    yy, xx = np.mgrid[:h, :w]

    def disk(f, dx=0):
        x, y = _bell_center(f / FPS)
        return (xx - x - dx) ** 2 + (yy - y) ** 2 <= 40 ** 2

    gt = Track("demo", bell_label, 10, 20, "bell", disk, lambda _t: None)
    pred = Track("demo", bell_label, 10, 20, "bell",
                 lambda f: disk(f, 55 if f == 15 else 0), lambda _t: None)
    return [gt], [pred]


def test_the_scores_dialog_shows_what_it_is_fed_and_says_what_is_pressed(qtbot):
    from annotator.gui.app import application
    from annotator.gui.dialogs.compare_dialog import CompareDialog
    from annotator.pipeline.evaluate import evaluate

    application()
    dlg = CompareDialog("other.avsproj")
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.progress.format() == "Opening both sides…" and not dlg.walk_btn.isEnabled()
    dlg.show_running(5, 20)
    assert dlg.progress.format() == "Scoring: frame 5 of 20" and dlg.progress.value() == 5
    gt, pred = _tracks()
    scores = evaluate(gt, pred)
    dlg.show_scores(scores, "this", 1, 1)
    assert not dlg.progress.isVisible()
    assert dlg.cell("overall", "m_tIoU") == f"{100 * scores.overall['m_tIoU']:.1f}"
    assert dlg.cell("bell", "n_segments") == "1"
    assert dlg.what.text().startswith("other.avsproj scored against this project")
    pressed: list = []
    dlg.walk.connect(lambda: pressed.append("walk"))
    dlg.again.connect(lambda: pressed.append("again"))
    dlg.reference_changed.connect(pressed.append)
    qtbot.mouseClick(dlg.walk_btn, LEFT)
    qtbot.mouseClick(dlg.again_btn, LEFT)
    _tick(qtbot, dlg.reference)
    assert pressed == ["walk", "again", "other"]
    dlg.show_error("/x/other.avsproj: no such file or folder")
    assert dlg.message.text() == "/x/other.avsproj: no such file or folder"
    assert dlg.table.rowCount() == 0 and not dlg.walk_btn.isEnabled()
    dlg.show_scores(scores, "other", 0, 0)  # nothing disagrees: nothing to walk
    assert not dlg.walk_btn.isEnabled() and dlg.reference.isChecked()



def test_the_check_view_lists_and_walks_a_comparison_beside_the_flags(qtbot, parts):
    from annotator.gui.check_view import CheckView
    from annotator.pipeline.disagreement import compare

    session, state = parts
    bell = session.store.object_by_name("bell").id
    gt, pred = _tracks()
    comp = compare(gt, pred, lambda _t: bell)
    view = CheckView(session, state)
    qtbot.addWidget(view)
    view.show()
    assert not view.source.isVisible() and view.walking == "flags"
    chosen: list[str] = []
    view.source_changed.connect(chosen.append)
    view.set_comparison(comp, "other.avsproj")
    assert view.source.isVisible() and view.walking == "compare" and chosen == ["compare"]
    assert view.tree.headerItem().text(2) == "Where they differ"
    ((name, span, what, score),) = _rows(view.tree)
    assert (name, span, what) == ("bell", "15–15", "masks differ ×1")
    assert score == f"{comp.checks.clips[0].score:.1f}"
    assert view.summary.text() == "1 stretch, 1 frame under IoU 0.9, worst first."
    assert view.summary.toolTip().startswith("1 stretch where other.avsproj disagrees")
    qtbot.mouseClick(view.next_btn, LEFT)
    assert (state.object_id, state.frame) == (bell, 15)
    view.set_comparison_stale()
    assert view.summary.text().endswith("Out of date: compare again.")
    _choose(qtbot, view.source, "Flagged clips")
    assert view.walking == "flags" and chosen == ["compare", "flags"]
    assert view.tree.headerItem().text(2) == "Flags"
    view.set_comparison(None)
    assert not view.source.isVisible() and view.comparison is None


def test_the_canvas_draws_the_other_annotation_only_on_its_frame(qtbot):
    from PySide6.QtGui import QColor

    from annotator.gui.app import application
    from annotator.gui.canvas import Canvas
    from annotator.gui.layers import FrameView, frame_image, mask_layer

    application()
    canvas = Canvas()
    qtbot.addWidget(canvas)
    canvas.resize(200, 200)
    canvas.show()
    canvas.set_view(FrameView(7, frame_image(np.zeros((100, 100, 3), np.uint8))))
    mask = np.zeros((100, 100), bool)
    mask[20:80, 20:80] = True

    def red_pixels() -> int:
        img = canvas.grab().toImage()
        return sum(img.pixelColor(x, y) == QColor(255, 0, 0)
                   for x in range(0, img.width(), 2) for y in range(0, img.height(), 2))

    canvas.set_others([mask_layer(mask, "#ff0000", dashed=True)], 7)
    assert red_pixels() > 20  # the dashed outline of the other's mask
    canvas.set_others([mask_layer(mask, "#ff0000", dashed=True)], 8)  # another frame's
    assert red_pixels() == 0


def test_a_comparison_in_the_check_view_still_fits_a_1024x640_window(window, qtbot):
    """The check view's second list (fed a comparison) takes no more height than the laptop
    has: every button whole, the source chooser whole, the timeline's sound rows shown."""
    from annotator.pipeline.disagreement import compare
    from tests.gui.test_layout import _assert_whole, _dock_buttons, _raise_by_tab, _settle

    win = window
    bell = win.session.store.object_by_name("bell").id
    gt, pred = _tracks()
    win.check_view.set_comparison(compare(gt, pred, lambda _t: bell),
                                  "a-rather-long-project-name-of-another-annotator.avsproj")
    _settle(qtbot, win, 1024, 640)
    assert win.size().toTuple() == (1024, 640)
    _raise_by_tab(qtbot, win, win.docks["check"])
    buttons = _dock_buttons(win.docks["check"])
    assert len(buttons) >= 7
    for b in buttons:
        _assert_whole(b, "check")
    source = win.check_view.source
    assert source.isVisible() and source.visibleRegion().boundingRect() == source.rect()
    assert min(win.timeline.sound_heights()) >= 14
