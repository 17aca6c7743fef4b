"""The open project as seen by the window: the store, the video, workers and change signals.

A :class:`ProjectSession` holds no annotation state: objects, segments, masks, prompts and
history are read from the store whenever a view needs them. It owns the threads that touch
slow things — a pool for decoding and queries, one *serial* thread for the segmenter and every
store write (so writes keep their order), and at most one long job (propagation, export) — and
emits signals when the store changed so that views repaint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from annotator.gui import layers as L
from annotator.gui.undo import HistoryStack
from annotator.gui.workers import JobContext, JobWorker, TaskRunner


class ProjectSession(QObject):
    """An open project plus the machinery the GUI needs around it."""

    #: (object_id, frame) keys whose masks changed, or None for "anything may have changed".
    masks_changed = Signal(object)
    objects_changed = Signal()
    segments_changed = Signal()
    #: a message for the person (what happened and what to do), and whether it is an error.
    message = Signal(str, bool)
    #: a failure with its exception (the window decides between status bar and dialog).
    failed = Signal(object)
    job_started = Signal(object)
    job_progress = Signal(int, int, str)
    job_finished = Signal(object)
    embedding_status = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, project: Any, video: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.store = project.store
        self.video = video
        self.frame_count = len(video)
        self.fps = float(video.fps) or 25.0
        self.width, self.height = video.size
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._serial_pool = QThreadPool(self)
        self._serial_pool.setMaxThreadCount(1)
        self.tasks = TaskRunner(self._pool, self)
        self.serial = TaskRunner(self._serial_pool, self)
        self.history = HistoryStack(self)
        self.history.rebuild()
        self.job: JobWorker | None = None
        self._segmenter: Any = None
        self._precompute: Any = None
        self.closed = False

    # -- opening ----------------------------------------------------------------------------
    @staticmethod
    def open_project(directory: str | Path) -> tuple[Any, Any]:
        """Open the project and its video (slow: call it from a worker)."""
        from annotator.core.lock import ProjectLockedError, ProjectReadOnlyError
        from annotator.core.project import Project

        try:
            project = Project.open(directory)
        except ProjectReadOnlyError:  # read-only media or no write permission: view only
            project = Project.open(directory, readonly=True)
        except ProjectLockedError as exc:  # being edited by another window or command: view it
            project = Project.open(directory, readonly=True)
            project.store.held_by = exc.pid
        return _with_video(project)

    @staticmethod
    def create_project(video_path: str | Path, directory: str | Path | None = None) -> tuple[Any, Any]:
        """Create a project in ``directory`` (default: beside the video, ``VIDEO.avsproj``, or
        the per-user projects folder when the video's folder cannot be written to) and open
        it; an existing project there is opened instead (slow: call it from a worker)."""
        from annotator.core.project import Project, is_project, suggested_project_dir

        video_path = Path(video_path)
        directory = Path(directory) if directory else suggested_project_dir(video_path)[0]
        if is_project(directory):
            return ProjectSession.open_project(directory)
        return _with_video(Project.create(directory, video_path))

    def close(self) -> None:
        """Stop the job (keeping what it wrote), finish pending writes, close the files."""
        if self.closed:
            return
        self.closed = True
        self.history.blockSignals(True)
        if self._precompute is not None:
            self._precompute.cancel()
        if self.job is not None:
            self.job.cancel()
            self.job.wait(60000)
        self._serial_pool.waitForDone(60000)
        self._pool.waitForDone(60000)
        self.tasks.closed = self.serial.closed = True
        if self._precompute is not None:
            self._precompute.close(wait=True)
        try:
            self.video.close()
        finally:
            self.project.close()

    @property
    def name(self) -> str:
        return self.project.dir.name

    def time_of(self, frame: int) -> float:
        return float(self.video.time_of(frame))

    # -- engines ----------------------------------------------------------------------------
    def segmenter(self) -> Any:
        """The point-prompt segmenter (created on first use; call only on the serial thread):
        the process's one loaded SAM (:mod:`annotator.engines.registry`) with this project's
        embedding cache, or the weight-free fallback."""
        if self._segmenter is None:
            from annotator.gui.engines import make_segmenter

            self._segmenter = make_segmenter(self.project, on_error=self.failed.emit)
        return self._segmenter

    def start_precompute(self, frames: list[int]) -> None:
        """Embed ``frames`` (the segments' first frames) in the background (SAM only: the
        fallback needs nothing), at the lowest priority, then the flagged frames worst first;
        the frame under the cursor (:meth:`precompute_now`) goes before all of them. Progress
        goes to ``embedding_status``. Call on the serial thread."""
        seg = self.segmenter()
        if getattr(seg, "is_fallback", False) or self.closed:
            return
        from annotator.engines.precompute import PrecomputeQueue

        def progress(p: Any) -> None:
            self.embedding_status.emit(f"precomputing embeddings: {p.pending} left"
                                       if p.pending else "embeddings precomputed")

        if self._precompute is None:
            self._precompute = PrecomputeQueue(seg, lambda i: np.asarray(self.video[i]),
                                               on_progress=progress)
            # a finished propagation brings new flags: queue their frames too
            self.job_finished.connect(lambda _r: self.write(self._queue_flagged, None,
                                                            lambda exc: None))
            cursor = getattr(self, "_cursor_frame", None)
            if cursor is not None:
                self._precompute.now(cursor)
        self._precompute.schedule_plan(frames, self._flagged_frames())

    def _flagged_frames(self) -> list[int]:
        """The worst frame of every flagged clip, worst clip first (a store read)."""
        from annotator.pipeline.clips import review_clips

        return [c.worst_frame for c in review_clips(self.store)]

    def _queue_flagged(self) -> None:
        if self._precompute is not None and not self.closed:
            self._precompute.schedule_plan((), self._flagged_frames())

    def precompute_now(self, frame: int) -> None:
        """The person is on ``frame``: embed it before anything else queued. Safe on the GUI
        thread (it only queues; before the queue exists it is remembered for it)."""
        self._cursor_frame = int(frame)
        if self._precompute is not None and not self.closed:
            self._precompute.now(frame)

    @property
    def loaded_segmenter(self) -> Any:
        """The segmenter if it was created already (None before first use)."""
        return self._segmenter

    # -- work off the GUI thread ------------------------------------------------------------
    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run a read-only ``fn`` on the pool."""
        if self.closed:
            return
        self.tasks.submit(fn, on_done, on_error or self.failed.emit)

    def write(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run ``fn`` (segmenter calls, store writes) on the serial thread, in order."""
        if self.closed:
            return
        def done(result: Any) -> None:
            self.busy_changed.emit(self.busy)
            if on_done:
                on_done(result)

        def error(exc: BaseException) -> None:
            self.busy_changed.emit(self.busy)
            (on_error or self.failed.emit)(exc)

        self.serial.submit(fn, done, error)
        self.busy_changed.emit(True)

    @property
    def busy(self) -> bool:
        """True while writes are queued or a job runs (undo waits then)."""
        return self.serial.pending > 0 or self.job is not None

    def apply(self, label: str, fn: Callable[[int], Iterable[tuple[int, int]] | None],
              kind: str = "edit", *, structure: bool = False,
              on_done: Callable[[int], None] | None = None) -> None:
        """One undoable user action: ``fn(op_id)`` writes to the store on the serial thread
        and returns the (object, frame) keys it touched; then the history records it."""
        store = self.store

        def work() -> tuple[int, list]:
            with store.transaction():
                op = store.new_op(kind, label)
                keys = list(fn(op) or [])
            return op, keys

        def done(result: tuple[int, list]) -> None:
            op, keys = result
            self.history.record(op, label)
            self._announce(keys, structure)
            if on_done:
                on_done(op)

        self.write(work, done)

    def _announce(self, keys: list | None, structure: bool) -> None:
        if structure:
            self.objects_changed.emit()
            self.segments_changed.emit()
        self.masks_changed.emit(keys)

    def store_history(self, direction: str, op_id: int) -> None:
        """Called by the undo stack: undo or redo ``op_id`` in the store (serial thread)."""
        store = self.store

        def work() -> tuple[Any, list]:
            op = store.undo() if direction == "undo" else store.redo()
            keys = store.op_frames(op.id) if op else []
            return op, keys

        def done(result: tuple[Any, list]) -> None:
            op, keys = result
            if op is None or op.id != op_id:
                self.history.rebuild()
                self.message.emit("The undo history was out of step with the project and has "
                                  "been reloaded from it.", False)
            verb = "Undid" if direction == "undo" else "Redid"
            if op is not None:
                self.message.emit(f"{verb}: {op.label or op.kind}", False)
            self._announce(keys or None, True)

        self.write(work, done)

    # -- frames -----------------------------------------------------------------------------
    def frame_view(self, index: int, override: dict[int, np.ndarray] | None = None) -> L.FrameView:
        """Decode frame ``index`` and build its mask overlays (call on a worker thread).
        ``override`` shows given masks instead of the stored ones (a result about to be
        written, so the canvas need not wait for the disk)."""
        rgb = self.video[index]
        objects = {o.id: o for o in self.store.objects()}
        view = L.FrameView(index, L.frame_image(rgb))
        override = override or {}
        for oid, mask in override.items():
            if oid in objects:
                layer = L.mask_layer(mask, objects[oid].color)
                if layer is not None:
                    view.layers[oid] = layer
        for oid, rec in self.store.frame_masks(index).items():
            obj = objects.get(oid)
            if obj is None or rec.rle is None or oid in override:
                continue
            layer = L.mask_layer(rec.decode(), obj.color)
            view.sources[oid] = rec.source
            view.flags[oid] = rec.flags
            if rec.anchor:
                view.anchors.add(oid)
            if layer is not None:
                view.layers[oid] = layer
        return view

    # -- long jobs --------------------------------------------------------------------------
    def start_job(self, title: str, fn: Callable[[JobContext], Any],
                  on_done: Callable[[Any], None] | None = None) -> JobWorker | None:
        """Run one long job; returns None (and says why) when one is already running."""
        if self.job is not None:
            self.message.emit(f"“{self.job.title}” is still running: wait for it or cancel it "
                              "(Esc) first.", True)
            return None
        job = JobWorker(title, fn, self)
        self.job = job
        job.progress.connect(self.job_progress)
        job.frames.connect(lambda keys: self.masks_changed.emit(keys))

        def finished(result: Any) -> None:
            self.job = None
            job.wait()
            if self.closed:
                return
            self.busy_changed.emit(self.busy)
            if isinstance(result, dict) and result.get("op_id") is not None:
                self.history.record(result["op_id"], result.get("label") or title)
            elif isinstance(result, dict) and result.get("rebuild_history"):
                self.history.sync()  # the pipeline wrote its operations itself
            self._announce(None, True)
            self.job_finished.emit(result)
            if on_done:
                on_done(result)

        def failed(exc: BaseException) -> None:
            self.job = None
            job.wait()
            if self.closed:
                return
            self.busy_changed.emit(self.busy)
            self.history.rebuild()
            self._announce(None, True)
            self.job_finished.emit({"failed": True, "error": str(exc)})
            self.failed.emit(exc)

        job.finished_job.connect(finished)
        job.failed.connect(failed)
        self.job_started.emit(job)
        self.busy_changed.emit(True)
        job.start()
        return job

    def cancel_job(self) -> bool:
        if self.job is None:
            return False
        self.job.cancel()
        self.message.emit(f"Cancelling “{self.job.title}”… frames already done are kept.", False)
        return True


def _with_video(project: Any) -> tuple[Any, Any]:
    """``(project, its open video)``; the project is closed again if the video cannot open."""
    try:
        return project, project.open_video(**_video_options(project))
    except BaseException:
        project.close()
        raise


def _video_options(project: Any) -> dict:
    """The frame-cache size from the preferences, for ``Project.open_video``."""
    from annotator import settings

    return {"cache_bytes": settings.get("cache.frames_mb") << 20}
