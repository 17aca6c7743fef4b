"""A project: one folder per video, holding the store, its caches and the write lock.

::

    <project>/project.avs     the SQLite store (see annotator.core.store)
    <project>/.lock           advisory write lock (see annotator.core.lock)
    <project>/cache/          SAM embeddings, thumbnails: safe to delete at any time

The video stays where it is. The store records its path (relative to the project when
possible), size and a content fingerprint, so a moved or replaced video is detected and the
user is asked for the new path (:meth:`Project.relink`).
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import shutil
from dataclasses import replace
from glob import escape as glob_escape
from pathlib import Path

from annotator.core.lock import ProjectLock, pid_alive
from annotator.core.records import StoreError, VideoRecord
from annotator.core.store import Store
from annotator.core.words import plural
from annotator.errors import ReadOnlyError, UserError, explain

DB_NAME = "project.avs"
CACHE_DIR = "cache"
FINGERPRINT_CHUNK = 1 << 20


class VideoMissingError(UserError):
    """The project's video is not where the project says, or was replaced."""


def fingerprint(path: str | Path) -> str:
    """A fast content fingerprint: SHA-256 of the size and three 1 MiB chunks of the file
    (start, middle, end); for a folder of frames, of the sorted names and sizes and the first
    and last frame's bytes. Reading 3 MiB keeps it instant for hour-long videos."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        for p in files:
            h.update(f"{p.name}:{p.stat().st_size};".encode())
        for p in (files[:1] + files[-1:]):
            h.update(p.read_bytes())
        return h.hexdigest()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as fh:
        for offset in (0, max(0, size // 2 - FINGERPRINT_CHUNK // 2), max(0, size - FINGERPRINT_CHUNK)):
            fh.seek(offset)
            h.update(fh.read(FINGERPRINT_CHUNK))
    return h.hexdigest()


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def default_project_dir(video_path: str | Path) -> Path:
    """Where a new project goes when none is named: ``VIDEO.avsproj`` beside the video."""
    video_path = Path(video_path)
    if not video_path.name:  # "/" or a drive: no name to put a project beside
        raise UserError(f"{video_path} is not a video or a folder of frames: choose the video "
                        "itself")
    return video_path.with_name(video_path.name + ".avsproj")


def folder_is_writable(folder: str | Path) -> bool:
    """Whether a file can be created in ``folder`` (tried for real: permission bits, read-only
    media and network shares all answer the same way)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def user_projects_dir() -> Path:
    """Where projects go when the video's own folder cannot be written to."""
    from annotator.settings import user_data_dir

    return user_data_dir() / "projects"


def suggested_project_dir(video_path: str | Path) -> tuple[Path, str]:
    """``(folder, why)`` for a new project of ``video_path``: an existing project of the video
    (beside it or in the per-user projects folder), else beside the video when that folder
    is writable, else the per-user projects folder; ``why`` says which, for the person."""
    beside = default_project_dir(video_path)
    mine = user_projects_dir() / beside.name
    for found in (beside, mine):
        if is_project(found):
            return found, f"the video already has a project at {found}"
    if folder_is_writable(beside.parent):
        return beside, "beside the video"
    return mine, (f"{beside.parent} cannot be written to, so the project goes in your data "
                  "folder")


def is_project(directory: str | Path) -> bool:
    return (Path(directory) / DB_NAME).is_file()


class Project:
    """An open project. Use :meth:`create` or :meth:`open`; close it (or use ``with``)."""

    def __init__(self, directory: Path, store: Store, lock: ProjectLock | None):
        self.dir = directory
        self.store = store
        self._lock = lock

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(cls, directory: str | Path, video_path: str | Path, *,
               fps: float | None = None, notes: list[str] | None = None) -> Project:
        """Make a new project for ``video_path`` in ``directory`` (created if needed).

        Atomic: the project is built in a hidden sibling (``.NAME.creating-PID``), or in a
        hidden folder inside ``directory`` when it exists (``.project.avs.creating-PID``), and
        renamed into place once complete, so a kill at any moment leaves no project or a whole
        one; what a killed process left is removed by the next ``create``. ``notes``
        receives what the person should know (e.g. gaps in a frame folder's numbering)."""
        from annotator.core.video_open import open_video

        directory = Path(directory).resolve()
        video_path = Path(video_path).resolve()
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise UserError(f"--fps {fps}: a frame rate must be a number above 0")
        if is_project(directory):
            if (directory / DB_NAME).stat().st_size == 0:
                raise StoreError(f"{directory} holds an unfinished project (an empty "
                                 f"{DB_NAME}); delete that folder and run 'annotator new' again")
            raise StoreError(f"{directory} already holds a project; open it instead")
        for old in remove_leftovers(directory):
            if notes is not None:
                notes.append(f"removed {old}, left by an interrupted 'annotator new'")
        with open_video(video_path, **({"fps": fps} if fps else {})) as video:
            if video_path.is_dir():
                _check_folder(video)
            record = _record_for(video_path, directory, video, notes)
        # built beside the folder, or inside it when it exists: a folder may be a mount point
        # (of a disk of its own), which a rename can neither replace nor reach from outside
        if directory.is_dir():
            tmp = directory / f"{INNER_PREFIX}{os.getpid()}"
        else:
            tmp = directory.with_name(f"{LEFTOVER_PREFIX.format(name=directory.name)}"
                                      f"{os.getpid()}")
        try:
            tmp.mkdir(parents=True)
        except OSError as exc:
            raise _place_error(directory, exc) from None
        try:
            with Store(tmp / DB_NAME, create=True) as store:
                store.set_video(replace(record, rel_path=_rel(video_path, directory)))
            _move_into_place(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls.open(directory)

    @classmethod
    def open(cls, directory: str | Path, *, readonly: bool = False) -> Project:
        directory = Path(directory).resolve()
        if not is_project(directory):
            left = leftovers(directory)
            if left:
                raise StoreError(
                    f"{directory} is not an AVS Annotator project: its creation was "
                    f"interrupted ({left[0]} is what it left); run "
                    "'annotator new VIDEO --project DIR' again, which removes it")
            raise StoreError(
                f"{directory} is not an AVS Annotator project (no {DB_NAME}); "
                "create one with: annotator new VIDEO --project DIR")
        lock = None
        if not readonly:
            lock = ProjectLock(directory)
            lock.acquire()
        try:
            store = Store(directory / DB_NAME, readonly=readonly)
        except BaseException:
            if lock:
                lock.release()
            raise
        return cls(directory, store, lock)

    def close(self) -> None:
        self.store.close()
        if self._lock:
            self._lock.release()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def cache_dir(self) -> Path:
        """``<project>/cache``; for a project that cannot be written (read-only media), a
        folder of its own in the per-user cache folder."""
        path = self.dir / CACHE_DIR
        try:
            path.mkdir(exist_ok=True)
            if not self.store.readonly or os.access(path, os.W_OK) and folder_is_writable(path):
                return path
        except OSError:
            pass
        import platformdirs

        from annotator.settings import APP_NAME

        key = hashlib.sha256(str(self.dir).encode()).hexdigest()[:16]
        path = Path(platformdirs.user_cache_dir(APP_NAME)) / "read-only-projects" / key
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- the video ------------------------------------------------------------------------
    def video_record(self) -> VideoRecord:
        rec = self.store.video()
        if rec is None:
            raise StoreError(f"{self.dir}: the project has no video")
        return rec

    def video_path(self, *, check: bool = True) -> Path:
        """Where the video is now. Raises :class:`VideoMissingError` if it moved or changed."""
        rec = self.video_record()
        candidates = []
        if rec.rel_path:
            candidates.append((self.dir / rec.rel_path).resolve())
        candidates.append(Path(rec.path))
        for path in candidates:
            if path.exists():
                if check and rec.fingerprint and fingerprint(path) != rec.fingerprint:
                    raise VideoMissingError(
                        f"{path} is not the video this project was made for (its content "
                        f"changed); point the project at the original with: "
                        f"annotator relink {self.dir} VIDEO")
                return path
        raise VideoMissingError(
            f"the video of project {self.dir} is not at {rec.path} any more; "
            f"tell the project where it is with: annotator relink {self.dir} NEW_PATH")

    def open_video(self, *, cache_bytes: int | None = None, readahead: int | None = None):
        """Open the project's video, reusing the frame index stored in the project.

        ``cache_bytes`` bounds the decoded-frame cache and ``readahead`` is how many frames a
        background thread decodes ahead (defaults: :func:`annotator.core.video_open.open_video`'s).
        """
        from annotator.core.video_open import open_video

        rec = self.video_record()
        path = self.video_path(check=False)
        kwargs: dict = {"fps": rec.fps} if rec.is_folder else {}
        if cache_bytes is not None:
            kwargs["cache_bytes"] = int(cache_bytes)
        if readahead is not None:
            kwargs["readahead"] = int(readahead)
        # a stale or damaged stored index is rebuilt by open_video (and saved again below)
        video = open_video(path, frame_index=rec.frame_index, **kwargs)
        if len(video) != rec.frame_count:
            video.close()
            raise VideoMissingError(
                f"{path} has {plural(len(video), 'frame')} but project {self.dir} expects "
                f"{rec.frame_count}; relink the original video with: annotator relink")
        stale = rec.frame_index is None or not getattr(video, "index_reused", True)
        if not self.store.readonly and stale:
            self.store.set_video(replace(rec, frame_index=video.frame_index.to_bytes()))
        return video

    def relink(self, new_path: str | Path, *, force: bool = False) -> None:
        """Point the project at the video's new location (same content unless ``force``)."""
        from annotator.core.video_open import open_video

        new_path = Path(new_path).resolve()
        rec = self.video_record()
        if not new_path.exists():
            raise VideoMissingError(f"{new_path} does not exist")
        if not force and rec.fingerprint and fingerprint(new_path) != rec.fingerprint:
            raise VideoMissingError(
                f"{new_path} is a different video from the one this project was made for; "
                "use --force only if you are sure the frames are the same")
        with open_video(new_path, **({"fps": rec.fps} if rec.is_folder else {})) as video:
            new = _record_for(new_path, self.dir, video)
        if (new.frame_count, new.width, new.height) != (rec.frame_count, rec.width, rec.height):
            raise VideoMissingError(
                f"{new_path} has {plural(new.frame_count, 'frame')} of {new.width}×"
                f"{new.height}, the project expects {rec.frame_count} of {rec.width}×{rec.height}")
        self.store.set_video(new)

    # -- summary --------------------------------------------------------------------------
    def summary(self) -> dict:
        rec = self.video_record()
        s = self.store
        objs = s.objects()
        segs = s.segments()
        statuses: dict[str, int] = {}
        for seg in segs:
            statuses[seg.status] = statuses.get(seg.status, 0) + 1
        return {
            "project": str(self.dir),
            "video": rec.path,
            "frames": rec.frame_count,
            "fps": rec.fps,
            "size": [rec.width, rec.height],
            "duration_s": rec.duration,
            "has_audio": rec.has_audio,
            "objects": [{"id": o.id, "name": o.name, "category": o.category, "color": o.color}
                        for o in objs],
            "segments": len(segs),
            "segment_status": statuses,
            "masks": s.mask_count(),
            "masked_frames": len(s.masked_frames()),
            "schema": s.schema_version,
        }


LEFTOVER_PREFIX = ".{name}.creating-"  # beside the project's folder
INNER_PREFIX = f".{DB_NAME}.creating-"  # inside a folder that existed before


def leftovers(directory: str | Path) -> list[Path]:
    """What an interrupted ``create`` left: hidden siblings of ``directory``, or hidden
    folders inside it."""
    directory = Path(directory).resolve()
    found: list[Path] = []
    for folder, pattern in ((directory.parent, LEFTOVER_PREFIX.format(name=directory.name)),
                            (directory, INNER_PREFIX)):
        try:
            found += sorted(folder.glob(glob_escape(pattern) + "*"))
        except OSError:
            pass
    return found


def remove_leftovers(directory: str | Path) -> list[Path]:
    """Remove the leftovers of killed ``create`` runs (not of one still running)."""
    removed = []
    for old in leftovers(directory):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed



def _place_error(directory: Path, exc: OSError) -> UserError:
    """Why no project can be made in ``directory``, in words a person can act on."""
    where = Path(exc.filename) if exc.filename else directory.parent
    head = f"{directory}: cannot create the project there"
    if exc.errno == errno.EROFS:
        return ReadOnlyError(f"{head}: {where} is on a read-only disk (read-only media or a "
                             "disk mounted read-only); choose a folder on a writable disk")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ReadOnlyError(f"{head}: you may not write to {where}; choose a folder you can "
                             "write to, or ask for write permission")
    known = explain(exc, where)
    why = str(known) if known is not None else f"{where}: {exc.strerror or exc}"
    return StoreError(f"{head} ({why}); choose another folder for it")


def _move_into_place(tmp: Path, directory: Path) -> None:
    """Move the finished project into place: its database file into ``directory`` when it
    was built inside it, else the whole folder to ``directory``."""
    try:
        if tmp.parent == directory:
            os.replace(tmp / DB_NAME, directory / DB_NAME)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            directory.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, directory)
    except OSError as exc:
        if is_project(directory):
            raise StoreError(f"{directory} already holds a project (made meanwhile by another "
                             "process); open it instead") from None
        raise _place_error(directory, exc) from None
    fsync_dir(directory if tmp.parent == directory else directory.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_folder(video) -> None:
    from annotator.core.video import VideoError
    from annotator.core.video_index import check_frame_folder

    try:
        video.folder_notes = check_frame_folder(video.path, list(video.frame_index.source["names"]))
    except ValueError as exc:
        raise VideoError(video.path, str(exc), "Fix or remove those files (every frame of a "
                         "folder must be a readable image of one size)") from None


def _rel(video_path: Path, project_dir: Path) -> str | None:
    try:
        return os.path.relpath(video_path, project_dir)
    except ValueError:  # another drive on Windows
        return None


def _record_for(video_path: Path, project_dir: Path, video,
                notes: list[str] | None = None) -> VideoRecord:
    rel = _rel(video_path, project_dir)
    if notes is not None:
        notes.extend(getattr(video, "folder_notes", []))
    w, h = video.size
    return VideoRecord(
        path=str(video_path), rel_path=rel, is_folder=video_path.is_dir(),
        size_bytes=_size_of(video_path), fingerprint=fingerprint(video_path),
        frame_count=len(video), fps=float(video.fps), width=int(w), height=int(h),
        duration=float(video.duration), has_audio=bool(video.has_audio),
        frame_index=video.frame_index.to_bytes(),
    )
