"""The commit thread: quality flags, RLE encoding and SQLite writes off the model's thread.

The job hands each finished frame to :class:`CommitWriter` (a bounded queue, so a slow disk
slows the model down instead of filling memory). For each frame the writer measures the masks'
quality (:mod:`annotator.pipeline.flags`), then writes the frame's masks *and* the job's
progress in one transaction: after a crash the job row says exactly which frames are in the
store, no frame is lost or written twice. Errors are re-raised in the job's thread at the next
:meth:`CommitWriter.put` or at :meth:`CommitWriter.close`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from annotator.core.store import Store
from annotator.pipeline.flags import assess


@dataclass
class MaskOut:
    """One object's output on one frame, as the job produced it."""

    object_id: int
    mask: np.ndarray  # the mask to make current
    prev: np.ndarray | None  # the same object's previous mask in the run (for jumps)
    confidence: float | None
    reference_area: float | None
    source: str = "propagated"
    alt: np.ndarray | None = None  # the other opinion (XMem's or SAM's), kept as a revision
    alt_source: str = "propagated"
    model: str | None = None
    extra: dict = field(default_factory=dict)  # more quality signals (refinement decision …)


@dataclass
class FrameOut:
    """Everything one step commits, and where the job stands after it."""

    frame: int
    masks: list[MaskOut]
    progress: dict  # the job row's ``progress`` after this frame


class CommitWriter:
    """Commit :class:`FrameOut` items to ``store`` under operation ``op`` for job ``key``."""

    def __init__(self, store: Store, key: str, op: int, done: int,
                 on_commit: Callable[[FrameOut, int], None] | None = None,
                 depth: int = 4) -> None:
        self.store = store
        self.key = key
        self.op = op
        self.done = done
        self.flagged: dict[int, int] = {}
        self.busy_s = 0.0
        self._on_commit = on_commit
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"commit:{key}", daemon=True)
        self._thread.start()

    def put(self, item: FrameOut) -> None:
        self._raise()
        while True:
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                self._raise()

    def close(self) -> None:
        """Wait until everything queued is committed; re-raise a commit error."""
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain after a failure; nothing more is written
            try:
                t0 = time.perf_counter()
                self._commit(item)
                self.busy_s += time.perf_counter() - t0
                if self._on_commit is not None and item.masks:
                    self._on_commit(item, self.done)
            except BaseException as exc:  # noqa: BLE001 - handed to the job's thread
                self._error = exc

    def _commit(self, item: FrameOut) -> None:
        rows = []
        for m in item.masks:
            fq = assess(m.mask, m.prev, m.confidence, m.reference_area, m.alt)
            quality = {**fq.quality, **m.extra}
            if fq.flags:
                self.flagged[m.object_id] = self.flagged.get(m.object_id, 0) + 1
            if m.alt is not None:  # the other opinion stays as the previous revision
                alt_q = assess(m.alt, m.prev, m.confidence, m.reference_area, m.mask)
                rows.append(dict(object_id=m.object_id, frame=item.frame, mask=m.alt,
                                 source=m.alt_source, anchor=False, quality=alt_q.quality,
                                 flags=alt_q.flags, score=alt_q.score, model=m.model))
            rows.append(dict(object_id=m.object_id, frame=item.frame, mask=m.mask,
                             source=m.source, anchor=False, quality=quality, flags=fq.flags,
                             score=fq.score, model=m.model))
        with self.store.transaction():
            if rows:
                self.store.put_masks(rows, op=self.op)
            self.done += len(item.masks)
            self.store.job_update(self.key, done=self.done, progress=item.progress)
