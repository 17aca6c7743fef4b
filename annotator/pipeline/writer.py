"""The commit thread: quality flags, RLE encoding and SQLite writes off the model's thread.

The job hands each finished frame to :class:`CommitWriter` (a bounded queue, so a slow disk
slows the model down instead of filling memory). For each frame the writer measures the masks'
quality (:mod:`annotator.pipeline.flags`; with the frame's image, the failure signals against
each object's anchor, :mod:`annotator.pipeline.failure` — here, not on the model's thread), then writes the frame's masks *and* the job's
progress in one transaction: after a crash the job row says exactly which frames are in the
store, no frame is lost or written twice. Errors are re-raised in the job's thread at the next
:meth:`CommitWriter.put` or at :meth:`CommitWriter.close`.

**People before machines.** A person may edit inside the job's range while it runs. The writes
go through :meth:`~annotator.core.store.Store.put_machine_masks`, which decides inside the
frame's transaction: a key whose current mask is an anchor or a person's (``manual``, ``sam``,
``brush``, ``imported``) and not the job's own, or whose mask a person deleted since this
writer started, is left as it is — the mask and its alternative opinion both. Such keys are
counted in :attr:`CommitWriter.kept_human` (listed in ``kept``); progress advances as if
written, so the job finishes and resumes as usual.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from annotator.core import masks as M
from annotator.core.store import Store
from annotator.pipeline.failure import SignalTracker
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
    image: np.ndarray | None = None  # the frame (RGB), for the failure signals
    anchors: dict[int, np.ndarray] | None = None  # masks a person gave on this frame


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
        self.kept_human = 0  # (object, frame) keys left to the person's edit
        self.kept: list[tuple[int, int]] = []
        self.since_rev = store.last_rev_id()  # a person's deletion after this is kept
        self.busy_s = 0.0
        self.signals = SignalTracker()  # failure signals against each object's anchor
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
        planned = []  # (object, its rows: [alt,] mask, flagged)
        if item.image is not None:
            for oid, anchor in (item.anchors or {}).items():
                self.signals.anchor(oid, item.image, anchor)
        for m in item.masks:
            signals = (self.signals.measure(m.object_id, item.image, m.mask, m.prev)
                       if item.image is not None and self.signals.knows(m.object_id) else None)
            fq = assess(m.mask, m.prev, m.confidence, m.reference_area, m.alt, signals=signals)
            quality = {**fq.quality, **m.extra}
            rows = []
            if m.alt is not None:  # the other opinion stays as the previous revision
                alt_q = assess(m.alt, m.prev, m.confidence, m.reference_area, m.mask)
                rows.append(dict(object_id=m.object_id, frame=item.frame, mask=M.encode(m.alt),
                                 source=m.alt_source, anchor=False, quality=alt_q.quality,
                                 flags=alt_q.flags, score=alt_q.score, model=m.model))
            rows.append(dict(object_id=m.object_id, frame=item.frame, mask=M.encode(m.mask),
                             source=m.source, anchor=False, quality=quality, flags=fq.flags,
                             score=fq.score, model=m.model))
            planned.append((m.object_id, rows, bool(fq.flags)))
        flat = [r for _, rows, _ in planned for r in rows]
        with self.store.transaction():  # the check and the writes: one transaction
            revs = (self.store.put_machine_masks(flat, op=self.op, since_rev=self.since_rev)
                    if flat else [])
            self.done += len(item.masks)
            self.store.job_update(self.key, done=self.done, progress=item.progress)
        i = 0
        for oid, rows, flagged in planned:
            i += len(rows)
            if revs[i - 1] is None:
                self.kept_human += 1
                self.kept.append((oid, item.frame))
            elif flagged:
                self.flagged[oid] = self.flagged.get(oid, 0) + 1
