"""A dataset from start to deliverable, pressed as people press it (issue 27): ann opens the
dataset (Ctrl+Shift+O, the folder dialog), Next opens her video (rollerblade), she annotates its
second segment (a click where DAVIS-2016's ground truth has the skater, Enter), Back to the
dataset shows the mask in the table; rita (her name typed into Preferences) double-clicks the
row, turns Review ▸ Reviewer mode on and asks for work with a comment on frame 25; a lead
assigns motorbike to ann too, yet ann's Next opens rollerblade first (needs work), the check
view lists the request first, F goes to its frame, a click and Enter fix it; rita approves;
``annotator dataset export --format coco --approved-only`` holds that segment, approved by rita.
The dataset, its videos, the engines (the weight-free fallbacks) and the stores are real."""

from __future__ import annotations

import json

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from annotator import settings
from annotator.cli import main
from tests.dataset.conftest import build, sequence
from tests.gui.conftest import _UI
from tests.gui.test_dataset_window import _cli, _opened, _press, _window
from tests.gui.test_review_journey import _first_row, _menu_click, _my_name
from tests.person import next_click

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
COMMENT = "the skates are missing"


@pytest.fixture(autouse=True)
def _fresh_settings():
    settings.reload()
    yield
    settings.reload()


def _row(view, vid: str) -> int:
    return next(r for r in range(view.proxy.rowCount()) if view.row_at(r)["video_id"] == vid)


def _cell(view, vid: str, column: int) -> str:
    return view.proxy.index(_row(view, vid), column).data()


def _click_skater(ui, shared, frame: int) -> None:
    """A click where the skater is on ``frame`` (its DAVIS ground truth), then Enter."""
    truth = cv2.imread(str(sequence(shared, "rollerblade") / "Annotations"
                           / f"{frame:05d}.png"), cv2.IMREAD_GRAYSCALE) > 0
    x, y, positive = next_click(None, truth)
    assert positive
    ui.click(x, y)
    ui.idle()
    ui.key(Qt.Key.Key_Return)
    ui.idle()


def _active(qtbot, win) -> None:
    """The window active again (after a dialog), so that its shortcuts take keys."""
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)


def _back(qtbot, win) -> None:
    _active(qtbot, win)
    _press(qtbot, win, Qt.Key.Key_Up)  # Ctrl+Shift+Up: Back to the dataset
    qtbot.waitUntil(lambda: win.session is None and win.datasets.showing, timeout=30000)


def test_dataset_annotate_review_fix_approve_export(qtbot, tmp_path, shared, monkeypatch):
    from annotator.core.dataset import Dataset
    from annotator.core.review import segment_reviews

    root = build(tmp_path / "ds", shared, _cli)
    with Dataset.open(root) as ds:
        ds.assign("ann", ["rollerblade"])
    win = _window(qtbot)
    ui, view = _UI(qtbot, win), win.datasets.view
    _my_name(qtbot, win, "ann")
    _active(qtbot, win)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(root))
    _press(qtbot, win, Qt.Key.Key_O)  # Ctrl+Shift+O: File ▸ Open dataset…
    qtbot.waitUntil(lambda: win.datasets.showing and view.proxy.rowCount() == 3, timeout=30000)
    try:
        # ann: Next, the second segment (no mask yet), a click on the skater, Enter
        qtbot.mouseClick(view.next_button, LEFT)
        _opened(qtbot, win, "rollerblade")
        skater = ui.store.object_by_name("skater").id
        seg = next(s for s in ui.store.segments(skater) if s.start == 25)
        ui.go_to_segment(seg.id)
        assert (win.state.frame, win.state.object_id) == (25, skater)
        _click_skater(ui, shared, 25)
        assert ui.store.mask_count() == 2  # the imported frame 0 and hers
        _back(qtbot, win)
        # the table, read afresh: 2 of its 30 segment frames have a mask
        qtbot.waitUntil(lambda: _cell(view, "rollerblade", 3) == "7 %", timeout=10000)
        r = _row(view, "rollerblade")

        # rita: her name, a double-click on the row, Reviewer mode, Needs work… on frame 25
        _my_name(qtbot, win, "rita")
        rect = view.table.visualRect(view.proxy.index(r, 0))
        qtbot.mouseClick(view.table.viewport(), LEFT, pos=rect.center())
        qtbot.mouseDClick(view.table.viewport(), LEFT, pos=rect.center())
        _opened(qtbot, win, "rollerblade")
        cv = win.check_view
        _active(qtbot, win)
        _menu_click(qtbot, win, "&Review", "reviewer_mode")
        ui.go_to_segment(seg.id)
        assert win.state.frame == 25
        qtbot.mouseClick(cv.needs_work_btn, LEFT)
        qtbot.waitUntil(lambda: win.reviewer.dialog is not None
                        and win.reviewer.dialog.isVisible(), timeout=5000)
        dlg = win.reviewer.dialog
        assert dlg.frame.value() == 25
        qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.comment, timeout=5000)
        qtbot.keyClicks(QApplication.focusWidget(), COMMENT)
        qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
        qtbot.waitUntil(lambda: _first_row(cv).startswith("needs work (rita)"), timeout=10000)
        _menu_click(qtbot, win, "&Review", "reviewer_mode")  # off
        _back(qtbot, win)
        qtbot.waitUntil(lambda: _cell(view, "rollerblade", 5) == "needs work", timeout=10000)

        # a lead gives ann motorbike too (first by name); her Next still opens rollerblade
        with Dataset.open(root) as ds:
            ds.assign("ann", ["motorbike"])
        _my_name(qtbot, win, "ann")
        qtbot.mouseClick(view.next_button, LEFT)
        _opened(qtbot, win, "rollerblade")
        cv = win.check_view
        _active(qtbot, win)
        ui.idle()
        _press(qtbot, win, Qt.Key.Key_Home, NONE)  # the window opens where rita left it
        ui.idle()
        assert win.state.frame == 0 and COMMENT not in win.canvas.remark
        _press(qtbot, win, Qt.Key.Key_F, NONE)  # the check view, its first item: the request
        ui.idle()
        assert _first_row(cv).startswith("needs work (rita)") and COMMENT in _first_row(cv)
        assert (win.state.frame, win.state.object_id) == (25, skater)
        assert COMMENT in win.canvas.remark
        _click_skater(ui, shared, 25)
        qtbot.waitUntil(lambda: _first_row(cv).startswith("needs work, fixed since (rita)"),
                        timeout=60000)
        assert ui.store.history(1)[0].author == "ann"

        # rita approves it
        _my_name(qtbot, win, "rita")
        _active(qtbot, win)
        _menu_click(qtbot, win, "&Review", "reviewer_mode")
        item = cv.tree.topLevelItem(0)
        qtbot.mouseClick(cv.tree.viewport(), LEFT, pos=cv.tree.visualItemRect(item).center())
        ui.idle()
        assert win.state.frame == 25
        qtbot.mouseClick(cv.approve_btn, LEFT)
        qtbot.waitUntil(lambda: not _first_row(cv).startswith(("needs work", "changed")),
                        timeout=10000)
        review = segment_reviews(ui.store)[seg.id]
        assert (review.state, review.by) == ("approved", "rita")
        _menu_click(qtbot, win, "&Review", "reviewer_mode")  # off
        _back(qtbot, win)
        # the video is no longer sent back; its first segment is not reviewed yet
        qtbot.waitUntil(lambda: _cell(view, "rollerblade", 5) == "partly approved (1 of 2)",
                        timeout=10000)
    finally:
        win.close_project(ask=False)

    out = tmp_path / "out"
    assert main(["dataset", "export", str(root), "--format", "coco", "-o", str(out),
                 "--approved-only"]) == 0
    data = json.loads((out / "instances_train.json").read_text())
    assert [(s["video_id"], s["start_frame"]) for s in data["audible_segments"]] \
        == [("rollerblade", 25)]
    anns = data["annotations"]
    assert anns and {(a["video_id"], a["attributes"]["review"], a["attributes"]["reviewed_by"])
                     for a in anns} == {("rollerblade", "approved", "rita")}
    images = {im["id"]: im for im in data["images"]}
    assert [(images[a["image_id"]]["file_name"], images[a["image_id"]]["frame_index"])
            for a in anns] == [("rollerblade/00025.jpg", 25)]  # the mask she fixed
