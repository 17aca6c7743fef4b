"""Opening a video: :func:`open_video` takes a media file or a folder of frames and returns
a :class:`~annotator.core.video.Video` (see that module for what one offers), read by
:mod:`annotator.core.video_media` (PyAV) or :mod:`annotator.core.video_folder` (images).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from annotator.core.video import (
    DEFAULT_CACHE_BYTES,
    DEFAULT_READAHEAD,
    FrameIndex,
    Video,
    VideoError,
)
from annotator.core.video_folder import open_folder
from annotator.core.video_media import open_media

log = logging.getLogger(__name__)


def open_video(
    path: str | os.PathLike[str],
    frame_index: FrameIndex | bytes | None = None,
    *,
    fps: float | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    readahead: int = DEFAULT_READAHEAD,
) -> Video:
    """Open a media file or a folder of frames.

    ``frame_index`` (a :class:`FrameIndex` or its ``to_bytes()``) is the index kept in the
    project: it is reused when it still matches the file (``video.index_reused``), otherwise
    the file is scanned again and ``video.frame_index`` is the new index to save.
    ``fps`` is the frame rate of a frame folder (default 30); media files keep their own
    timestamps and ignore it. ``cache_bytes`` bounds the frame cache; ``readahead`` is how many
    frames the background thread decodes ahead of the last request (0: none).

    Raises :class:`VideoError` for a missing, unreadable, truncated-beyond-use or non-video
    input, naming the file and the reason.
    """
    p = Path(path)
    if isinstance(frame_index, bytes | bytearray | memoryview):
        try:
            frame_index = FrameIndex.from_bytes(bytes(frame_index))
        except ValueError as e:
            log.info("%s: stored frame index ignored (%s)", p, e)
            frame_index = None
    kw: dict[str, Any] = {"cache_bytes": cache_bytes, "readahead": readahead}
    if not p.exists():
        raise VideoError(p, "no such file or folder", "Check the path, or locate the moved video")
    if not os.access(p, os.R_OK):
        raise VideoError(p, "permission denied", "Make the file readable for your user")
    if p.is_dir():
        return open_folder(p, frame_index, fps, kw)
    if p.stat().st_size == 0:
        raise VideoError(p, "is empty (0 bytes)", "Choose the video again, or copy it again")
    return open_media(p, frame_index, kw)
