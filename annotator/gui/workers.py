"""Qt workers: run plain Python callables off the GUI thread and report back with signals.

Two kinds:

* :class:`Task` — a one-shot :class:`QRunnable` (decode a frame, run the segmenter, write to
  the store). Its ``done``/``failed`` signals are delivered on the GUI thread.
* :class:`JobWorker` — a long job (propagation, export) on its own :class:`QThread`, with
  ``progress(done, total, message)``, ``frames(object)`` as results land, a cancel flag the job
  polls, and ``finished_job(result)`` / ``failed(exc)`` at the end.

The GUI thread never waits on either: it connects to the signals and returns to the event loop.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

from annotator.errors import Cancelled


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(object)


class Task(QRunnable):
    """Run ``fn()`` on a pool thread; ``signals.done(result)`` or ``signals.failed(exc)``."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.signals = _TaskSignals()

    def run(self) -> None:  # noqa: D401 - Qt API
        try:
            result = self.fn()
        except BaseException as exc:  # reported to the GUI, never lost
            exc.__gui_traceback__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)


#: Tasks not yet reported: kept alive here (not by their runner, which may be deleted first).
_LIVE: set[Task] = set()


class TaskRunner(QObject):
    """Submits :class:`Task` objects to a pool and counts those not yet reported."""

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self._tasks: set[Task] = set()
        self.closed = False

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> Task:
        task = Task(fn)
        if self.closed:
            return task  # the project is closing: nothing new starts
        self._tasks.add(task)
        _LIVE.add(task)
        tasks = self._tasks

        def finish(result: Any, cb=on_done) -> None:
            tasks.discard(task)
            _LIVE.discard(task)
            if cb and not self.closed:
                cb(result)

        def fail(exc: BaseException, cb=on_error) -> None:
            tasks.discard(task)
            _LIVE.discard(task)
            if cb and not self.closed:
                cb(exc)

        task.signals.done.connect(finish)
        task.signals.failed.connect(fail)
        self.pool.start(task)
        return task

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (used only when closing the window)."""
        return self.pool.waitForDone(msecs)


class JobContext:
    """What a job function receives: progress reporting and the cancel flag."""

    def __init__(self, worker: JobWorker) -> None:
        self._worker = worker
        self.cancel_event = threading.Event()

    def progress(self, done: int, total: int, message: str = "") -> None:
        self._worker.progress.emit(int(done), int(total), message)

    def frames(self, keys: Any) -> None:
        """Report results that landed in the store (e.g. ``[(object_id, frame), …]``)."""
        self._worker.frames.emit(keys)

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()


class JobWorker(QThread):
    """Run ``fn(ctx)`` on its own thread; the GUI connects to the signals."""

    progress = Signal(int, int, str)
    frames = Signal(object)
    finished_job = Signal(object)
    failed = Signal(object)

    def __init__(self, title: str, fn: Callable[[JobContext], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.fn = fn
        self.ctx = JobContext(self)

    def cancel(self) -> None:
        self.ctx.cancel_event.set()

    @property
    def cancel_requested(self) -> bool:
        return self.ctx.cancel_event.is_set()

    def run(self) -> None:  # noqa: D401 - Qt API
        try:
            result = self.fn(self.ctx)
        except Cancelled:
            from annotator.pipeline.outcome import JobOutcome

            self.finished_job.emit(JobOutcome(self.title, cancelled=True))
        except BaseException as exc:
            exc.__gui_traceback__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.failed.emit(exc)
        else:
            self.finished_job.emit(result)
