"""The video's sound: streamed decoding and the cached analysis the timeline draws from.

:func:`iter_audio` streams the first audio stream of a file, resampled with PyAV's
``AudioResampler``, in chunks of about a second: one demux pass, never the whole track in
memory. :class:`AudioAnalysis` derives, in one such pass (:meth:`AudioAnalysis.build`, on a
worker thread), what the timeline and the sound-activity detector need and keeps it under
``<cache_dir>/audio/`` (see :mod:`annotator.core.audio_cache`):

- a peak envelope pyramid: (min, max) of every 64, 512, 4096 and 32768 samples at 16 kHz;
- a log-mel spectrogram (64 bands, 10 ms hop, float16 on disk), and a coarser copy (the max
  over 32 hops) for zoomed-out views;
- per hop: the short-time energy (dBFS) and the spectral flux (mean rise of the log-mel bands);
- onsets: the peaks of the spectral flux, in seconds.

Seconds are *video time*: 0 is the first frame's timestamp, as everywhere in the project. A
video without audio has ``has_audio`` False and every reader returns zeros or nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.video import VideoError
from annotator.core.words import plural

ANALYSIS_RATE = 16000  # Hz, mono float32
PREROLL_S = 0.1  # decode from this much before a seek target (codecs' overlap, priming)
GAP_SAMPLES = 200  # a jump in timestamps larger than this (at 16 kHz) is filled with silence
MAX_BAD_PACKETS = 20  # more undecodable packets than this, and than good ones: damaged


def _av_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.error.FFmpegError, OSError, EOFError)


def _open(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except _av_errors() as e:
        raise VideoError(path, f"its audio cannot be read ({e})",
                         "The file may be damaged; re-encode it or relink the original") from e


def _damaged(path: Path, bad: int, good: int) -> VideoError:
    return VideoError(path, f"its audio track is damaged ({plural(bad, 'packet')} cannot be "
                      f"decoded, {good} can)", "Re-encode the audio (e.g. ffmpeg -i in.mp4 "
                      "-c:v copy -c:a aac out.mp4) or relink an intact copy of the video")


def video_t0(container: Any) -> float:
    """The first video frame's time in the container (seconds); 0 without a video stream."""
    for st in container.streams.video:
        if st.start_time is not None and st.time_base:
            return float(st.start_time * st.time_base)
    return 0.0


def iter_audio(video_path: str | Path, start_s: float = 0.0, *, rate: int = ANALYSIS_RATE,
               channels: int = 1, chunk_s: float = 1.0,
               t0: float | None = None) -> Iterator[np.ndarray]:
    """Stream the video's first audio stream from ``start_s`` (video time: 0 = first frame),
    resampled to ``rate``, as float32 arrays of shape (n,) for mono or (n, channels).

    One demux pass, chunks of ``chunk_s`` seconds (the last one shorter), bounded memory.
    Samples before the audio stream starts are zeros, and so are packets that do not decode
    (the samples after them stay at their time). ``t0`` is the first frame's time in the
    container (default: the video stream's start time; :class:`MediaVideo` knows it exactly).
    Raises :class:`VideoError` if there is no audio, it cannot be read, or more of its packets
    fail to decode than decode (a damaged track).
    """
    path = Path(video_path)
    container = _open(path)
    errors = _av_errors()
    try:
        if not container.streams.audio:
            raise VideoError(path, "has no audio track")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise VideoError(path, "uses an audio codec this build cannot decode",
                             "Re-encode its audio to AAC")
        origin = video_t0(container) if t0 is None else float(t0)
        start = max(0.0, float(start_s))
        abs_start = origin + start
        layout = {1: "mono", 2: "stereo"}.get(channels)
        if layout is None:
            raise ValueError(f"channels must be 1 or 2, not {channels}")
        import av

        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        chunk_n = max(1, int(round(chunk_s * rate)))
        if start > 0 and stream.time_base:
            # a little earlier: the decoder's first frame after a seek lacks its overlap
            pre = max(0.0, abs_start - PREROLL_S)
            try:
                container.seek(int(pre / stream.time_base), stream=stream, backward=True)
            except errors:  # not seekable: decode from the start (put() drops what is before)
                container.close()
                container = _open(path)
                stream = container.streams.audio[0]
        pending: list[np.ndarray] = []
        have = 0
        cursor: int | None = None  # where the next sample out of the resampler goes
        bad = good = 0  # packets that failed to decode / that decoded

        def emit(a: np.ndarray) -> Iterator[np.ndarray]:
            nonlocal have, pending
            pending.append(a)
            have += len(a)
            while have >= chunk_n:
                buf = np.concatenate(pending)
                yield np.ascontiguousarray(buf[:chunk_n])
                rest = buf[chunk_n:]
                pending, have = ([rest], len(rest)) if len(rest) else ([], 0)

        def put(a: np.ndarray) -> Iterator[np.ndarray]:
            """Samples from ``cursor`` on (relative to start_s): those before it are dropped
            (the seek landed earlier)."""
            nonlocal cursor
            assert cursor is not None
            first, cursor = cursor, cursor + len(a)
            if first < 0:
                a = a[min(-first, len(a)):]
            if len(a):
                yield from emit(a)

        def convert(frames: list[Any]) -> Iterator[np.ndarray]:
            for out in frames:
                # packed float32: the plane holds the interleaved samples (then padding)
                a = np.frombuffer(out.planes[0], np.float32, out.samples * channels).copy()
                yield from put(a if channels == 1 else a.reshape(-1, channels))

        def silence(n: int) -> Iterator[np.ndarray]:
            while n > 0:  # in pieces: a long gap never makes one large array
                k = min(n, chunk_n)
                n -= k
                yield from put(np.zeros((k,) if channels == 1 else (k, channels), np.float32))

        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except errors:
                    bad += 1
                    if bad > MAX_BAD_PACKETS and bad > good:
                        raise _damaged(path, bad, good) from None
                    continue
                good += bool(frames)
                for fr in frames:
                    pos = None if fr.time is None else int(round((fr.time - abs_start) * rate))
                    if cursor is None:
                        cursor = min(pos, 0) if pos is not None else 0
                    if pos is not None and pos - cursor > GAP_SAMPLES * rate // 16000:
                        # the audio starts after start_s, or packets were lost: silence
                        yield from silence(pos - cursor)
                    yield from convert(resampler.resample(fr))
            if cursor is not None:
                yield from convert(resampler.resample(None))
        except errors as e:
            raise VideoError(path, f"its audio cannot be read ({e})",
                             "The file may be damaged or truncated") from e
        if bad and (not good or bad > good):
            raise _damaged(path, bad, good)
        if have:
            yield np.ascontiguousarray(np.concatenate(pending))
    finally:
        container.close()


def _describe(video: Any) -> tuple[Path, float | None, float, bool]:
    """(path, first-frame time or None, duration in seconds, has audio) of a :class:`Video`
    or of a media file's path (then the audio stream's own length)."""
    if isinstance(video, (str, Path)):
        path = Path(video)
        c = _open(path)
        try:
            has = bool(c.streams.audio)
            dur = 0.0
            if has:
                st = c.streams.audio[0]
                if st.duration and st.time_base:
                    dur = float(st.duration * st.time_base)
            if not dur and c.duration:
                dur = c.duration / 1e6
            return path, video_t0(c), float(dur), has
        finally:
            c.close()
    return (Path(video.path), getattr(video, "_t0", None), float(video.duration),
            bool(getattr(video, "has_audio", False)))


class AudioAnalysis:
    """The cached analysis of one video's sound (see the module docstring).

    Construction is cheap (no decoding); :meth:`build` makes the cache on a worker thread and
    every reader is then fast and safe from any thread. Readers before the cache is ready, or
    for a video without audio, return zeros (:meth:`envelope`, :meth:`spectrogram`) or
    nothing (:meth:`onsets`).
    """

    def __init__(self, video: Any, cache_dir: str | Path) -> None:
        from annotator.core.audio_cache import AudioCache

        self.path, t0, self.duration_s, self.has_audio = _describe(video)
        self._t0 = t0
        self.rate = ANALYSIS_RATE
        self._cache = AudioCache(Path(cache_dir) / "audio", self.path, t0, self.duration_s)
        self._lock = threading.Lock()

    @property
    def cache_dir(self) -> Path:
        return self._cache.dir

    @property
    def ready(self) -> bool:
        """Whether the cache is built and matches this video."""
        return self.has_audio and self._cache.valid()

    def build(self, progress: Callable[[float], None] | None = None,
              cancel: threading.Event | None = None) -> bool:
        """Decode the sound once and write the cache (a worker thread's job; idempotent).

        ``progress`` gets the fraction done (0..1); returns False when ``cancel`` was set
        (nothing half-written is left as valid). A video without audio has nothing to build.
        Raises :class:`VideoError` when the audio cannot be read."""
        if not self.has_audio:
            if progress:
                progress(1.0)
            return True
        with self._lock:
            if self._cache.valid():
                if progress:
                    progress(1.0)
                return True
            chunks = iter_audio(self.path, 0.0, rate=self.rate, chunk_s=10.0, t0=self._t0)
            try:
                return self._cache.write(chunks, progress, cancel)
            finally:
                chunks.close()  # cancelled: the file is closed now, not when collected

    # -- readers --------------------------------------------------------------------------
    def envelope(self, t0: float, t1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        """Per column of [t0, t1): the (min, max) of the waveform in [-1, 1], float32 arrays
        of shape (columns,), from the pyramid level closest to the zoom; zeros outside the
        track (and before the cache is ready)."""
        columns = max(0, int(columns))
        lo, hi = np.zeros(columns, np.float32), np.zeros(columns, np.float32)
        if columns == 0 or t1 <= t0 or not self.ready:
            return lo, hi
        return self._cache.envelope(float(t0), float(t1), columns)

    def spectrogram(self, t0: float, t1: float, columns: int) -> np.ndarray:
        """Log-mel of [t0, t1), shape (n_mels, columns), float32 in [0, 1] (0: 80 dB or more
        below the track's loudest band), row 0 = the lowest band; zeros outside the track."""
        columns = max(0, int(columns))
        if columns == 0 or t1 <= t0 or not self.ready:
            from annotator.core.audio_cache import N_MELS

            return np.zeros((N_MELS, columns), np.float32)
        return self._cache.spectrogram(float(t0), float(t1), columns)

    def onsets(self) -> np.ndarray:
        """Onset times in seconds, sorted float64 (for snapping segment edges)."""
        if not self.ready:
            return np.zeros(0, np.float64)
        return self._cache.onsets()

    def features(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(hop in seconds, energy in dBFS per hop, spectral flux per hop) for the
        sound-activity detector; hop k is centred on k × hop seconds. Empty before the cache
        is ready or without audio."""
        if not self.ready:
            empty = np.zeros(0, np.float32)
            return self._cache.hop_s, empty, empty
        return self._cache.features()
