"""Active annotation time, measured while a project is open: every mouse or key input to the
application keeps the next 60 s active (:class:`annotator.pipeline.activity.ActiveTimeMeter`,
Qt-free, decides), attributed to the segment under the current frame and object. What was
measured goes into the project every :data:`FLUSH_MS` and when it closes, on a thread of its
own (``Store.add_active_time``: one short transaction), so the GUI thread never touches the
store and the session's undo never waits for it.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from annotator.gui.view_state import ViewState
from annotator.gui.workers import TaskRunner
from annotator.pipeline.activity import ActiveTimeMeter

FLUSH_MS = 15000
#: the person's input (a key that is a shortcut comes as ShortcutOverride, never as KeyPress)
INPUT = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                   QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride,
                   QEvent.Type.MouseButtonDblClick, QEvent.Type.TabletPress})
log = logging.getLogger(__name__)


class ActiveTimeRecorder(QObject):
    """Feeds the meter the person's input and the segment under the playhead; writes it."""

    def __init__(self, state: ViewState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.session: Any = None
        self.meter: ActiveTimeMeter | None = None
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        self._runner = TaskRunner(pool, self)
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)
        state.frame_changed.connect(lambda *_: self._where())
        state.object_changed.connect(lambda *_: self._where())

    def attach(self, session: Any) -> None:
        self.session = session
        self.meter = ActiveTimeMeter()
        session.segments_changed.connect(self._where)
        self._where()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._timer.start()

    def detach(self) -> None:
        """The project closes: the rest is written (waited for: the store closes next)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._timer.stop()
        if self.meter is not None:
            self._write(self.meter.close())
        self._runner.wait(10000)
        self.session = self.meter = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if self.meter is not None and event.type() in INPUT:
            self.meter.input()
        return False

    def _where(self) -> None:
        s, meter = self.session, self.meter
        if s is None or meter is None:
            return
        seg = s.segment_at(self.state.object_id, self.state.frame)
        if seg is None and self.state.object_id is None:
            here = [x for x in s.segments if self.state.frame in x]
            seg = here[0] if len(here) == 1 else None
        meter.where(seg.id if seg is not None else None)

    def flush(self) -> None:
        if self.meter is not None:
            self._write(self.meter.take())

    def _write(self, rows: list) -> None:
        s = self.session
        if not rows or s is None or s.readonly:
            return
        store = s.store
        self._runner.submit(lambda: store.add_active_time(rows), None,
                            lambda exc: log.warning("active time not recorded in %s: %s",
                                                    store.path, exc))
