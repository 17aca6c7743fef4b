"""Folders of frame images (``00000.jpg …``, DAVIS style): the reader behind
:func:`annotator.core.video_open.open_video` for a folder.

Frame ``i`` is the i-th image name in natural order; the folder has ``fps`` frames a second
(default :data:`~annotator.core.video.DEFAULT_FOLDER_FPS`) and no audio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.video import DEFAULT_FOLDER_FPS, FrameDecodeError, Video, VideoError
from annotator.core.video_index import FrameIndex, folder_index, list_frame_files


class FolderVideo(Video):
    """A folder of frame images, frame ``i`` being the i-th name in natural order."""

    def __init__(self, path: Path, index: FrameIndex, fps: float, **kw: Any) -> None:
        super().__init__(path, index, **kw)
        self._fps = float(fps)
        self._names: list[str] = list(index.source["names"])
        first = self._read_image(0)
        self._size = (first.shape[1], first.shape[0])
        self._store(0, first)

    @property
    def fps(self) -> float:
        return self._fps

    def _read_image(self, i: int) -> np.ndarray:
        import cv2

        p = self.path / self._names[i]
        try:
            buf = np.fromfile(p, dtype=np.uint8)
        except OSError as e:
            raise FrameDecodeError(self.path, i, f"{p.name}: {e.strerror or e}") from e
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
        if img is None:
            raise FrameDecodeError(self.path, i, f"{p.name} is not a readable image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def _load(self, i: int, foreground: bool) -> np.ndarray:
        a = self._read_image(i)
        if (a.shape[1], a.shape[0]) != self._size:
            w, h = self._size
            raise FrameDecodeError(
                self.path, i, f"{self._names[i]} is {a.shape[1]}x{a.shape[0]}, not {w}x{h}"
            )
        return self._store(i, a)


def open_folder(
    p: Path, frame_index: FrameIndex | None, fps: float | None, kw: dict[str, Any]
) -> FolderVideo:
    try:
        names = list_frame_files(p)
        if not names and (p / "JPEGImages").is_dir():  # a DAVIS sequence folder
            p = p / "JPEGImages"
            names = list_frame_files(p)
    except OSError as e:
        raise VideoError(p, f"cannot list the folder ({e.strerror or e})") from e
    if not names:
        raise VideoError(
            p,
            "folder contains no frame images",
            "A frame folder holds images named in order (00000.jpg, 00001.jpg …)",
        )
    fps = float(fps) if fps else DEFAULT_FOLDER_FPS
    if fps <= 0:
        raise ValueError(f"fps must be positive, not {fps}")
    reused = (
        frame_index is not None
        and frame_index.kind == "folder"
        and frame_index.source.get("names") == names
        and frame_index.stream.get("fps") == fps
    )
    index = frame_index if reused else folder_index(p, names, fps)
    assert index is not None
    try:
        return FolderVideo(p, index, fps, index_reused=reused, **kw)
    except FrameDecodeError as e:
        raise VideoError(p, f"its first frame cannot be read ({e.frame_reason})") from e
