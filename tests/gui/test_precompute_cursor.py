"""The frame under the cursor is embedded before the rest of the background queue."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from annotator.engines.segmenter import frame_key


class RecordingSegmenter:
    """FAKE segmenter: records which frames the real precompute queue embeds, taking 1 s
    each (this test is about the window → session → queue wiring, not about SAM)."""

    is_fallback = False
    name = "Recording segmenter (test fake)"

    def __init__(self) -> None:
        self.frames: list[int] = []

    def embed(self, frame, key=None):
        return "memory"

    def precompute(self, image, key=None, should_stop=None):
        threading.Event().wait(1.0)
        self.frames.append(frame_key(image))
        return True


@pytest.fixture
def recorder(monkeypatch):
    rec = RecordingSegmenter()
    monkeypatch.setattr("annotator.gui.engines.make_segmenter", lambda *a, **k: rec)
    return rec


def test_stepping_to_a_frame_embeds_it_first(recorder, qtbot, demo_dir):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    session = win.session
    qtbot.waitUntil(lambda: session._precompute is not None, timeout=30000)
    starts = sorted({s.start for s in session.store.segments()})
    target = next(f for f in range(3, 60) if f not in starts)
    key = frame_key(np.asarray(session.video[target]))
    start_keys = {frame_key(np.asarray(session.video[f])) for f in starts}
    win.canvas.setFocus()
    for _ in range(target):
        qtbot.keyClick(win.canvas, Qt.Key.Key_Right)
    assert win.state.frame == target
    try:
        qtbot.waitUntil(lambda: key in recorder.frames, timeout=30000)
        before = recorder.frames[:recorder.frames.index(key)]
        # it jumped the queue: some segment starts were still waiting when it was embedded
        assert start_keys - set(before), (len(before), len(starts))
    finally:
        win.close_project()
