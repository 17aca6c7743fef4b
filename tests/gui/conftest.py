"""Fixtures for the GUI tests: offscreen Qt, private settings, a window with the demo project
open (the demo itself is in tests/conftest.py), and `_UI`, which drives it as a person does."""

from __future__ import annotations

import itertools
import os
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    """Every test gets its own QSettings file (never the person's own)."""
    monkeypatch.setenv("AVS_ANNOTATOR_SETTINGS", str(tmp_path / "settings.ini"))
    # no model files unless a test puts some there: the fallback engines, as in a fresh install
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AVS_ANNOTATOR_LOG_DIR", str(tmp_path / "logs"))  # never the person's log
    # projects of videos in read-only folders go under the data folder: never the person's own
    monkeypatch.setenv("AVS_ANNOTATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")




def open_window(qtbot, project, size: tuple[int, int] = (1280, 800)):
    """A main window of ``size``, shown, with ``project`` opened as File ▸ Open does, once its
    session and first frame are there. The caller closes the project."""
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    win.open_path(project)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    return win


@pytest.fixture
def window(qtbot, demo_dir):
    """The main window with the demo project open (and closed after the test)."""
    win = open_window(qtbot, demo_dir)
    yield win
    win.close_project()


@pytest.fixture
def parts(qtbot, demo_dir):
    """(session, state) on the demo project; closed after the test."""
    from annotator.gui.app import application
    from annotator.gui.session import ProjectSession
    from annotator.gui.view_state import ViewState
    from annotator.pipeline.opening import open_project

    application()
    session = ProjectSession(*open_project(demo_dir))
    state = ViewState()
    state.reset(session.frame_count)
    yield session, state
    session.close()


class _UI:
    """Drive the window as a person would, and wait for its workers without blocking Qt."""

    def __init__(self, qtbot, win):
        self.qtbot = qtbot
        self.win = win

    @property
    def store(self):
        return self.win.session.store

    def idle(self, timeout: int = 30000) -> None:
        """Wait (processing events) until no write, job or frame load is pending."""
        s = self.win.session
        self.qtbot.waitUntil(lambda: s.serial.pending == 0 and s.job is None
                             and s.tasks.pending == 0 and not self.win.feed.loading,
                             timeout=timeout)

    def click(self, x: float, y: float, positive: bool = True) -> None:
        from PySide6.QtCore import Qt

        pos = self.win.canvas.to_widget(x, y).toPoint()
        button = Qt.MouseButton.LeftButton if positive else Qt.MouseButton.RightButton
        self.qtbot.mouseClick(self.win.canvas, button, pos=pos)

    def key(self, key, modifier=None) -> None:
        from PySide6.QtCore import Qt

        self.qtbot.keyClick(self.win.canvas, key, modifier or Qt.KeyboardModifier.NoModifier)

    def trigger(self, name: str) -> None:
        self.win.actions_[name].trigger()

    def menu_action(self, *path: str):
        """The action at ``path`` in the menu bar: menu titles, then the entry's text (each
        matched without its ``&`` and from its start), e.g. ``("File", "Export", "COCO")``."""
        def plain(text: str) -> str:
            return text.replace("&", "")

        actions = self.win.menuBar().actions()
        for i, name in enumerate(path):
            act = next((a for a in actions if plain(a.text()).startswith(name)), None)
            assert act is not None, f"no {name!r} in {[plain(a.text()) for a in actions]}"
            if i == len(path) - 1:
                return act
            actions = act.menu().actions()
        raise AssertionError(path)

    def go_to_segment(self, segment_id: int, wait: bool = True) -> None:
        """Double-click the segment's row in the Segments panel (its first frame, its object
        selected, the canvas focused for clicks)."""
        from PySide6.QtCore import Qt

        panel = self.win.segments_panel
        panel.select(segment_id)
        table = panel.table
        rect = table.visualRect(table.currentIndex())
        # a double click is a press, a release, then the second press (Qt wants the first)
        self.qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        self.qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        if wait:
            self.idle()

    def select_object(self, object_id: int) -> None:
        """Click the object's row in the Objects panel."""
        from PySide6.QtCore import Qt

        tree = self.win.objects_panel.tree
        for i in range(tree.topLevelItemCount()):
            item = tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == object_id:
                rect = tree.visualItemRect(item)
                self.qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                                      pos=rect.center())
                return
        raise AssertionError(f"object {object_id} is not listed")

    def bell(self):
        """(object id, first segment) of the demo's bell."""
        oid = self.store.object_by_name("bell").id
        return oid, self.store.segments(oid)[0]

    def anchor_bell(self):
        """Stage 1 on the bell's first segment as a person does it: select the segment, press
        Annotate, click the bell, press Enter. Returns (object id, segment)."""
        from PySide6.QtCore import Qt

        from annotator.demo import FPS, _bell_center

        oid, seg = self.bell()
        self.win.segments_panel.select(seg.id)
        self.qtbot.mouseClick(self.win.segments_panel.go_btn, Qt.MouseButton.LeftButton)
        self.idle()
        x, y = _bell_center(seg.start / FPS)
        self.click(float(x), float(y))
        self.idle()
        self.key(Qt.Key.Key_Return)
        self.idle()
        return oid, seg


@pytest.fixture
def ui(qtbot, window):
    return _UI(qtbot, window)


@pytest.fixture
def gate_fallback(monkeypatch):
    """``gate_fallback(n)`` wraps the real fallback propagator's ``step`` so that its n-th call
    (0-based) waits for ``go`` (at most 60 s): a fake delay, so that a person's edits land
    while the job runs on any machine; the engine itself computes every mask. Returns
    ``(reached, go)``; every gate is opened when the test ends."""
    from annotator.engines.fallback_propagator import FallbackPropagator

    opened: list[threading.Event] = []

    def install(at: int) -> tuple[threading.Event, threading.Event]:
        reached, go = threading.Event(), threading.Event()
        real = FallbackPropagator.step
        calls = itertools.count()

        def gated(self, frame, given=None, active=None):
            if next(calls) == at:
                reached.set()
                go.wait(60)
            return real(self, frame, given, active)

        monkeypatch.setattr(FallbackPropagator, "step", gated)
        opened.append(go)
        return reached, go

    yield install
    for go in opened:
        go.set()
