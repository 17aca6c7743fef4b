"""Where the tracks ``annotator evaluate`` scores come from: a project folder or an LU-AVS
export or release (a folder with ``seg_<subset>.json``, or one of its JSON files).

:func:`open_tracks` is a context manager: a project is opened read-only (another process may be
editing it) and stays open while its tracks' masks are read. :func:`open_same_video` opens a
second annotation of a project's video for the window's *Compare with…* (kept open while its
masks are shown), refusing one of another video.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.tracks import Track
from annotator.errors import UserError


def kind_of(path: Path) -> str:
    """``"project"``, ``"lu-avs"``, or a :class:`UserError` saying what was expected."""
    from annotator.core.project import is_project

    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir() and is_project(path):
        return "project"
    if path.is_file() and path.name == "project.avs":
        return "project"
    if (path.is_file() and path.suffix.lower() == ".json") or (
            path.is_dir() and any(path.glob("*seg*_*.json"))):
        return "lu-avs"
    raise UserError(f"{path}: neither a project folder nor an LU-AVS export (a folder with "
                    "seg_<subset>.json, or that JSON file)")


@contextmanager
def open_tracks(path: str | Path, *, end: str | None = None,
                video_id: str | None = None) -> Iterator[list[Track]]:
    """The tracks of ``path``; ``end``: an LU-AVS file's end convention (default: its
    ``format.json``, else inclusive); ``video_id``: a project's video id (default: its video
    name), to match an export's ids."""
    path = Path(path)
    if kind_of(path) == "lu-avs":
        from annotator.core.lu_avs import release_tracks

        yield release_tracks(path, end=end)
        return
    from annotator.core.lu_avs import project_tracks
    from annotator.core.project import Project

    with Project.open(path if path.is_dir() else path.parent, readonly=True) as project:
        yield project_tracks(project.store, video_id)


# -- a second annotation of the open video (Review ▸ Compare with…) ------------------------
@dataclass(frozen=True)
class VideoShape:
    """What makes two annotations annotations of one video: its frame count and size (and the
    duration and rate an LU-AVS export records); ``name``: the video id its tracks carry."""

    name: str
    frame_count: int
    size_hw: tuple[int, int]
    fps: float
    duration: float | None = None


def video_shape(store: Any) -> VideoShape:
    """The shape of a project's video, read from its store."""
    from annotator.core.export_files import sequence_name

    rec = store.video()
    return VideoShape(sequence_name(store), int(store.frame_count), tuple(store.size_hw),
                      float(rec.fps or 0.0), rec.duration)


class OpenSource:
    """The tracks of a source kept open while their masks are read (from any thread) until
    :meth:`close`; what :func:`open_same_video` returns. ``objects[i]``: the object of the
    project compared with that track ``i`` is about (None: none; set by the comparison)."""

    def __init__(self, path: Path, kind: str, tracks: list[Track],
                 closer: Callable[[], None] = lambda: None) -> None:
        self.path, self.kind, self.tracks = path, kind, tracks
        self.objects: list[int | None] = [None] * len(tracks)
        self._closer = closer
        self._lock = threading.Lock()
        self.closed = False

    @property
    def name(self) -> str:
        return self.path.name

    def masks_at(self, frame: int) -> list[tuple[int, np.ndarray]]:
        """``(index in tracks, H×W bool)`` of every track holding ``frame`` with a mask that is
        not empty there (nothing once closed)."""
        out = []
        with self._lock:
            if self.closed:
                return []
            for i, t in enumerate(self.tracks):
                if frame in t:
                    m = t.mask(frame)
                    if m is not None and np.any(m):
                        out.append((i, np.asarray(m, bool)))
        return out

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self._closer()


def open_same_video(path: str | Path, like: VideoShape) -> OpenSource:
    """A project folder or an LU-AVS export of the video ``like`` describes, opened read-only,
    its tracks named ``like.name``. A :class:`UserError` naming the file when it is unreadable
    or of another video (another frame count or size; an export whose segments run past the
    video's end, whose masks have another size, or whose rate or duration is another video's);
    an export holding several videos must hold one named ``like.name``."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "project":
        from annotator.core.lu_avs import project_tracks
        from annotator.core.project import Project

        project = Project.open(path if path.is_dir() else path.parent, readonly=True)
        try:
            store = project.store
            n, hw = int(store.frame_count), tuple(store.size_hw)
            if (n, hw) != (like.frame_count, like.size_hw):
                raise UserError(f"{path}: a project of another video ({_shape(n, hw)}; this "
                                f"video has {_shape(like.frame_count, like.size_hw)}); "
                                "choose a project or an export of the same video")
            tracks = project_tracks(store, like.name)
        except BaseException:
            project.close()
            raise
        return OpenSource(path, kind, tracks, project.close)
    return OpenSource(path, kind, _export_tracks(path, like))


def _shape(n: int, hw: tuple[int, int]) -> str:
    return f"{n} frames of {hw[1]}×{hw[0]}"


def _export_tracks(path: Path, like: VideoShape) -> list[Track]:
    from annotator.core.lu_avs import entry_arrays, npy_array, read_entries, release_tracks

    npy_array.cache_clear()  # an export written again since: read the files now there
    entries = read_entries(path)
    videos = sorted({e.video_id for e in entries})
    if len(videos) > 1:
        if like.name not in videos:
            raise UserError(f"{path}: an export of {len(videos)} videos "
                            f"({', '.join(videos[:3])}{', …' if len(videos) > 3 else ''}), none "
                            f"named {like.name!r}; choose an export of this video")
        videos = [like.name]
    mine = [e for e in entries if e.video_id in videos]
    for e in mine:
        if e.end >= like.frame_count:
            raise UserError(f"{path}: a segment of {e.label!r} ends at frame {e.end}, past the "
                            f"last frame ({like.frame_count - 1}) of this video; choose an "
                            "export of the same video")
        if e.fps and like.fps and abs(float(e.fps) - like.fps) > 0.01 * like.fps:
            raise UserError(f"{path}: an export of a {float(e.fps):g} fps video; this video "
                            f"runs at {like.fps:g} fps; choose an export of the same video")
        if e.duration and like.fps:
            frames = float(e.duration) * like.fps
            ours = (like.duration or like.frame_count / like.fps) * like.fps
            if abs(frames - ours) > 2 + 0.01 * ours:
                raise UserError(f"{path}: an export of a {float(e.duration):g} s video; this "
                                f"video lasts {ours / like.fps:g} s; choose an export of the "
                                "same video")
        masks, _ = entry_arrays(e)
        if masks is not None and tuple(npy_array(masks).shape[1:]) != like.size_hw:
            h, w = npy_array(masks).shape[1:3]
            raise UserError(f"{masks}: masks of {w}×{h}; this video is "
                            f"{like.size_hw[1]}×{like.size_hw[0]}; choose an export of the "
                            "same video")
    return [replace(t, video=like.name) for t in release_tracks(path) if t.video in videos]
