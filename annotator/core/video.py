"""Frame-accurate, lazily decoded access to a video file or a folder of frames.

:func:`annotator.core.video_open.open_video` returns a :class:`Video`: ``len(video)``
frames, ``video[i]`` an H×W×3 uint8 RGB array (read-only: it is shared with the cache, copy it
before drawing on it), ``video.fps``, ``video.size`` (w, h), ``video.duration``,
``video.has_audio``, ``video.time_of(i)``, ``video.index_at(seconds)`` and
``video.audio_samples(...)``.

Media files (mp4, mkv, mov, avi, webm …) are read through PyAV. A frame index built once from
the packets' timestamps (see :mod:`annotator.core.video_index`) maps frame ``i`` to its
timestamp and to the keyframe to seek to, so ``video[i]`` is the i-th frame of a plain
sequential decode whatever order frames are asked in. A read seeks to that keyframe and decodes
forward, or just keeps decoding when the target is close ahead of where the decoder stands.
Decoded frames go into a byte-bounded LRU cache, and a background thread reads the next few
frames ahead after each request. All decoder access is serialised by one lock, so ``video[i]``
may be called from any thread.

Times are seconds since the first frame: ``time_of(0) == 0.0``; audio uses the same origin.
Frame folders (``00000.jpg …``, DAVIS style) have ``fps`` frames a second and no audio.
Media files are decoded by :mod:`annotator.core.video_media`, folders read by
:mod:`annotator.core.video_folder`; this module holds what they share (the frame cache, the
read-ahead thread, the errors).
"""

from __future__ import annotations

import bisect
import logging
import operator
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.video_index import FrameIndex
from annotator.errors import UserError

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_FOLDER_FPS",
    "DEFAULT_READAHEAD",
    "FrameDecodeError",
    "FrameIndex",
    "Video",
    "VideoError",
]

log = logging.getLogger(__name__)

DEFAULT_FOLDER_FPS = 30.0
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
DEFAULT_READAHEAD = 8


class VideoError(UserError):
    """A video that cannot be opened or read; the message names the file and what to do."""

    def __init__(self, path: str | os.PathLike[str], reason: str, hint: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.hint = hint
        msg = f"{self.path}: {reason}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (e.g. across worker processes)
        return (type(self), (self.path, self.reason, self.hint))


class FrameDecodeError(VideoError):
    """One frame could not be decoded; the rest of the video stays readable."""

    def __init__(self, path: str | os.PathLike[str], index: int, reason: str) -> None:
        self.index = index
        self.frame_reason = reason
        super().__init__(
            path,
            f"frame {index} cannot be decoded ({reason})",
            "The file may be damaged; other frames are still usable, or re-encode the video "
            "(e.g. ffmpeg -i in.mp4 out.mp4)",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.index, self.frame_reason))


class _FrameCache:
    """LRU of frame index → array, bounded by the bytes of the arrays it holds."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._d: OrderedDict[int, np.ndarray] = OrderedDict()
        self.nbytes = 0
        self._lock = threading.Lock()

    def get(self, i: int) -> np.ndarray | None:
        with self._lock:
            a = self._d.get(i)
            if a is not None:
                self._d.move_to_end(i)
            return a

    def __contains__(self, i: int) -> bool:
        with self._lock:
            return i in self._d

    def put(self, i: int, a: np.ndarray) -> None:
        if a.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._d.pop(i, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self._d[i] = a
            self.nbytes += a.nbytes
            while self.nbytes > self.max_bytes:
                _, ev = self._d.popitem(last=False)
                self.nbytes -= ev.nbytes

    def keys(self) -> list[int]:
        with self._lock:
            return list(self._d)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self.nbytes = 0


class Video:
    """A video as a sequence of RGB frames; :func:`~annotator.core.video_open.open_video`
    makes one.

    Thread-safe; a context manager (``close()`` stops the read-ahead thread and releases the
    file).
    """

    def __init__(
        self,
        path: Path,
        index: FrameIndex,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        readahead: int = DEFAULT_READAHEAD,
        index_reused: bool = False,
    ) -> None:
        self.path = path
        self._index = index
        self.index_reused = index_reused
        self._times = index.times()
        self._cache = _FrameCache(cache_bytes)
        self._decode_lock = threading.Lock()
        self._cond = threading.Condition()
        self._fg_waiting = 0
        self._closed = False
        self._readahead = max(0, int(readahead))
        self._ra_range: tuple[int, int] | None = None
        self._ra_thread: threading.Thread | None = None
        self._size: tuple[int, int] = (0, 0)

    # -- properties ------------------------------------------------------------------------
    @property
    def frame_index(self) -> FrameIndex:
        """The index to keep in the project and hand back to
        :func:`~annotator.core.video_open.open_video` next time."""
        return self._index

    @property
    def size(self) -> tuple[int, int]:
        """Frame size as (width, height)."""
        return self._size

    @property
    def fps(self) -> float:
        """Nominal frame rate (for variable frame rate, the average)."""
        raise NotImplementedError

    @property
    def has_audio(self) -> bool:
        return False

    @property
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end."""
        last = self._index.last_duration * float(self._index.time_base)
        return float(self._times[-1]) + last

    @property
    def times(self) -> np.ndarray:
        """Seconds of every frame since the first frame (read-only float64 array)."""
        t = self._times.view()
        t.flags.writeable = False
        return t

    @property
    def notes(self) -> list[str]:
        """What was odd about the file (truncation, skipped packets), for the status bar."""
        return list(self._index.notes)

    def __len__(self) -> int:
        return len(self._index)

    def time_of(self, i: int) -> float:
        """Seconds from the first frame to the start of frame ``i`` (from its own timestamp)."""
        return float(self._times[self._check_index(i)])

    def index_at(self, seconds: float) -> int:
        """The frame on screen ``seconds`` after the first frame (clamped to the video)."""
        i = bisect.bisect_right(self._times, float(seconds) + 1e-9) - 1
        return min(max(i, 0), len(self) - 1)

    def audio_samples(
        self, start_s: float | None = None, end_s: float | None = None, rate: int = 16000
    ) -> np.ndarray:
        """Mono float32 audio between ``start_s`` and ``end_s`` (seconds, video time)."""
        raise VideoError(self.path, "has no audio track")

    # -- frames ----------------------------------------------------------------------------
    def _check_index(self, i: Any) -> int:
        i = operator.index(i)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {i} is outside the video (0..{n - 1})")
        return i

    def __getitem__(self, i: int) -> np.ndarray:
        i = self._check_index(i)
        if self._closed:
            raise VideoError(self.path, "is closed", "Open the video again")
        a = self._cache.get(i)
        if a is None:
            with self._cond:
                self._fg_waiting += 1
            try:
                with self._decode_lock:
                    if self._closed:
                        raise VideoError(self.path, "is closed", "Open the video again")
                    a = self._cache.get(i)
                    if a is None:
                        a = self._load(i, foreground=True)
            finally:
                with self._cond:
                    self._fg_waiting -= 1
                    self._cond.notify_all()
        self._schedule_readahead(i + 1)
        return a

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def cached_indices(self) -> list[int]:
        """Frames in the cache, least recently used first (for tests and diagnostics)."""
        return self._cache.keys()

    @property
    def cache_nbytes(self) -> int:
        """Bytes of frames held in the cache now."""
        return self._cache.nbytes

    @property
    def cache_max_bytes(self) -> int:
        return self._cache.max_bytes

    def _store(self, i: int, a: np.ndarray) -> np.ndarray:
        a.flags.writeable = False
        self._cache.put(i, a)
        return a

    def _load(self, i: int, foreground: bool) -> np.ndarray:
        """Decode frame ``i`` (decode lock held), put it in the cache and return it."""
        raise NotImplementedError

    # -- read-ahead ------------------------------------------------------------------------
    def _schedule_readahead(self, start: int) -> None:
        n = self._readahead
        if n == 0 or self._cache.max_bytes == 0 or self._closed:
            return
        fb = self._size[0] * self._size[1] * 3 or 1
        n = min(n, max(0, self._cache.max_bytes // (4 * fb)))
        end = min(start + n, len(self))
        if start >= end:
            return
        with self._cond:
            self._ra_range = (start, end)
            if self._ra_thread is None:
                self._ra_thread = threading.Thread(
                    target=_readahead_main,
                    args=(weakref.ref(self), self._cond),
                    name=f"readahead:{self.path.name}",
                    daemon=True,
                )
                self._ra_thread.start()
            self._cond.notify_all()

    def _readahead_run(self, start: int, end: int) -> None:
        """Decode frames ``start..end-1`` into the cache, yielding to foreground reads."""
        for j in range(start, end):
            with self._cond:
                # a foreground read or a newer request wins; closing stops at once
                while self._fg_waiting and not self._closed:
                    self._cond.wait()
                if self._closed or self._ra_range is not None:
                    return
            if j in self._cache:
                continue
            with self._decode_lock:
                if self._closed:
                    return
                if j in self._cache:
                    continue
                try:
                    self._load(j, foreground=False)
                except VideoError as e:
                    log.debug("read-ahead stopped at frame %d: %s", j, e)
                    return
                except Exception:  # a bug: log it, never kill the app from here
                    log.exception("read-ahead failed at frame %d", j)
                    return

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Stop read-ahead, drop the cache and release the file. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            t = self._ra_thread
        if t is not None and t is not threading.current_thread():
            t.join()
        with self._decode_lock:
            self._release()
        self._cache.clear()

    def _release(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Video:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        w, h = self.size
        return (
            f"<{type(self).__name__} {self.path.name!r} {len(self)} frames {w}x{h} "
            f"{self.fps:.3g} fps>"
        )


def _readahead_main(ref: weakref.ref[Video], cond: threading.Condition) -> None:
    """The read-ahead thread. It holds the video only weakly between requests, so a video
    that nobody closed can still be garbage-collected (its ``__del__`` closes it)."""
    while True:
        with cond:
            rng = None
            while rng is None:
                v = ref()
                if v is None or v._closed:
                    return
                rng, v._ra_range = v._ra_range, None
                if rng is None:
                    v = None
                    cond.wait(timeout=1.0)
        v._readahead_run(*rng)
        v = None
