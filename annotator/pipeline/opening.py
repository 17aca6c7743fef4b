"""Opening a project for the window, and the snapshot of it the window keeps (Qt-free).

:func:`open_project` and :func:`create_project` run on a worker thread (fingerprints, indexes,
the first read); a project on read-only media, or one another process is editing, opens view
only. :class:`Structure` is what the session keeps in memory — objects, segments, sound
proposals — read by :func:`read_structure` on the serial thread after each write that changes
them; at opening it also carries the undo history, the video's key and, for a project that lies
in a dataset, the dataset's vocabulary (what the object dialog offers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

#: how many of the store's operations the undo stack mirrors
HISTORY_LIMIT = 500


@dataclass(frozen=True)
class Structure:
    """The objects, audible segments and sound proposals of the project, as one snapshot."""

    objects: tuple = ()
    segments: tuple = ()
    proposals: tuple = ()
    history: tuple | None = None  # the store's operations, when asked for (the undo stack's)
    video_key: str = "video"  # the video's content fingerprint, short (embedding cache keys)
    #: the dataset's categories (:class:`annotator.core.vocabulary.Category`, accepted first)
    #: when the project lies in a dataset, else None; read once, at opening
    vocabulary: tuple | None = None


def read_structure(store: Any, history: bool = False) -> Structure:
    """What the views list; with ``history`` also what is read once, at opening."""
    video = store.video() if history else None
    return Structure(tuple(store.objects()), tuple(store.segments()), tuple(store.proposals()),
                     tuple(store.history(HISTORY_LIMIT)) if history else None,
                     ((video.fingerprint or "video")[:16] if video else "video"))


def open_project(directory: str | Path) -> tuple[Any, Any, Structure]:
    """Open the project, its video and its objects and segments. A project on read-only media
    or one another process is editing opens view only."""
    from annotator.core.lock import ProjectLockedError, ProjectReadOnlyError
    from annotator.core.project import Project

    try:
        project = Project.open(directory)
    except ProjectReadOnlyError:  # read-only media or no write permission: view only
        project = Project.open(directory, readonly=True)
    except ProjectLockedError as exc:  # being edited by another window or command: view it
        project = Project.open(directory, readonly=True)
        project.store.held_by = exc.pid
    return _with_video(project)


def create_project(video_path: str | Path,
                   directory: str | Path | None = None) -> tuple[Any, Any, Structure]:
    """Create a project in ``directory`` (default: beside the video, ``VIDEO.avsproj``, or
    the per-user projects folder when the video's folder cannot be written to) and open it;
    an existing project there is opened instead."""
    from annotator.core.project import Project, is_project, suggested_project_dir

    video_path = Path(video_path)
    directory = Path(directory) if directory else suggested_project_dir(video_path)[0]
    if is_project(directory):
        return open_project(directory)
    return _with_video(Project.create(directory, video_path))


def _with_video(project: Any) -> tuple[Any, Any, Structure]:
    """``(project, its open video, its structure)``; the project is closed again if the video
    cannot open."""
    from annotator import settings

    try:
        cache = settings.get("cache.frames_mb") << 20
        return (project, project.open_video(cache_bytes=cache),
                replace(read_structure(project.store, history=True),
                        vocabulary=dataset_vocabulary(project.dir)))
    except BaseException:
        project.close()
        raise


def dataset_vocabulary(project_dir: str | Path) -> tuple | None:
    """The vocabulary of the dataset the project lies in (None: in none, or its database
    cannot be read now: the object dialog then offers the project's own categories)."""
    from annotator.core.dataset import categories_for
    from annotator.errors import UserError

    try:
        found = categories_for(project_dir)
    except UserError:
        return None
    return None if found is None else tuple(found)
