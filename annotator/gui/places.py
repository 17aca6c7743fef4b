"""Where the person was in each project: the last frame and object viewed.

View state, per person, so it is kept in the window's settings (QSettings) keyed by the
project's path — the project file holds annotations and may be shared or read-only; nothing is
written to it just because someone looked at a frame.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from annotator.gui import settings as S


def _key(project_dir: str | Path) -> str:
    path = str(Path(project_dir).resolve())
    return "places/" + hashlib.sha1(path.encode()).hexdigest()[:16]


def save(project_dir: str | Path, frame: int, object_id: int | None) -> None:
    s, key = S.app_settings(), _key(project_dir)
    s.setValue(f"{key}/path", str(Path(project_dir).resolve()))
    s.setValue(f"{key}/frame", int(frame))
    s.setValue(f"{key}/object", -1 if object_id is None else int(object_id))
    s.sync()


def load(project_dir: str | Path) -> tuple[int, int | None]:
    """``(frame, object id or None)`` last viewed (frame 0 and no object the first time)."""
    s, key = S.app_settings(), _key(project_dir)
    frame, oid = int(s.value(f"{key}/frame", 0)), int(s.value(f"{key}/object", -1))
    return frame, (oid if oid >= 0 else None)
