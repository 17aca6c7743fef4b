"""Adding a segment before there is any object: the segments panel says there are no objects
and how to add one, and opens no dialog (a fresh project of a real video, ../shared/data)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from annotator.gui.dialogs.segment_dialog import SegmentDialog
from tests.gui.conftest import open_window


@pytest.fixture
def fresh(qtbot, tmp_path, shared):
    """The window on a new, empty project of vtest.avi (project in tmp_path)."""
    video = shared("data", "videos", "vtest.avi")
    from annotator.core.project import Project

    Project.create(tmp_path / "vtest.avsproj", video).close()
    win = open_window(qtbot, tmp_path / "vtest.avsproj")
    yield win
    win.close_project()


def _segment_dialogs() -> list:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, SegmentDialog) and w.isVisible()]


def test_add_segment_without_objects_says_how_to_add_one_and_opens_nothing(fresh, qtbot):
    panel = fresh.segments_panel
    qtbot.waitUntil(lambda: fresh.session.tasks.pending == 0)
    seen: list = []

    def close_dialogs() -> None:  # so that a modal dialog (today's main) cannot hang the test
        for dlg in _segment_dialogs():
            seen.append(dlg.times.text())
            dlg.reject()

    QTimer.singleShot(1500, close_dialogs)
    qtbot.mouseClick(panel.add_btn, Qt.MouseButton.LeftButton)
    qtbot.wait(1700)
    assert seen == [] and _segment_dialogs() == []
    text = fresh.status.currentMessage()
    assert "No objects yet" in text and "Objects panel, Add…" in text
    assert fresh.session.store.segments() == []


def test_the_segment_dialog_without_objects_says_so(qtbot):
    dlg = SegmentDialog(None, [], None, 0, 100, lambda f: f / 25)
    qtbot.addWidget(dlg)
    assert "no objects yet" in dlg.times.text()
    assert "Objects panel" in dlg.times.text()
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
