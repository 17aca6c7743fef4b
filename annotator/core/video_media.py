"""Media files through PyAV: the decoder behind :func:`annotator.core.video_open.open_video`.

:class:`MediaVideo` seeks to the keyframe before a frame and decodes forward (or keeps decoding
when the target is close ahead), using the frame index of :mod:`annotator.core.video_index`;
:func:`open_media` opens a file, picks its video stream, reuses or builds the index and trims
frames that cannot be decoded at a damaged head or tail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.video import DEFAULT_FOLDER_FPS, FrameDecodeError, Video, VideoError
from annotator.core.video_index import FrameIndex, scan_packets

log = logging.getLogger(__name__)

# Seeking costs about this many frame decodes on top of decoding from the keyframe; when the
# target is no further ahead than (frames from its keyframe + this), keep decoding instead.
SEEK_COST_FRAMES = 4
# A seek-and-decode caches up to this many frames before its target.
KEEP_BEFORE = 32
# Decode the non-reference frames before a target with skip_frame=NONREF (see _frames).
SKIP_NONREF = True


def _av_error_types() -> tuple[type[BaseException], ...]:
    import av

    return (av.error.FFmpegError, OSError, EOFError)


class MediaVideo(Video):
    """A media file decoded with PyAV, seeking through the frame index."""

    def __init__(self, path: Path, index: FrameIndex, container: Any, **kw: Any) -> None:
        super().__init__(path, index, **kw)
        self._container = container
        self._stream = container.streams.video[index.stream["index"]]
        self._setup_stream()
        self._gen: Iterator[Any] | None = None
        self._skip_before = 0  # frames displayed before this one may skip non-reference decoding
        self._next = 0  # display index of the next frame the decoder will output at the least
        self._last_out = -1
        self._pts_list = index.pts  # sorted
        self._frame_bytes = 0
        self._has_audio = bool(container.streams.audio)
        self._fps = self._nominal_fps()
        self._t0 = float(index.pts[0] * index.time_base)

    def _setup_stream(self) -> None:
        # Slice threads only (PyAV's default). Frame threading would decode long H.264 runs
        # faster on many cores, but after a damaged packet it drops the frames in flight, so
        # frame i would no longer be the i-th frame of a plain sequential decode.
        cc = self._stream.codec_context
        cc.thread_type = "SLICE"
        cc.thread_count = 0  # as many as the machine has

    def _nominal_fps(self) -> float:
        # the stream's declared rate when the timestamps agree with it (exact 30000/1001 …),
        # else the measured average (variable frame rate, or a wrong header)
        rate = self._stream.average_rate or self._stream.guessed_rate
        declared = float(rate) if rate else 0.0
        n = len(self._index)
        span = float(self._times[-1]) if n > 1 else 0.0
        measured = (n - 1) / span if span > 0 else 0.0
        if declared > 0 and (measured == 0 or abs(declared - measured) <= 0.002 * declared):
            return declared
        return measured or declared or DEFAULT_FOLDER_FPS

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def has_audio(self) -> bool:
        return self._has_audio

    def _to_index(self, frame: Any, prev: int) -> int:
        pts = frame.pts
        if pts is None:
            return prev + 1
        j = int(np.searchsorted(self._pts_list, pts))
        if j < len(self._pts_list) and self._pts_list[j] == pts:
            return j
        return -1  # a frame the index does not know (ignored)

    def _frames(self) -> Iterator[Any]:
        """Decoded frames from the current demux position; decode errors are skipped.

        Packets of frames displayed before ``self._skip_before`` are decoded with
        ``skip_frame=NONREF``: the decoder drops those that no other frame refers to (the
        B-frames of H.264/HEVC), which nearly halves the work of decoding forward to a target.
        Frames at or after it are always decoded, so the cursor stays sequential.
        """
        errors = _av_error_types()
        cc = self._stream.codec_context
        pts_list = self._pts_list
        skipping = False
        for packet in self._container.demux(self._stream):
            pts = packet.pts
            skip = False
            if pts is not None and self._skip_before > 0:
                j = int(np.searchsorted(pts_list, pts))
                skip = j < self._skip_before and j < len(pts_list) and pts_list[j] == pts
            if skip != skipping:
                cc.skip_frame = "NONREF" if skip else "DEFAULT"
                skipping = skip
            try:
                frames = packet.decode()
            except errors as e:
                log.debug("%s: decode error at pts %s: %s", self.path, packet.pts, e)
                continue
            yield from frames

    def _seek(self, k: int) -> None:
        """Position the demuxer at keyframe ``k`` (-1: the start of the file)."""
        if self._gen is not None:
            self._gen.close()  # type: ignore[attr-defined]
            self._gen = None
        if k >= 0:
            ts = int(self._index.key_ts[k])
        else:
            ts = int(
                min(self._index.pts[0], self._index.key_ts[0] if len(self._index.key_ts) else 0)
            )
        self._container.seek(ts, backward=True, any_frame=False, stream=self._stream)
        self._gen = self._frames()
        self._last_out = (int(self._index.key_display[k]) - 1) if k >= 0 else -1

    def _reopen(self) -> None:
        import av

        if self._gen is not None:
            self._gen.close()  # type: ignore[attr-defined]
            self._gen = None
        self._container.close()
        self._container = av.open(str(self.path), metadata_errors="ignore")
        self._stream = self._container.streams.video[self._index.stream["index"]]
        self._setup_stream()
        self._gen = self._frames()
        self._last_out = -1

    def _convert(self, frame: Any) -> np.ndarray:
        a = frame.to_ndarray(format="rgb24")
        self._frame_bytes = a.nbytes
        return a

    def _load(self, i: int, foreground: bool) -> np.ndarray:
        idx = self._index
        k = int(idx.seek_key[i])
        if self._gen is not None and i >= self._next:
            ahead = int(idx.decode_pos[i]) - int(
                idx.decode_pos[self._next - 1] if self._next else -1
            )
            from_key = int(idx.decode_pos[i]) - (int(idx.key_decode_pos[k]) if k >= 0 else 0)
            forward = ahead <= from_key + SEEK_COST_FRAMES
        else:
            forward = False
        # where to start: keyframe k; when a seek lands after the frame (imprecise seeking,
        # e.g. MPEG-TS), ever earlier keyframes; last, reopen and decode from the very start
        attempts: list[int] = [k]
        step = 1
        while k - step >= 0:
            attempts.append(k - step)
            step *= 2
        attempts.append(-2)
        # keep the frames just before the target (stepping back is then cheap), as many as
        # KEEP_BEFORE and half the cache allow
        keep = (self._cache.max_bytes // 2) // max(self._frame_bytes, 1) if self._frame_bytes else 0
        keep = min(keep, KEEP_BEFORE)
        self._skip_before = i - keep if SKIP_NONREF else 0
        errors = _av_error_types()
        reason = "the decoder produced no picture for it"
        while True:
            if not forward:
                a = attempts.pop(0)
                try:
                    self._reopen() if a == -2 else self._seek(a)
                except errors as e:
                    if a == -2 or not attempts:
                        self._gen = None
                        raise FrameDecodeError(self.path, i, f"seeking failed: {e}") from e
                    continue
            forward = False
            first = True
            assert self._gen is not None
            overshoot = False
            try:
                for frame in self._gen:
                    j = self._to_index(frame, self._last_out)
                    if j < 0:
                        continue
                    self._last_out = j
                    self._next = j + 1
                    if j < i:
                        first = False
                        if i - j <= keep and j not in self._cache:
                            self._store(j, self._convert(frame))
                        continue
                    if j == i:
                        return self._store(i, self._convert(frame))
                    # j > i: frame i was skipped
                    if j not in self._cache and j - i <= 1:
                        self._store(j, self._convert(frame))
                    overshoot = first
                    break
                else:
                    self._gen = None
                    reason = "it is missing from the end of the file (truncated?)"
            except errors as e:
                self._gen = None
                reason = f"reading failed: {e}"
            if (overshoot or first) and attempts:
                continue  # the seek landed after the frame (or nothing came out): start earlier
            raise FrameDecodeError(self.path, i, reason)

    def audio_samples(
        self, start_s: float | None = None, end_s: float | None = None, rate: int = 16000
    ) -> np.ndarray:
        """Mono float32 audio, ``rate`` samples a second, from ``start_s`` to ``end_s``.

        Seconds are video time (0 = the first frame). ``None`` means the start / the end of the
        file. Samples before the audio track starts are zeros.
        """
        import av

        if not self.has_audio:
            raise VideoError(self.path, "has no audio track")
        start = 0.0 if start_s is None else max(0.0, float(start_s))
        abs_start = start + self._t0
        abs_end = None if end_s is None else float(end_s) + self._t0
        if abs_end is not None and abs_end <= abs_start:
            return np.zeros(0, dtype=np.float32)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        errors = _av_error_types()
        try:
            with av.open(str(self.path), metadata_errors="ignore") as c:
                a = c.streams.audio[0]
                resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
                if start > 0 and a.time_base:
                    c.seek(int(abs_start / a.time_base), stream=a, backward=True)
                for packet in c.demux(a):
                    try:
                        frames = packet.decode()
                    except errors:
                        continue
                    for fr in frames:
                        t = fr.time
                        if first_time is None:
                            first_time = t if t is not None else 0.0
                        if abs_end is not None and t is not None and t > abs_end:
                            break
                        for out in resampler.resample(fr):
                            chunks.append(out.to_ndarray().reshape(-1))
                    else:
                        continue
                    break
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
        except errors as e:
            raise VideoError(self.path, f"its audio cannot be read ({e})") from e
        data = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        if first_time is not None:
            offset = int(round((abs_start - first_time) * rate))
            if offset > 0:
                data = data[offset:]
            elif offset < 0:
                data = np.concatenate([np.zeros(-offset, np.float32), data])
        if abs_end is not None:
            n = int(round((abs_end - abs_start) * rate))
            data = data[:n]
        return np.ascontiguousarray(data, dtype=np.float32)

    def _set_index(self, index: FrameIndex) -> None:
        self._index = index
        self._pts_list = index.pts
        self._times = index.times()
        self._t0 = float(index.pts[0] * index.time_base)
        self._cache.clear()
        self._gen = None
        self._next = 0

    def _release(self) -> None:
        if self._gen is not None:
            self._gen.close()  # type: ignore[attr-defined]
            self._gen = None
        try:
            self._container.close()
        except Exception:  # pragma: no cover
            pass


# ------------------------------------------------------------------------------------------
def _trim_tail(video: MediaVideo) -> None:
    """For a file that looked truncated: drop trailing index entries that do not decode."""
    idx = video._index
    n = len(idx)
    for _ in range(8):
        try:
            video._load(n - 1, foreground=True)
            break
        except FrameDecodeError:
            pass
        # decode the last keyframe's stretch: the last frame that comes out is the new end
        k = int(video._index.seek_key[n - 1])
        got = -1
        video._skip_before = 0  # every frame must come out
        try:
            video._reopen() if k < 0 else video._seek(k)
            for frame in video._gen or ():
                j = video._to_index(frame, got)
                if 0 <= j < n - 1:
                    got = max(got, j)
        except _av_error_types():
            pass
        video._gen = None
        n = got + 1 if got >= 0 else n - 1
        if n <= 0:
            raise VideoError(video.path, "no frame of it can be decoded", "The file is damaged")
        video._set_index(_truncated(idx, n))
    else:
        raise VideoError(video.path, "its last frames cannot be decoded", "The file is damaged")
    if n < len(idx):
        dropped = len(idx) - n
        word = "frame does" if dropped == 1 else "frames do"
        video._index.notes.append(f"the last {dropped} {word} not decode and were left out")


def _truncated(idx: FrameIndex, n: int) -> FrameIndex:
    keep = np.zeros(len(idx), dtype=bool)
    keep[:n] = True
    return _subset(idx, keep)


def _subset(idx: FrameIndex, keep: np.ndarray) -> FrameIndex:
    """The index without the frames where ``keep`` is False."""
    return FrameIndex(
        kind=idx.kind,
        source=idx.source,
        stream=idx.stream,
        time_base=idx.time_base,
        pts=idx.pts[keep].copy(),
        decode_pos=idx.decode_pos[keep].copy(),
        seek_key=idx.seek_key[keep].copy(),
        key_ts=idx.key_ts,
        key_decode_pos=idx.key_decode_pos,
        last_duration=idx.last_duration,
        notes=list(idx.notes),
        packets=idx.packets,
    )


def _trim_head(video: MediaVideo) -> None:
    """Drop the frames before the first keyframe that do not decode (a file cut mid-GOP).

    Only frames that no keyframe precedes are in question; decode from the start until past
    the last of them and keep those that came out, so frame i stays the i-th frame of a plain
    sequential decode.
    """
    idx = video._index
    questionable = np.flatnonzero(idx.seek_key == -1)
    if questionable.size == 0:
        return
    last_q = int(questionable[-1])
    seen: set[int] = set()
    video._skip_before = 0
    try:
        video._reopen()
        for frame in video._gen or ():
            j = video._to_index(frame, max(seen, default=-1))
            if j >= 0:
                seen.add(j)
            if j > last_q:
                break
    except _av_error_types():
        pass
    video._gen = None
    video._next = 0
    keep = np.ones(len(idx), dtype=bool)
    for j in questionable.tolist():
        keep[j] = j in seen
    dropped = int((~keep).sum())
    if dropped == 0:
        return
    if dropped == len(idx):
        raise VideoError(video.path, "no frame of it can be decoded", "The file is damaged")
    video._set_index(_subset(idx, keep))
    word = "frame" if dropped == 1 else "frames"
    video._index.notes.append(
        f"{dropped} {word} before the first keyframe cannot be decoded and were left out "
        "(the file starts mid-way through a group of pictures)"
    )


def open_media(p: Path, frame_index: FrameIndex | None, kw: dict[str, Any]) -> Video:
    import av

    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise VideoError(
            p,
            f"cannot be read as a video ({reason})",
            "Choose a video file (mp4, mkv, mov, avi, webm …) or a folder of frames; if it is "
            "one, it may be damaged or incomplete (an unfinished download or recording)",
        ) from e
    except OSError as e:
        raise VideoError(p, f"cannot be read ({e.strerror or e})") from e
    try:
        # the first video stream that is a video, not an album cover or thumbnail
        streams = [
            st
            for st in container.streams.video
            if not (int(st.disposition) & int(av.stream.Disposition.attached_pic))
        ]
        if not streams:
            raise VideoError(
                p,
                "contains no video stream",
                "Choose a video file (mp4, mkv, mov, avi, webm …) or a folder of frames",
            )
        stream = streams[0]
        if stream.codec_context is None:
            raise VideoError(
                p, "uses a video codec this build cannot decode", "Re-encode it to H.264"
            )
        reused = False
        index: FrameIndex | None = None
        if (
            frame_index is not None
            and frame_index.kind == "media"
            and frame_index.stream.get("index") == stream.index
            and frame_index.stream.get("codec") == stream.codec_context.name
            and frame_index.time_base == stream.time_base
            and frame_index.matches(p)
        ):
            index, reused = frame_index, True
        if index is None:
            try:
                index = scan_packets(container, stream, p)
            except ValueError as e:
                raise VideoError(p, str(e), "The file may be empty or damaged") from e
        video = MediaVideo(p, index, container, index_reused=reused, **kw)
    except VideoError:
        container.close()
        raise
    except av.error.FFmpegError as e:
        container.close()
        raise VideoError(p, f"cannot be read ({e})", "The file may be damaged") from e
    try:
        if not reused:
            scan_found_damage = bool(index.notes)  # a truncated or unreadable end
            _trim_head(video)
            if scan_found_damage:
                _trim_tail(video)
        first = video._load(0, foreground=True)
    except FrameDecodeError as e:
        video.close()
        raise VideoError(
            p, f"its first frame cannot be decoded ({e.frame_reason})", "The file may be damaged"
        ) from e
    except VideoError:
        video.close()
        raise
    video._size = (first.shape[1], first.shape[0])
    return video
