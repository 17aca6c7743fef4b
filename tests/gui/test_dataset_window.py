"""The dataset window: File ▸ Open dataset… shows the table of every video (sortable,
filterable, a progress bar over the dataset); a double-click opens a video's project in the
same window, *Back to the dataset* returns to the table, *Next* opens the next unfinished video
assigned to the person. The dataset is real: three DAVIS-2016 sequences from ../shared/data
made into a dataset with the dataset's own commands and API (tests/dataset/conftest.py), with
real masks on dog-agility (all frames) and rollerblade (frame 0)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from annotator import settings
from annotator.cli import main
from tests.dataset.conftest import build


def _cli(*args):
    return main([str(a) for a in args]), "", ""


@pytest.fixture
def dataset(tmp_path, shared):
    """The three-video dataset; ann has rollerblade, motorbike and (finished) dog-agility."""
    from annotator.core.dataset import Dataset

    root = build(tmp_path / "ds", shared, _cli)
    with Dataset.open(root) as ds:
        ds.assign("ann", ["rollerblade", "motorbike", "dog-agility"])
    settings.remember("person.name", "ann")
    return root


def _window(qtbot):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    return win


def _press(qtbot, win, key, mods=Qt.KeyboardModifier.ControlModifier
           | Qt.KeyboardModifier.ShiftModifier):
    qtbot.keyClick(win.focusWidget() or win, key, mods)


def _opened(qtbot, win, name: str) -> None:
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None
                    and win.session.project.dir.name == name, timeout=30000)
    assert not win.datasets.showing


def test_the_table_model_shows_sorts_and_filters_rows(qtbot):
    """Widget level: the view fed rows by hand (as status_rows gives them) shows them, sorts
    by a heading clicked and filters by what is typed."""
    from annotator.gui.dataset_table import COLUMNS, DatasetView

    view = DatasetView()
    qtbot.addWidget(view)
    view.resize(1000, 400)
    view.show()
    rows = [{"video_id": "b", "project": "/x/b", "frames": 90, "segments": 2, "masks": 30,
             "flagged": 3, "review": "needs work", "assignee": "ann", "active_s": 3725.0,
             "segment_frames": 60, "todo_frames": 30},
            {"video_id": "a", "project": "/x/a", "frames": 40, "segments": 1, "masks": 40,
             "flagged": 0, "review": "approved", "assignee": "bob", "active_s": 0.0,
             "segment_frames": 40, "todo_frames": 0},
            {"video_id": "c", "project": "/x/c", "frames": None, "segments": None,
             "masks": None, "flagged": None, "review": "none", "assignee": None,
             "active_s": 0.0, "segment_frames": None, "todo_frames": None,
             "error": "/x/c: no project there"}]
    view.set_rows("/x", rows)
    assert view.proxy.rowCount() == 3
    heads = [view.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(len(COLUMNS))]
    assert heads == ["Video", "Frames", "Segments", "Masks done", "Flagged", "Review",
                     "Assignee", "Active time"]
    cells = [[view.proxy.index(r, c).data() for c in range(len(COLUMNS))] for r in range(3)]
    assert cells[0] == ["a", "40", "1", "100 %", "0", "approved", "bob", "0:00:00"]
    assert cells[1] == ["b", "90", "2", "50 %", "3", "needs work", "ann", "1:02:05"]
    assert cells[2][0] == "c" and cells[2][3] == ""
    assert view.proxy.index(2, 0).data(Qt.ItemDataRole.ToolTipRole) == "/x/c: no project there"
    assert (view.progress.value(), view.progress.maximum()) == (70, 100)  # c is unreadable
    # a click on the "Masks done" heading sorts by the share (ascending: no share first)
    header = view.table.horizontalHeader()
    x = header.sectionViewportPosition(3) + header.sectionSize(3) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=header.viewport().rect().center().__class__(x, 5))
    assert [view.row_at(r)["video_id"] for r in range(3)] == ["c", "b", "a"]
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=header.viewport().rect().center().__class__(x, 5))
    assert [view.row_at(r)["video_id"] for r in range(3)] == ["a", "b", "c"]
    qtbot.keyClicks(view.filter, "ANN")  # any column, any case
    assert view.proxy.rowCount() == 1 and view.row_at(0)["video_id"] == "b"


def test_open_dataset_double_click_back_and_next(qtbot, dataset, monkeypatch):
    """The journey: File ▸ Open dataset (the folder dialog filled), the table, a filter
    typed, a double-click on a row, Back to the dataset, Next (twice)."""
    win = _window(qtbot)
    view = win.datasets.view
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(dataset))
    _press(qtbot, win, Qt.Key.Key_O)  # Ctrl+Shift+O: File ▸ Open dataset…
    qtbot.waitUntil(lambda: win.datasets.showing and view.proxy.rowCount() == 3, timeout=30000)
    try:
        ids = [view.row_at(r)["video_id"] for r in range(3)]
        assert ids == ["dog-agility", "motorbike", "rollerblade"]
        done = {view.row_at(r)["video_id"]: view.proxy.index(r, 3).data() for r in range(3)}
        assert done == {"dog-agility": "100 %", "motorbike": "0 %", "rollerblade": "3 %"}
        assert [view.proxy.index(r, 6).data() for r in range(3)] == ["ann"] * 3
        assert (view.progress.value(), view.progress.maximum()) == (25 + 1, 25 + 30 + 43)
        assert "(dataset)" in win.windowTitle()
        # type in the filter, double-click the one row left
        view.filter.setFocus()
        qtbot.keyClicks(view.filter, "roller")
        assert view.proxy.rowCount() == 1
        rect = view.table.visualRect(view.proxy.index(0, 0))
        # a double click is a press, a release, then the second press (Qt wants the first)
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        _opened(qtbot, win, "rollerblade")
        assert win.session.store.mask_count() == 1
        # Back to the dataset: the project closes, the table is shown again
        _press(qtbot, win, Qt.Key.Key_Up)  # Ctrl+Shift+Up
        qtbot.waitUntil(lambda: win.session is None and win.datasets.showing, timeout=30000)
        qtbot.keyClick(view.filter, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(view.filter, Qt.Key.Key_Backspace)
        assert view.proxy.rowCount() == 3
        # Next: the first unfinished video of ann's (dog-agility is done) …
        qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
        _opened(qtbot, win, "motorbike")
        # … and from inside a project, the next one after it
        win.activateWindow()
        _press(qtbot, win, Qt.Key.Key_Right)  # Ctrl+Shift+Right: Next video of the dataset
        _opened(qtbot, win, "rollerblade")
        _press(qtbot, win, Qt.Key.Key_Right)  # motorbike is still unfinished: back to it
        _opened(qtbot, win, "motorbike")
    finally:
        win.close_project(ask=False)


def test_a_dataset_folder_given_to_open_shows_its_table(qtbot, dataset):
    """The window's open path (File ▸ Open project…, the command-line argument, a drop)
    given a dataset folder or its dataset.avsds shows the dataset's table; Next with nothing
    left says so."""
    from annotator.core.dataset import Dataset

    with Dataset.open(dataset) as ds:
        ds.assign("bob", ["rollerblade", "motorbike"])  # ann keeps only the finished one
    win = _window(qtbot)
    win.open_path(Path(dataset) / "dataset.avsds")  # the database itself: its folder
    qtbot.waitUntil(lambda: win.datasets.showing and win.datasets.view.proxy.rowCount() == 3,
                    timeout=30000)
    qtbot.mouseClick(win.datasets.view.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "No unfinished video" in win.status.currentMessage(), timeout=30000)
    assert "assigned to ann" in win.status.currentMessage()
    assert win.session is None
