"""Where the tracks ``annotator evaluate`` scores come from: a project folder or an LU-AVS
export or release (a folder with ``seg_<subset>.json``, or one of its JSON files).

:func:`open_tracks` is a context manager: a project is opened read-only (another process may be
editing it) and stays open while its tracks' masks are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
