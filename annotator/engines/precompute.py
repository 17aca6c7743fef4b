"""Background precompute of image embeddings: one plain thread over a priority queue.

Lowest priority: it embeds frames only while nobody is clicking (the SAM segmenter pauses a
background embedding between encoder blocks while an interactive call runs), and it is
cancellable at any time (``cancel`` drops what is queued and stops the frame in flight at the
next encoder block). Frames the annotator will need next go first: the frame under the cursor
first of all (``now``, ``PRIORITY_NOW``: one at a time, the previous cursor frame goes back to
where it was), then the first frame of every audible segment (``PRIORITY_SEGMENT_START``), then
flagged frames worst first (``PRIORITY_FLAGGED``, in the order given).
No Qt: progress goes to a plain callback, called on the worker thread.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from annotator.errors import Cancelled

log = logging.getLogger(__name__)

PRIORITY_NOW = 0
PRIORITY_SEGMENT_START = 10
PRIORITY_FLAGGED = 20
PRIORITY_OTHER = 30


@dataclass(frozen=True)
class PrecomputeProgress:
    frame: int  # the frame just handled
    computed: bool  # False: it was cached already (or failed, see ``error``)
    done: int  # frames handled since the last time the queue was empty
    pending: int  # frames still queued
    error: str | None = None


class PrecomputeQueue:
    """``segmenter`` needs ``precompute(frame, should_stop=...)``; ``load_frame(i)`` returns
    frame ``i`` as ``H×W×3`` uint8 RGB. Call ``close()`` when done."""

    def __init__(
        self,
        segmenter: object,
        load_frame: Callable[[int], np.ndarray],
        on_progress: Callable[[PrecomputeProgress], None] | None = None,
    ) -> None:
        self.segmenter = segmenter
        self.load_frame = load_frame
        self.on_progress = on_progress
        self._heap: list[tuple[int, int, int]] = []
        self._queued: dict[int, int] = {}  # frame -> best priority queued
        self._wanted: dict[int, int] = {}  # frame -> priority asked by schedule() (not now())
        self._cursor: int | None = None
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._cancel_gen = 0
        self._closed = False
        self._busy = False
        self._done = 0
        self._thread = threading.Thread(target=self._run, name="embedding-precompute", daemon=True)
        self._thread.start()

    # -- scheduling ------------------------------------------------------------------------------
    def schedule(self, frames: Iterable[int], priority: int = PRIORITY_OTHER) -> None:
        """Queue frames (a frame already queued keeps its better priority)."""
        with self._cond:
            for f in frames:
                f = int(f)
                if priority != PRIORITY_NOW:
                    self._wanted[f] = min(priority, self._wanted.get(f, priority))
                self._push(f, priority)
            self._cond.notify_all()

    def _push(self, f: int, priority: int) -> None:
        if self._queued.get(f, priority + 1) <= priority:
            return
        self._queued[f] = priority
        heapq.heappush(self._heap, (priority, next(self._seq), f))

    def now(self, frame: int) -> None:
        """Embed ``frame`` (the one under the cursor) before anything else; the previous
        cursor frame, if still queued, goes back to the priority it had (or leaves)."""
        frame = int(frame)
        with self._cond:
            old, self._cursor = self._cursor, frame
            if old is not None and old != frame and self._queued.get(old) == PRIORITY_NOW:
                del self._queued[old]  # its heap entry is stale now
                if old in self._wanted:
                    self._push(old, self._wanted[old])
            self._push(frame, PRIORITY_NOW)
            self._cond.notify_all()

    def schedule_plan(self, segment_starts: Iterable[int], flagged: Iterable[int] = ()) -> None:
        """The annotator's next frames: every segment's first frame, then flagged frames in
        the order given (worst first: :func:`annotator.pipeline.clips.review_clips` order)."""
        self.schedule(segment_starts, PRIORITY_SEGMENT_START)
        self.schedule(flagged, PRIORITY_FLAGGED)

    def cancel(self) -> None:
        """Drop everything queued and stop the frame in flight (at its next encoder block)."""
        with self._cond:
            self._heap.clear()
            self._queued.clear()
            self._wanted.clear()
            self._cursor = None
            self._cancel_gen += 1
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queued)

    def idle(self) -> bool:
        with self._cond:
            return not self._queued and not self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty and nothing is in flight (for tests and scripts)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queued and not self._busy, timeout)

    def close(self, wait: bool = True) -> None:
        self.cancel()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if wait:
            self._thread.join()

    # -- worker ------------------------------------------------------------------------------------
    def _next(self) -> tuple[int, int] | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                while self._heap:
                    prio, _, f = heapq.heappop(self._heap)
                    if self._queued.get(f) == prio:
                        del self._queued[f]
                        self._wanted.pop(f, None)
                        self._busy = True
                        return f, self._cancel_gen
                self._done = 0
                self._cond.notify_all()
                self._cond.wait()

    def _run(self) -> None:
        # while frames are queued the segmenter keeps its freed memory between embeddings
        # (SamSegmenter.holding_memory); it is handed back when the queue runs dry
        hold = getattr(self.segmenter, "holding_memory", None)
        held = contextlib.ExitStack()
        holding = False
        while True:
            with self._cond:
                dry = not self._heap
            if dry and holding:
                held.close()
                holding = False
            item = self._next()
            if item is None:
                held.close()
                return
            if hold is not None and not holding:
                held.enter_context(hold())
                holding = True
            frame, gen = item
            computed, error = False, None
            try:
                image = self.load_frame(frame)
                computed = bool(
                    self.segmenter.precompute(  # type: ignore[attr-defined]
                        image, should_stop=lambda g=gen: self._closed or self._cancel_gen != g
                    )
                )
            except Cancelled:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                continue
            except Exception as exc:  # one bad frame must not stop the queue
                log.warning("embedding precompute of frame %d failed: %s", frame, exc)
                error = f"{type(exc).__name__}: {exc}"
            with self._cond:
                self._busy = False
                self._done += 1
                progress = PrecomputeProgress(frame, computed, self._done, len(self._queued), error)
                self._cond.notify_all()
            if self.on_progress is not None:
                try:
                    self.on_progress(progress)
                except Exception:  # a listener's bug must not stop the queue
                    log.exception("precompute progress callback failed")
