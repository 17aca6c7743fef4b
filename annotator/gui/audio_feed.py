"""Audio for playback, decoded ahead on a worker thread into a bounded queue.

One :class:`AudioFeed` streams the video's sound from one position at one rate
(:func:`annotator.core.audio.iter_audio`: one demux pass, short chunks). The GUI thread only
takes chunks that are ready (:meth:`AudioFeed.take` never blocks); the decoder waits while the
queue is full, so at most ``depth`` chunks are in memory, however long the video is.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import numpy as np

_END = object()


class AudioFeed:
    """Mono float32 samples of ``video`` from ``start_s`` (video time), ``rate`` a second."""

    def __init__(self, video: Any, start_s: float, rate: int, *, chunk_s: float = 0.05,
                 depth: int = 10) -> None:
        self.rate = int(rate)
        self.error: BaseException | None = None
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=self._run, args=(video, float(start_s), chunk_s), daemon=True,
            name="audio-feed")
        self._thread.start()

    def _run(self, video: Any, start_s: float, chunk_s: float) -> None:
        from annotator.core.audio import iter_audio

        gen = None
        try:
            gen = iter_audio(video.path, start_s, rate=self.rate, chunk_s=chunk_s,
                             t0=getattr(video, "_t0", None))
            for chunk in gen:
                if not self._put(chunk):
                    return
        except Exception as exc:  # noqa: BLE001 - reported to the GUI through .error
            self.error = exc
        finally:
            if gen is not None:
                gen.close()
            self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def take(self) -> np.ndarray | None:
        """The next chunk if one is decoded, else None (see :attr:`finished`)."""
        if self._finished:
            return None
        try:
            item = self._q.get_nowait()
        except queue.Empty:
            return None
        if item is _END:
            self._finished = True
            return None
        return item

    @property
    def finished(self) -> bool:
        """Every chunk was taken (the track ended, or decoding failed: see :attr:`error`)."""
        return self._finished

    def close(self) -> None:
        """Stop decoding (the thread ends by itself; nobody waits for it)."""
        self._stop.set()
