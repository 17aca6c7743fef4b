"""Review ▸ Compare with… on the real window: the folder typed into the real file dialog, the
scores shown equal to ``pipeline.evaluate`` on the same pair, the check view's list of the
frames where the two disagree walked with F and by clicking its rows, the other side's mask
drawn while walking; a project of another video and an unreadable folder refused, naming them;
the project closed while a comparison runs. The views alone: test_compare_views.py."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog, QLineEdit

from annotator.demo import FPS, _bell_center
from tests.conftest import shared_path
from tests.gui.conftest import _UI

LEFT = Qt.MouseButton.LeftButton
CHANGED = 30  # the frame whose bell mask differs in the other project
SHOWN = ("m_tIoU", "m_vIoU", "m_tF", "m_vF", "J&F", "t_IoU")


def _disk(store, frame: int, dx: int = 0, r: int = 40) -> np.ndarray:
    h, w = store.size_hw
    x, y = _bell_center(frame / FPS)
    yy, xx = np.mgrid[:h, :w]
    return (xx - x - dx) ** 2 + (yy - y) ** 2 <= r * r


@pytest.fixture
def pair(demo_dir):
    """The demo project with the bell drawn on its first segment (frames 10–65), and a copy
    of it, ``other.avsproj``, whose bell on frame 30 is drawn 55 px to the right."""
    from annotator.core.project import Project

    with Project.open(demo_dir) as project:
        st = project.store
        bell = st.object_by_name("bell").id
        st.put_masks([dict(object_id=bell, frame=f, mask=_disk(st, f), source="manual")
                      for f in range(10, 66)])
    other = demo_dir.parent / "other.avsproj"
    shutil.copytree(demo_dir, other)
    with Project.open(other) as project:
        st = project.store
        st.put_mask(bell, CHANGED, _disk(st, CHANGED, dx=55), source="manual")
    return demo_dir, other


@pytest.fixture
def win(qtbot, demo_dir):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()

    def open_(project):
        w.open_path(project)
        qtbot.waitUntil(lambda: w.session is not None and w.canvas.view is not None,
                        timeout=30000)
        return w

    yield open_
    w.close_project()


def _compare_through_the_menu(qtbot, ui, folder) -> list[str]:
    """Review ▸ Compare with…, the folder typed into the real file dialog, Enter; returns the
    folder the dialog started in."""
    started: list[str] = []

    def type_path() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QFileDialog):
            QTimer.singleShot(50, type_path)
            return
        started.append(dlg.directory().absolutePath())
        edit = dlg.findChild(QLineEdit, "fileNameEdit")
        qtbot.wait(300)  # the folder listing loads in the background and may select a row
        edit.selectAll()
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
        qtbot.keyClicks(edit, str(folder))
        qtbot.keyClick(QApplication.focusWidget() or edit, Qt.Key.Key_Return)
        if dlg.isVisible():
            qtbot.keyClick(edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, type_path)
    ui.menu_action("Review", "Compare with").trigger()  # returns once the dialog is closed
    return started


def _rows(tree) -> list[tuple[str, ...]]:
    return [tuple(tree.topLevelItem(i).text(c) for c in range(4))
            for i in range(tree.topLevelItemCount())]


def test_compare_with_shows_the_scores_and_walks_to_the_frame_that_differs(qtbot, pair, win):
    from annotator.pipeline.evaluate import evaluate
    from annotator.pipeline.track_sources import open_tracks

    mine, other = pair
    w = win(mine)
    ui = _UI(qtbot, w)
    bell = ui.store.object_by_name("bell").id
    w.state.set_frame(0)
    started = _compare_through_the_menu(qtbot, ui, other)
    assert started == [str(mine.parent)]  # beside the project, like the other file dialogs
    dlg = w.compare.dialog
    assert dlg is not None and dlg.isVisible()
    qtbot.waitUntil(lambda: dlg.table.rowCount() > 0, timeout=30000)
    with open_tracks(mine) as gt, open_tracks(other) as pred:
        want = evaluate(gt, pred)
    for key in SHOWN:
        assert dlg.cell("overall", key) == f"{100 * want.overall[key]:.1f}", key
    assert dlg.cell("overall", "n_segments") == str(want.n_segments) == "3"
    assert sorted(want.per_category) == ["bell", "drum"]
    for cat, d in want.per_category.items():
        for key in SHOWN:
            assert dlg.cell(cat, key) == f"{100 * d[key]:.1f}", (cat, key)
        assert dlg.cell(cat, "n_segments") == str(d["n_segments"])
    assert want.overall["m_tIoU"] < 1.0  # the changed frame costs something
    # the check view now lists where the two disagree: the one changed frame
    cv = w.check_view
    assert w.docks["check"].isVisible() and cv.walking == "compare"
    assert cv.source.isVisible() and cv.source.currentText() == "Compared: other.avsproj"
    assert [r[:3] for r in _rows(cv.tree)] == [("bell", f"{CHANGED}–{CHANGED}",
                                                 "masks differ ×1")]
    assert cv.next_btn.text() == "Next disagreement (F) ▶"
    # the person closes the scores and walks the list with F, as with the flags
    _close(qtbot, w)
    ui.key(Qt.Key.Key_F)
    ui.idle()
    assert (w.state.frame, w.state.object_id) == (CHANGED, bell)
    assert cv.tree.currentItem() is cv.tree.topLevelItem(0)
    iou = w.compare.result.iou[(bell, CHANGED)]
    assert iou < 0.5
    assert w.status.currentMessage() == (f"Frame {CHANGED}, bell: IoU {iou:.2f} with "
                                         "other.avsproj (its masks dashed)")
    # the other project's bell is drawn (dashed) over this one's on that frame
    qtbot.waitUntil(lambda: w.canvas.others_frame == CHANGED and len(w.canvas.others) == 1,
                    timeout=10000)
    layer = w.canvas.others[0]
    x, _y = _bell_center(CHANGED / FPS)
    assert layer.x > x - 40  # the other's disk, 55 px to the right of this one's
    # moving on: the outline follows the frame (there is none on frame 0)
    ui.key(Qt.Key.Key_Home)
    ui.idle()
    qtbot.waitUntil(lambda: w.canvas.others_frame == 0 and w.canvas.others == [],
                    timeout=10000)
    # a click on the row goes back to that frame and object
    rect = cv.tree.visualItemRect(cv.tree.topLevelItem(0))
    qtbot.mouseClick(cv.tree.viewport(), LEFT, pos=rect.center())
    ui.idle()
    assert (w.state.frame, w.state.object_id) == (CHANGED, bell)
    # an edit here makes the list out of date, and it says so
    ui.key(Qt.Key.Key_Delete)  # the bell's mask on this frame
    ui.idle()
    qtbot.waitUntil(lambda: "Out of date: compare again" in cv.summary.text(),
                    timeout=10000)
    # back to the flagged clips: F walks them again (there are none here)
    _choose(qtbot, cv.source, "Flagged clips")
    assert cv.walking == "flags" and _rows(cv.tree) == []
    qtbot.waitUntil(lambda: w.canvas.others == [], timeout=10000)
    ui.key(Qt.Key.Key_F)
    assert w.state.frame == CHANGED
    assert w.status.currentMessage() == "No flagged frames."


def _close_button(dlg):
    from PySide6.QtWidgets import QDialogButtonBox

    box = dlg.findChild(QDialogButtonBox)
    return box.button(QDialogButtonBox.StandardButton.Close)


def _choose(qtbot, combo: QComboBox, text: str) -> None:
    """Pick ``text`` in ``combo`` with the keyboard, as a person does (focus, arrows)."""
    combo.setFocus()
    target = combo.findText(text)
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, Qt.Key.Key_Up if combo.currentIndex() > target else Qt.Key.Key_Down)


def test_the_reference_can_be_swapped_in_the_dialog(qtbot, pair, win):
    from annotator.pipeline.evaluate import evaluate
    from annotator.pipeline.track_sources import open_tracks

    mine, other = pair
    w = win(mine)
    ui = _UI(qtbot, w)
    _compare_through_the_menu(qtbot, ui, other)
    dlg = w.compare.dialog
    qtbot.waitUntil(lambda: dlg.table.rowCount() > 0, timeout=30000)
    _tick(qtbot, dlg.reference)
    qtbot.waitUntil(lambda: dlg.table.rowCount() > 0 and dlg.reference.isEnabled()
                    and "this project scored against other.avsproj" in dlg.what.text(),
                    timeout=30000)
    with open_tracks(mine) as a, open_tracks(other) as b:
        want = evaluate(b, a)
    for key in SHOWN:
        assert dlg.cell("overall", key) == f"{100 * want.overall[key]:.1f}", key
    assert "the reference: other.avsproj" in w.check_view.summary.toolTip()
    assert w.check_view.comparison.checks.clips[0].worst_frame == CHANGED
    # Walk: the check view, on the worst frame, the window in front for F
    w.state.set_frame(0)
    qtbot.mouseClick(dlg.walk_btn, LEFT)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    bell = ui.store.object_by_name("bell").id
    assert (w.state.frame, w.state.object_id) == (CHANGED, bell)
    # Compare again: the same numbers, read again (nothing changed)
    before = w.compare.result
    qtbot.mouseClick(dlg.again_btn, LEFT)
    qtbot.waitUntil(lambda: w.compare.result is not before and w.compare.result is not None,
                    timeout=30000)
    assert w.compare.result.scores.overall == want.overall
    assert dlg.cell("overall", "m_tIoU") == f"{100 * want.overall['m_tIoU']:.1f}"


def test_a_project_of_another_video_is_refused_naming_it(qtbot, pair, win, tmp_path):
    from annotator.core.project import Project

    mine, _other = pair
    frames = shared_path("data", "davis2016", "bmx-bumps", "JPEGImages")
    bmx = tmp_path / "bmx.avsproj"
    Project.create(bmx, frames).close()
    w = win(mine)
    ui = _UI(qtbot, w)
    _compare_through_the_menu(qtbot, ui, bmx)
    dlg = w.compare.dialog
    qtbot.waitUntil(lambda: dlg.message.text() != "", timeout=30000)
    text = dlg.message.text()
    assert text.startswith(f"{bmx}: a project of another video (90 frames of 854×480; this "
                           "video has 200 frames of 640×360)")
    assert "\n" not in text and dlg.table.rowCount() == 0 and not dlg.walk_btn.isEnabled()
    assert w.status.currentMessage() == text and w.status.level == "error"  # the same line
    assert w.check_view.walking == "flags" and not w.check_view.source.isVisible()
    # an unreadable folder: the same one line, naming it
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "seg_train.json").write_text("{not json")
    _close(qtbot, w)
    _compare_through_the_menu(qtbot, ui, junk)
    dlg = w.compare.dialog
    qtbot.waitUntil(lambda: dlg.message.text() != "", timeout=30000)
    assert dlg.message.text().startswith(f"{junk / 'seg_train.json'}: not an LU-AVS annotation "
                                         "file")


def _close(qtbot, w) -> None:
    """Close the scores dialog with its button; the window comes forward again."""
    qtbot.mouseClick(_close_button(w.compare.dialog), LEFT)
    qtbot.waitUntil(lambda: w.compare.dialog is None and QApplication.activeWindow() is w)


def _tick(qtbot, box) -> None:
    """Click a check box on its box (its centre may lie beyond its text)."""
    from PySide6.QtWidgets import QStyle, QStyleOptionButton

    opt = QStyleOptionButton()
    opt.initFrom(box)
    rect = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, opt, box)
    qtbot.mouseClick(box, LEFT, pos=rect.center())


def test_closing_the_project_during_a_comparison_stops_it_and_says_nothing(qtbot, pair, win,
                                                                            monkeypatch):
    """A fake delay stands in for a long video: the real evaluation waits for ``go`` before
    it starts (so that the project closes while the comparison is in flight on any machine);
    everything it then does is the real code's."""
    import threading

    from annotator.pipeline import disagreement, track_sources

    mine, other = pair
    reached, go = threading.Event(), threading.Event()
    real = disagreement.evaluate
    sources = []

    def gated(*args, **kwargs):
        reached.set()
        go.wait(60)
        return real(*args, **kwargs)

    opened = track_sources.open_same_video

    def remember(*args, **kwargs):
        src = opened(*args, **kwargs)
        sources.append(src)
        return src

    monkeypatch.setattr(disagreement, "evaluate", gated)
    monkeypatch.setattr(track_sources, "open_same_video", remember)
    w = win(mine)
    ui = _UI(qtbot, w)
    try:
        _compare_through_the_menu(qtbot, ui, other)
        qtbot.waitUntil(reached.is_set, timeout=30000)
        ui.menu_action("File", "Close project").trigger()
        qtbot.waitUntil(lambda: w.session is None, timeout=30000)
        assert w.compare.dialog is None and w.compare.result is None
    finally:
        go.set()
    qtbot.waitUntil(lambda: sources and sources[0].closed, timeout=30000)
    qtbot.wait(200)
    assert w.compare.result is None and w.status.level != "error"
    assert w.check_view is None
