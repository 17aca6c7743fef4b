"""The open project as the window sees it: the one writer, the one emitter of change signals.

A :class:`ProjectSession` owns the threads that touch slow things — a pool for decoding and
reads, one *serial* thread for the segmenter and every store write (so writes keep their
order), and at most one long job (propagation, export) — and keeps in memory what the views
list: the objects, the audible segments, the sound proposals and the check list (flagged clips,
failed segments).
Those are read on the serial thread right after every write that changes them (or on the pool
after a job or an undo) and replaced whole, then the session says so with its signals, so the
GUI thread reads memory, never SQL. Masks are not kept: views read the frames they show off
the GUI thread when ``masks_changed`` names them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from annotator.core.box_tracks import box_at
from annotator.gui import layers as L
from annotator.gui.undo import HistoryStack
from annotator.gui.workers import JobContext, JobWorker, TaskRunner
from annotator.pipeline.check_list import CheckList, check_list
from annotator.pipeline.opening import Structure, read_structure
from annotator.pipeline.outcome import JobOutcome


class ProjectSession(QObject):
    """An open project plus the machinery the GUI needs around it."""

    #: (object_id, frame) keys whose masks changed, or None for "anything may have changed".
    masks_changed = Signal(object)
    objects_changed = Signal()
    segments_changed = Signal()
    proposals_changed = Signal()
    flags_changed = Signal()
    #: a message for the person (what happened and what to do), and whether it is an error.
    message = Signal(str, bool)
    #: a failure with its exception (the window decides between status bar and dialog).
    failed = Signal(object)
    job_started = Signal(object)
    job_progress = Signal(int, int, str)
    job_finished = Signal(object)  # JobOutcome
    embedding_status = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, project: Any, video: Any, structure: Structure | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.store = project.store
        self.video = video
        self.frame_count = len(video)
        self.fps = float(video.fps) or 25.0
        self.width, self.height = video.size
        self.readonly = bool(self.store.readonly)
        self.held_by = self.store.held_by  # another process editing it (view only here)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._serial_pool = QThreadPool(self)
        self._serial_pool.setMaxThreadCount(1)
        self.tasks = TaskRunner(self._pool, self)
        self.serial = TaskRunner(self._serial_pool, self)
        self.structure = structure or read_structure(self.store, history=True)
        self.checks = CheckList()
        self._checks_due = QTimer(self)  # a burst of edits reads the check list once
        self._checks_due.setSingleShot(True)
        self._checks_due.setInterval(250)
        self._checks_due.timeout.connect(self.refresh_checks)
        self.history = HistoryStack(self)
        self.history.rebuild(self.structure.history)
        self.video_key = self.structure.video_key
        #: the dataset's categories when the project lies in one (read at opening), else None
        self.vocabulary = self.structure.vocabulary
        self.job: JobWorker | None = None
        self._segmenter: Any = None
        self._precompute: Any = None
        self._cursor_frame: int | None = None
        self.closed = False
        self.refresh_checks()

    def close(self) -> None:
        """Stop the job (keeping what it wrote), finish pending writes, close the files."""
        if self.closed:
            return
        self.closed = True
        self._checks_due.stop()
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

    def say(self, text: str, error: bool = False) -> None:
        """A message for the person: what happened and what to do (the status bar shows it)."""
        self.message.emit(text, bool(error))

    # -- what the views list (memory) ----------------------------------------------------------
    @property
    def objects(self) -> tuple:
        return self.structure.objects

    @property
    def segments(self) -> tuple:
        return self.structure.segments

    @property
    def proposals(self) -> tuple:
        return self.structure.proposals

    def object(self, object_id: int | None) -> Any:
        """The object record, None when there is no such (live) object."""
        return next((o for o in self.structure.objects if o.id == object_id), None)

    def segments_of(self, object_id: int | None) -> list:
        return [s for s in self.structure.segments if s.object_id == object_id]

    def segment(self, segment_id: int | None) -> Any:
        return next((s for s in self.structure.segments if s.id == segment_id), None)

    def segment_at(self, object_id: int | None, frame: int) -> Any:
        """The object's audible segment holding ``frame``, if any."""
        return next((s for s in self.segments_of(object_id) if frame in s), None)

    def _set_structure(self, structure: Structure | None) -> None:
        if structure is None or self.closed:
            return
        old, self.structure = self.structure, structure
        if structure.objects != old.objects:
            self.objects_changed.emit()
        if structure.segments != old.segments or structure.objects != old.objects:
            self.segments_changed.emit()
        if structure.proposals != old.proposals:
            self.proposals_changed.emit()

    def refresh(self) -> None:
        """Read the objects and segments again (after work that wrote them behind our back)."""
        store = self.store
        self.run(lambda: read_structure(store), self._set_structure)
        self.refresh_checks()

    def refresh_checks(self) -> None:
        """Read the check list again (on the pool)."""
        if self.closed:
            return
        store = self.store

        def done(checks: CheckList) -> None:
            if not self.closed:
                self.checks = checks
                self.flags_changed.emit()

        self.run(lambda: check_list(store), done)

    def _changed(self, keys: list | None, structure: Structure | None) -> None:
        """The store changed (``keys`` of masks, None for anything): say it to the views."""
        self._set_structure(structure)
        self.masks_changed.emit(keys)
        if self.job is None:
            self._checks_due.start()

    # -- engines -------------------------------------------------------------------------------
    def segmenter(self) -> Any:
        """The point-prompt segmenter (created on first use; call only on the serial thread):
        the process's one loaded SAM (:mod:`annotator.engines.registry`) with this project's
        embedding cache, or the weight-free fallback."""
        if self._segmenter is None:
            from annotator.gui.engines import make_segmenter

            self._segmenter = make_segmenter(self.project, on_error=self.failed.emit)
        return self._segmenter

    def forget_segmenter(self) -> None:
        """The segmenter preference changed: the next click makes the chosen one (on the
        serial thread, where the segmenter lives)."""
        def drop() -> None:
            if self._precompute is not None:
                self._precompute.stop()
                self._precompute = None
            self._segmenter = None

        self.write(drop, None, lambda exc: None)

    @property
    def loaded_segmenter(self) -> Any:
        """The segmenter if it was created already (None before first use)."""
        return self._segmenter

    def start_precompute(self, starts: list[int] | None = None) -> None:
        """Embed ``starts`` (default: every segment's first frame) in the background (SAM only:
        the fallback needs nothing), at the lowest priority, then the flagged frames worst
        first; the frame under the cursor (:meth:`precompute_now`) goes before all of them."""
        starts = sorted({s.start for s in self.segments}) if starts is None else list(starts)
        self.write(lambda: self._precompute_plan(starts), None, lambda exc: None)

    def _precompute_plan(self, starts: list[int]) -> None:
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
            if self._cursor_frame is not None:
                self._precompute.now(self._cursor_frame)
        self._precompute.schedule_plan(starts, self._flagged_frames())

    def _flagged_frames(self) -> list[int]:
        """The worst frame of every flagged clip, worst clip first (a store read)."""
        from annotator.pipeline.clips import review_clips

        return [c.worst_frame for c in review_clips(self.store)]

    def _queue_flagged(self) -> None:
        if self._precompute is not None and not self.closed:
            self._precompute.schedule_plan((), self._flagged_frames())

    def follow(self, frame: int, playing: bool) -> None:
        """The view state moved to ``frame``: unless playback moves it, embed it first."""
        if not playing:
            self.precompute_now(frame)

    def precompute_now(self, frame: int) -> None:
        """The person is on ``frame``: embed it before anything else queued. Safe on the GUI
        thread (it only queues; before the queue exists it is remembered for it)."""
        self._cursor_frame = int(frame)
        if self._precompute is not None and not self.closed:
            self._precompute.now(frame)

    # -- work off the GUI thread ---------------------------------------------------------------
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

    def apply(self, label: str, write: Callable[..., Iterable[tuple[int, int]] | None],
              kind: str = "edit", *, prepare: Callable[[], Any] | None = None,
              structure: bool = False, on_done: Callable[..., None] | None = None,
              on_error: Callable[[BaseException], None] | None = None) -> None:
        """One undoable action, on the serial thread: ``prepare()`` first, outside any
        transaction (a model call: nobody waits on it), then ``write(op)`` — or
        ``write(op, prepared)`` with a ``prepare`` — in one transaction, returning the
        (object, frame) keys it touched. Then the history records it, the objects and
        segments are read again when ``structure``, the views are told, and
        ``on_done(op)`` (``on_done(op, prepared)``) runs on the GUI thread."""
        store = self.store

        def work() -> tuple:
            prepared = prepare() if prepare is not None else None
            with store.transaction():
                op = store.new_op(kind, label)
                keys = list((write(op, prepared) if prepare is not None else write(op)) or [])
            return op, keys, read_structure(store) if structure else None, prepared

        def done(result: tuple) -> None:
            op, keys, snapshot, prepared = result
            self.history.record(op, label)
            self._changed(keys, snapshot)
            if on_done:
                on_done(op, prepared) if prepare is not None else on_done(op)

        self.write(work, done, on_error)

    def apply_report(self, label: str, fn: Callable[[], Any],
                     on_done: Callable[[Any], None] | None = None) -> None:
        """Work that writes its own store operation (an import: ``fn()`` returns a report
        with ``op_id``): recorded on the undo stack, then everything is read again."""
        store = self.store

        def work() -> tuple:
            report = fn()
            return report, read_structure(store)

        def done(result: tuple) -> None:
            report, snapshot = result
            self.history.record(getattr(report, "op_id", None), label)
            self._changed(None, snapshot)
            if on_done:
                on_done(report)

        self.write(work, done)

    def store_history(self, direction: str, op_id: int) -> None:
        """Called by the undo stack: undo or redo ``op_id`` in the store (serial thread)."""
        store = self.store

        def work() -> tuple:
            op = store.undo() if direction == "undo" else store.redo()
            keys = store.op_frames(op.id) if op else []
            return op, keys, read_structure(store, history=op is None or op.id != op_id)

        def done(result: tuple) -> None:
            op, keys, snapshot = result
            if op is None or op.id != op_id:
                self.history.rebuild(snapshot.history)
                self.say("The undo history was out of step with the project and has "
                                  "been reloaded from it.", False)
            verb = "Undid" if direction == "undo" else "Redid"
            if op is not None:
                self.say(f"{verb}: {op.label or op.kind}", False)
            self._changed(keys or None, snapshot)

        self.write(work, done)

    def undo(self, direction: str = "undo") -> None:
        """Edit ▸ Undo / Redo: waits for nothing — while work is running it says so instead."""
        if self.busy:
            self.say("Wait for the running work to finish (or cancel it) before "
                              f"{direction}ing.", True)
            return
        (self.history.undo if direction == "undo" else self.history.redo)()

    # -- frames --------------------------------------------------------------------------------
    def frame_view(self, index: int, override: dict[int, np.ndarray] | None = None,
                   opacity: float = 0.43) -> L.FrameView:
        """Decode frame ``index`` and build its mask overlays, filled at ``opacity`` (call on a
        worker thread). ``override`` shows given masks instead of the stored ones (a result
        about to be written, so the canvas need not wait for the disk)."""
        rgb = self.video[index]
        colors = {o.id: o.color for o in self.structure.objects}
        view = L.FrameView(index, L.frame_image(rgb))
        override = override or {}
        for oid, mask in override.items():
            if oid in colors:
                layer = L.mask_layer(mask, colors[oid], opacity=opacity)
                if layer is not None:
                    view.layers[oid] = layer
        for seg in self.structure.segments:  # box-only annotation: the track's box here
            if index in seg and seg.object_id in colors:
                box = box_at(index, seg.start, seg.end,
                             self.store.boxes_of(seg.object_id, seg.start, seg.end))
                if box is not None:
                    view.boxes[seg.object_id] = (box, colors[seg.object_id])
        for oid, rec in self.store.frame_masks(index).items():
            if oid not in colors or rec.rle is None or oid in override:
                continue
            layer = L.mask_layer(rec.decode(), colors[oid], opacity=opacity)
            view.sources[oid] = rec.source
            view.flags[oid] = rec.flags
            if rec.anchor:
                view.anchors.add(oid)
            if layer is not None:
                view.layers[oid] = layer
        return view

    # -- long jobs -----------------------------------------------------------------------------
    def start_job(self, title: str, fn: Callable[[JobContext], JobOutcome]) -> JobWorker | None:
        """Run one long job; returns None (and says why) when one is already running."""
        if self.job is not None:
            self.say(f"“{self.job.title}” is still running: wait for it or cancel it "
                              "(Esc) first.", True)
            return None
        job = JobWorker(title, fn, self)
        self.job = job
        job.progress.connect(self.job_progress)
        job.frames.connect(lambda keys: self.masks_changed.emit(keys))

        def ended(outcome: JobOutcome, error: BaseException | None = None) -> None:
            job.wait()
            if self.closed:
                self.job = None
                return
            store = self.store
            # the job's operations and what it changed, read off the GUI thread; the job
            # counts as running (busy) until they are on the undo stack
            self.run(lambda: read_structure(store, history=True),
                     lambda snapshot: settled(outcome, error, snapshot))

        def settled(outcome: JobOutcome, error: BaseException | None, snapshot: Any) -> None:
            self.job = None
            self.busy_changed.emit(self.busy)
            if error is not None:
                self.history.rebuild(snapshot.history)
            elif outcome.op_id is not None:
                self.history.record(outcome.op_id, outcome.label or title)
            elif outcome.sync_history:
                self.history.sync(snapshot.history)  # the pipeline wrote its own operations
            self._set_structure(snapshot)
            self.masks_changed.emit(None)
            self.refresh_checks()
            self.job_finished.emit(outcome)
            if error is not None:
                self.failed.emit(error)

        job.finished_job.connect(lambda outcome: ended(_outcome(outcome, title)))
        job.failed.connect(lambda exc: ended(JobOutcome(title, failed=True, error=str(exc)),
                                             exc))
        self.job_started.emit(job)
        self.busy_changed.emit(True)
        job.start()
        return job

    def cancel_job(self) -> bool:
        if self.job is None:
            return False
        self.job.cancel()
        self.say(f"Cancelling “{self.job.title}”… frames already done are kept.", False)
        return True


def _outcome(result: Any, title: str) -> JobOutcome:
    if isinstance(result, JobOutcome):
        return result
    return JobOutcome(title, cancelled=True) if result is None else JobOutcome(title)
