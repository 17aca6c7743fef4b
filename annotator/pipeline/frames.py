"""Decode frames ahead of the model, in the order a sweep needs them (forward or backward).

:class:`FramePrefetcher` runs one thread that reads ``video[i]`` for a list of frame indices
into a small bounded queue, so decoding overlaps the model. Going backward, it reads each chunk
of frames in increasing order (a media decoder moves forward cheaply and seeks expensively)
and hands them out in the requested order. Time spent waiting for a frame is measured: it is
the part of decoding the model did not hide.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence

_DONE = object()


class FramePrefetcher:
    """Iterate ``(index, frame)`` over ``indices`` while a thread decodes ahead.

    ``video`` is anything indexable by frame (thread-safe, e.g. :class:`annotator.core.video.Video`).
    """

    def __init__(self, video, indices: Sequence[int], depth: int = 6, chunk: int = 8) -> None:
        self._video = video
        self._indices = list(indices)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._chunk = max(1, chunk)
        self.wait_s = 0.0
        self.decode_s = 0.0
        self._thread = threading.Thread(target=self._run, name="frame-prefetch", daemon=True)
        self._thread.start()

    def _chunks(self):
        idx = self._indices
        for k in range(0, len(idx), self._chunk):
            yield idx[k:k + self._chunk]

    def _run(self) -> None:
        try:
            for chunk in self._chunks():
                t0 = time.perf_counter()
                frames = {i: self._video[i] for i in sorted(chunk)}
                self.decode_s += time.perf_counter() - t0
                for i in chunk:
                    if not self._put((i, frames[i])):
                        return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(exc)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            t0 = time.perf_counter()
            item = self._queue.get()
            self.wait_s += time.perf_counter() - t0
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> FramePrefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
