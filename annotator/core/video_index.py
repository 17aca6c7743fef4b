"""The frame index of a video: which frame is where, built once and kept in the project.

A media file's index comes from a demux-only scan of the video stream's packets (nothing is
decoded): every packet is one frame, and sorting the packets by presentation timestamp gives
the display order that a plain sequential decode produces. For each frame the index keeps its
timestamp, its packet's position in decode order and the keyframe to seek to before decoding
it. That makes random access frame-accurate even where the container's frame count is wrong
or missing, for variable frame rate, and for B-frames (decode order ≠ display order).

A frame folder's index is the sorted list of its image names.

``FrameIndex.to_bytes()`` / ``FrameIndex.from_bytes()`` serialise an index for the project
store; ``FrameIndex.matches(path)`` tells cheaply (a file-size check and a hash of the file's
first and last 64 KiB) whether a stored index still describes the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.words import plural

FORMAT_VERSION = 1
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
_SAMPLE_BYTES = 64 * 1024
DTS_SEEK_FORMATS = frozenset({"mpegts", "mpeg", "flv"})


class FrameIndexFormatError(ValueError):
    """A stored frame index that cannot be read (corrupt bytes, other format version)."""


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A cheap content fingerprint: size plus a BLAKE2b of the first and last 64 KiB.

    Reads at most 128 KiB, so validating a stored index costs next to nothing even for an
    hour-long video; the modification time is deliberately not used, so copying a project and
    its video elsewhere keeps the index valid.
    """
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    with open(p, "rb") as f:
        h.update(f.read(_SAMPLE_BYTES))
        if size > _SAMPLE_BYTES:
            f.seek(max(_SAMPLE_BYTES, size - _SAMPLE_BYTES))
            h.update(f.read(_SAMPLE_BYTES))
    return {"size": size, "sample_blake2b": h.hexdigest()}


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_frame_files(folder: str | os.PathLike[str]) -> list[str]:
    """Image file names in ``folder`` in natural order (``2.jpg`` before ``10.jpg``), hidden
    files left out."""
    names = [
        e.name
        for e in os.scandir(folder)
        if e.is_file()
        and not e.name.startswith(".")  # hidden files, macOS "._00000.jpg" resource forks
        and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS
    ]
    names.sort(key=_natural_key)
    return names


@dataclass
class FrameIndex:
    """Where each frame of one video is; serialisable with :meth:`to_bytes`.

    Arrays are in display order (frame ``i`` of the video is entry ``i``):

    - ``pts``: presentation timestamp in ``time_base`` units (for folders, ``i``);
    - ``decode_pos``: position of the frame's packet in decode order;
    - ``seek_key``: which keyframe (entry of the ``key_*`` arrays) to seek to before decoding
      the frame, ``-1`` for "from the start of the file".

    Per keyframe: ``key_ts`` (the timestamp to seek to, in ``time_base`` units) and
    ``key_decode_pos`` (its packet's position in decode order).
    """

    kind: str  # "media" or "folder"
    source: dict[str, Any]  # file fingerprint (media) or {"names": [...]} (folder)
    stream: dict[str, Any]  # stream index, codec, width, height (media)
    time_base: Fraction
    pts: np.ndarray
    decode_pos: np.ndarray
    seek_key: np.ndarray
    key_ts: np.ndarray
    key_decode_pos: np.ndarray
    last_duration: int = 0  # duration of the last frame in time_base units (0: unknown)
    notes: list[str] = field(default_factory=list)  # e.g. "file is truncated"
    packets: int = 0  # packets scanned to build it

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    @functools.cached_property
    def key_display(self) -> np.ndarray:
        """Display index of each keyframe (derived, not stored)."""
        key_display = np.zeros(len(self.key_ts), dtype=np.int64)
        if len(self.key_ts):
            where = np.full(int(self.decode_pos.max()) + 1, -1, dtype=np.int64)
            where[self.decode_pos] = np.arange(len(self))
            kd = self.key_decode_pos
            ok = kd < len(where)
            key_display[ok] = where[kd[ok]]
        return key_display

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (lists of ints); :meth:`to_bytes` is the compact one."""
        return {
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "source": self.source,
            "stream": self.stream,
            "time_base": [self.time_base.numerator, self.time_base.denominator],
            "last_duration": int(self.last_duration),
            "notes": list(self.notes),
            "packets": int(self.packets),
            "pts": self.pts.tolist(),
            "decode_pos": self.decode_pos.tolist(),
            "seek_key": self.seek_key.tolist(),
            "key_ts": self.key_ts.tolist(),
            "key_decode_pos": self.key_decode_pos.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FrameIndex:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` for anything malformed."""
        try:
            if d["version"] != FORMAT_VERSION:
                raise FrameIndexFormatError(
                    f"frame index format {d['version']}, expected {FORMAT_VERSION}"
                )
            idx = cls(
                kind=str(d["kind"]),
                source=dict(d["source"]),
                stream=dict(d["stream"]),
                time_base=Fraction(int(d["time_base"][0]), int(d["time_base"][1])),
                pts=np.asarray(d["pts"], dtype=np.int64),
                decode_pos=np.asarray(d["decode_pos"], dtype=np.int64),
                seek_key=np.asarray(d["seek_key"], dtype=np.int64),
                key_ts=np.asarray(d["key_ts"], dtype=np.int64),
                key_decode_pos=np.asarray(d["key_decode_pos"], dtype=np.int64),
                last_duration=int(d.get("last_duration", 0)),
                notes=[str(n) for n in d.get("notes", [])],
                packets=int(d.get("packets", 0)),
            )
        except FrameIndexFormatError:
            raise
        except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError) as e:
            raise FrameIndexFormatError(f"malformed frame index: {e!r}") from e
        idx._check()
        return idx

    def to_bytes(self) -> bytes:
        """Compact binary form (a compressed ``.npz``; ~2–4 bytes a frame) for a SQLite BLOB."""
        meta = self.to_dict()
        for k in ("pts", "decode_pos", "seek_key", "key_ts", "key_decode_pos"):
            del meta[k]
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            # deltas compress far better than raw timestamps
            pts=np.diff(self.pts, prepend=0),
            decode_pos=self.decode_pos,
            seek_key=self.seek_key,
            key_ts=self.key_ts,
            key_decode_pos=self.key_decode_pos,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameIndex:
        """Inverse of :meth:`to_bytes`; raises ``ValueError`` for anything malformed."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                d = json.loads(z["meta"].tobytes().decode())
                d["pts"] = np.cumsum(z["pts"].astype(np.int64))
                for k in ("decode_pos", "seek_key", "key_ts", "key_decode_pos"):
                    d[k] = z[k]
        except FrameIndexFormatError:
            raise
        except Exception as e:  # np.load raises many kinds for bad bytes
            raise FrameIndexFormatError(f"unreadable frame index: {e!r}") from e
        return cls.from_dict(d)

    def _check(self) -> None:
        n = len(self)
        if n == 0:
            raise FrameIndexFormatError("frame index has no frames")
        if self.decode_pos.shape != (n,) or self.seek_key.shape != (n,):
            raise FrameIndexFormatError("frame index arrays disagree in length")
        if self.key_ts.shape != self.key_decode_pos.shape:
            raise FrameIndexFormatError("frame index keyframe arrays disagree in length")
        if n > 1 and np.any(np.diff(self.pts) <= 0):
            raise FrameIndexFormatError("frame index timestamps are not increasing")
        if self.seek_key.min() < -1 or self.seek_key.max() >= self.key_ts.shape[0]:
            raise FrameIndexFormatError("frame index refers to a keyframe it does not have")

    def equals(self, other: FrameIndex) -> bool:
        """Same frames, same timestamps, same seek plan."""
        return (
            self.kind == other.kind
            and self.source == other.source
            and self.stream == other.stream
            and self.time_base == other.time_base
            and self.last_duration == other.last_duration
            and all(
                np.array_equal(getattr(self, k), getattr(other, k))
                for k in ("pts", "decode_pos", "seek_key", "key_ts", "key_decode_pos")
            )
        )

    # -- validation ------------------------------------------------------------------------
    def matches(self, path: str | os.PathLike[str]) -> bool:
        """Whether this index still describes ``path`` (cheap: no decoding, ≤128 KiB read)."""
        try:
            if self.kind == "folder":
                return Path(path).is_dir() and list_frame_files(path) == self.source.get("names")
            return Path(path).is_file() and file_fingerprint(path) == self.source
        except OSError:
            return False

    # -- time ------------------------------------------------------------------------------
    def times(self) -> np.ndarray:
        """Seconds of each frame since the first frame (float64)."""
        rel = self.pts - self.pts[0]
        return rel.astype(np.float64) * float(self.time_base)


def folder_index(folder: str | os.PathLike[str], names: list[str], fps: float) -> FrameIndex:
    """Index of a frame folder: frame ``i`` is ``names[i]``, shown at ``i / fps`` seconds."""
    n = len(names)
    tb = Fraction(fps).limit_denominator(1_000_000) ** -1
    return FrameIndex(
        kind="folder",
        source={"names": list(names)},
        stream={"fps": float(fps)},
        time_base=tb,
        pts=np.arange(n, dtype=np.int64),
        decode_pos=np.arange(n, dtype=np.int64),
        seek_key=np.full(n, -1, dtype=np.int64),
        key_ts=np.zeros(0, dtype=np.int64),
        key_decode_pos=np.zeros(0, dtype=np.int64),
        last_duration=1,
        packets=n,
    )


def scan_packets(container: Any, stream: Any, path: str | os.PathLike[str]) -> FrameIndex:
    """Build a media file's index from its video packets, without decoding any of them.

    Raises ``ValueError`` when the stream has no usable packet. A demuxer error part-way
    (a truncated or damaged file) keeps what was read before it and adds a note.
    """
    pts_l: list[int | None] = []
    dts_l: list[int | None] = []
    key_l: list[bool] = []
    dur_l: list[int] = []
    notes: list[str] = []
    size = os.path.getsize(path)
    scanned = 0
    try:
        for p in container.demux(stream):
            if p.size == 0:  # the flush packet at the end, or an empty placeholder
                continue
            scanned += 1
            pos = p.pos
            if p.is_corrupt or (pos is not None and pos >= 0 and pos + p.size > size):
                notes.append(
                    f"the file looks truncated: packet {scanned - 1} is incomplete and was left out"
                )
                continue
            pts_l.append(p.pts)
            dts_l.append(p.dts)
            key_l.append(bool(p.is_keyframe))
            dur_l.append(p.duration or 0)
    except Exception as e:  # av.FFmpegError / OSError part-way: keep what came before
        notes.append(f"reading stopped after {plural(scanned, 'packet')}: {e}")
    n = len(pts_l)
    if n == 0:
        raise ValueError("the video stream has no readable frames")

    have_ts = all(p is not None or d is not None for p, d in zip(pts_l, dts_l))
    if have_ts:
        pts_d = np.array([p if p is not None else d for p, d in zip(pts_l, dts_l)], dtype=np.int64)
    else:  # no timestamps at all (raw elementary streams): decode order is display order
        notes.append("the stream has no timestamps: frames are numbered in decode order")
        pts_d = np.arange(n, dtype=np.int64)
    key_d = np.array(key_l, dtype=bool)
    # The timestamp to seek to for each keyframe. Its pts lands on it in formats with an index
    # (mp4, mov, mkv, webm, avi), where its dts lands a GOP early; formats searched by
    # timestamp (MPEG-TS/PS, FLV) land after it with pts and on it with dts.
    fmt = getattr(getattr(container, "format", None), "name", "") or ""
    if have_ts and set(fmt.split(",")) & DTS_SEEK_FORMATS:
        seek_d = np.array(
            [min(x for x in (p, d) if x is not None) for p, d in zip(pts_l, dts_l)], dtype=np.int64
        )
    else:
        seek_d = pts_d
    dur_d = np.array(dur_l, dtype=np.int64)

    # display order; drop duplicate timestamps (a frame cannot be told from its twin)
    order = np.argsort(pts_d, kind="stable")
    pts_sorted = pts_d[order]
    keep = np.ones(n, dtype=bool)
    keep[1:] = pts_sorted[1:] != pts_sorted[:-1]
    if not keep.all():
        dup = int((~keep).sum())
        notes.append(f"{plural(dup, 'packet')} {'repeats' if dup == 1 else 'repeat'} another's "
                     f"timestamp and {'was' if dup == 1 else 'were'} skipped")
    order = order[keep]

    # keyframes in decode order; the key for packet d is the last one at or before d whose
    # pts is not after the frame's (open-GOP leading pictures need the previous keyframe)
    key_positions = np.flatnonzero(key_d)
    key_pts = pts_d[key_positions]
    key_ts = seek_d[key_positions]
    last_key = np.cumsum(key_d) - 1  # entry in key_positions, -1 before the first keyframe
    seek_key_d = last_key.copy()
    for _ in range(len(key_positions)):
        bad = (seek_key_d >= 0) & (key_pts[np.maximum(seek_key_d, 0)] > pts_d)
        if not bad.any():
            break
        seek_key_d[bad] -= 1

    last = order[-1]
    last_duration = int(dur_d[last])
    if last_duration <= 0 and len(order) > 1:
        last_duration = int(np.median(np.diff(pts_d[order])))
    tb = stream.time_base or Fraction(1, 1)
    cc = stream.codec_context
    return FrameIndex(
        kind="media",
        source=file_fingerprint(path),
        stream={
            "index": int(stream.index),
            "codec": cc.name if cc is not None else "",
            "width": int(cc.width) if cc is not None else 0,
            "height": int(cc.height) if cc is not None else 0,
        },
        time_base=Fraction(tb),
        pts=pts_d[order],
        decode_pos=order.astype(np.int64),
        seek_key=seek_key_d[order].astype(np.int64),
        key_ts=key_ts,
        key_decode_pos=key_positions.astype(np.int64),
        last_duration=max(last_duration, 0),
        notes=notes,
        packets=scanned,
    )


def check_frame_folder(folder: str | os.PathLike[str], names: list[str]) -> list[str]:
    """Check a frame folder before a project is made of it: every image readable (its header)
    and of the first one's size. Raises ``ValueError`` naming the files that are not; returns
    notes (gaps in the frame numbering) for the person to read."""
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    sizes: dict[tuple[int, int], list[str]] = {}
    unreadable: list[str] = []
    for name in names:
        try:
            with Image.open(folder / name) as im:
                sizes.setdefault(im.size, []).append(name)
        except (OSError, UnidentifiedImageError, ValueError):
            unreadable.append(name)
    problems = []
    if unreadable:
        problems.append(f"{len(unreadable)} unreadable image(s): {_some(unreadable)}")
    if len(sizes) > 1:
        main = max(sizes, key=lambda s: len(sizes[s]))
        odd = [n for s, ns in sizes.items() if s != main for n in ns]
        problems.append(f"frames of {len(sizes)} sizes: most are {main[0]}x{main[1]}, but "
                        f"{_some(odd)} differ")
    if problems:
        raise ValueError("; ".join(problems))
    numbers = [int(m.group(1)) for n in names if (m := _LAST_DIGITS.search(Path(n).stem))]
    notes = []
    if len(numbers) == len(names) and numbers:
        gaps = [(a, b) for a, b in zip(numbers, numbers[1:]) if b - a > 1]
        if gaps:
            shown = ", ".join(f"{a + 1}–{b - 1}" if b - a > 2 else f"{a + 1}"
                              for a, b in gaps[:5])
            notes.append(f"{folder}: frame numbers missing ({shown}"
                         f"{', …' if len(gaps) > 5 else ''}); frames are counted in order, "
                         "so times after a gap are early")
    return notes


_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def _some(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")
