"""A dataset: many videos, each an ordinary project, with what spans them.

::

    DIR/dataset.avsds          the dataset database (annotator.core.dataset_db)
    DIR/projects/<video_id>/   one ordinary project per video (opens alone, too)

A video's ``video_id`` is stable and unique: the file's stem, a frame folder's name (its
parent's for ``JPEGImages``, as DAVIS lays sequences out), de-duplicated with ``-2``, ``-3``
… (compared without case: SMB and macOS folders ignore it). Its project is made by
:meth:`annotator.core.project.Project.create`, which is atomic; the video's row is written
first, so a kill in between leaves a row without a project, which the next ``add`` (or
``new``) finishes. The same video (by its resolved path) is never added twice.

Everything a video's annotation holds lives in its project — its review events and its active
time too (:mod:`annotator.core.review`, :mod:`annotator.core.active_time`); the dataset keeps
the vocabulary (:mod:`annotator.core.vocabulary`), splits, assignments and a cache of the
projects' summaries (:mod:`annotator.core.dataset_summary`), which carry each video's review
state and active time.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path

from annotator.core import dataset_db as D
from annotator.core.dataset_db import DB_NAME, PROJECTS, SUBSETS, DatasetError
from annotator.core.lock import pid_alive
from annotator.core.project import Project, fsync_dir, is_project
from annotator.core.vocabulary import Category, import_vocabulary, vocabulary
from annotator.errors import UserError

CREATING = f".{DB_NAME}.creating-"
FRAME_FOLDER_NAMES = ("jpegimages", "frames", "images")


@dataclass(frozen=True)
class VideoEntry:
    video_id: str
    project: Path  # absolute
    source: str  # the video's resolved path when it was added


def find_dataset(path: str | Path) -> Path | None:
    """The dataset folder ``path`` (a project folder, or anything inside one) belongs to: the
    nearest folder above it that holds ``dataset.avsds``; None when there is none."""
    path = Path(path).resolve()
    for folder in (path, *path.parents):
        if (folder / DB_NAME).is_file():
            return folder
    return None


def categories_for(project_dir: str | Path) -> list[Category] | None:
    """The categories the object dialog offers in a project of a dataset: the dataset's
    vocabulary, accepted first, then the proposed ones (from the cached project summaries,
    not read again); None when the project is in no dataset."""
    root = find_dataset(project_dir)
    if root is None:
        return None
    with Dataset.open(root, readonly=True) as ds:
        return vocabulary(ds, refresh=False)


def video_source(path: str | Path) -> Path:
    """What a path given for a video means: the file, the frame folder, or a sequence folder's
    ``JPEGImages`` (DAVIS)."""
    path = Path(path).resolve()
    if path.is_dir() and (path / "JPEGImages").is_dir():
        return path / "JPEGImages"
    return path


def video_name(path: Path) -> str:
    """A video's own name: a file's stem, a frame folder's name (its parent's for
    ``JPEGImages`` / ``frames`` / ``images``)."""
    if path.is_dir():
        name = path.parent.name if path.name.lower() in FRAME_FOLDER_NAMES else path.name
    else:
        name = path.stem
    name = "_".join(name.split()) or "video"
    return name.lstrip(".") or "video"


def unique_id(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3`` … : the first not in ``taken`` (case ignored)."""
    folded = {t.casefold() for t in taken}
    if name.casefold() not in folded:
        return name
    k = 2
    while f"{name}-{k}".casefold() in folded:
        k += 1
    return f"{name}-{k}"


def read_list(path: str | Path) -> list[Path]:
    """The videos a list file names: one path a line (relative to the file's folder), blank
    lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such list file; give a text file with one video path a "
                        "line")
    out = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            out.append(p if p.is_absolute() else path.parent / p)
    return out


class Dataset:
    """An open dataset. Use :meth:`create` or :meth:`open`; close it (or use ``with``)."""

    def __init__(self, root: Path, db: sqlite3.Connection, readonly: bool) -> None:
        self.root = root
        self.db = db
        self.readonly = readonly

    @property
    def path(self) -> Path:
        return self.root / DB_NAME

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, *, vocabulary: str | Path | None = None) -> Dataset:
        """A new, empty dataset in ``root`` (made if needed); atomic: the database is built
        under a hidden name and renamed into place, with its vocabulary when one is given."""
        root = Path(root).resolve()
        if (root / DB_NAME).exists():
            raise DatasetError(f"{root} already holds a dataset; add videos with: annotator "
                               f"dataset add {root} PATH…")
        if is_project(root):
            raise DatasetError(f"{root} is a project folder; choose a new folder for the "
                               "dataset")
        try:
            (root / PROJECTS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(f"{root}: cannot make the dataset folder there "
                               f"({exc.strerror or exc}); choose a folder you can write to"
                               ) from None
        remove_leftovers(root)
        tmp = root / f"{CREATING}{os.getpid()}"
        try:
            db = D.connect(tmp, create=True)
            try:
                with D.write(db, tmp):
                    db.execute("INSERT INTO meta(key, value) VALUES ('created', ?)",
                               (str(time.time()),))
                if vocabulary is not None:
                    import_vocabulary(cls(root, db, False), vocabulary)
            finally:
                db.close()  # the WAL is checkpointed into the file and removed
            os.replace(tmp, root / DB_NAME)
            fsync_dir(root)
        finally:
            for leftover in root.glob(glob_escape(tmp.name) + "*"):
                leftover.unlink(missing_ok=True)
        return cls.open(root)

    @classmethod
    def open(cls, root: str | Path, *, readonly: bool = False) -> Dataset:
        root = Path(root).resolve()
        return cls(root, D.connect(root / DB_NAME, readonly=readonly), readonly)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self):
        """One short write transaction on the dataset database."""
        return D.write(self.db, self.path)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise D._error(self.path, exc) from None

    # -- videos ----------------------------------------------------------------------------
    def videos(self) -> list[VideoEntry]:
        return [VideoEntry(v, self.root / p, s) for v, p, s in self.query(
            "SELECT video_id, project, source FROM videos ORDER BY video_id")]

    def video(self, video_id: str) -> VideoEntry:
        rows = self.query("SELECT video_id, project, source FROM videos WHERE video_id=?",
                       (video_id,))
        if not rows:
            raise DatasetError(f"{self.root}: no video {video_id!r} in the dataset; "
                               f"'annotator dataset status {self.root}' lists them")
        v, p, s = rows[0]
        return VideoEntry(v, self.root / p, s)

    def check_ids(self, video_ids: list[str]) -> None:
        """A :class:`DatasetError` naming the ids that are not videos of the dataset."""
        known = {v for (v,) in self.query("SELECT video_id FROM videos")}
        missing = [v for v in video_ids if v not in known]
        if missing:
            raise DatasetError(f"{self.root}: no video {', '.join(map(repr, missing[:5]))} in "
                               f"the dataset; 'annotator dataset status {self.root}' lists them")

    def add(self, paths: list[str | Path], *, on_line=print) -> list[tuple[str, str]]:
        """Add each video (a file, a frame folder, a DAVIS sequence folder) with a project of
        its own; returns ``(video_id, what happened)``. Videos whose project a killed run did
        not make are made first. A video that cannot be opened is named (its row removed) and
        the others go on; a :class:`UserError` at the end says which failed."""
        sources = [video_source(p) for p in paths]
        for given, src in zip(paths, sources):
            if not src.exists():
                raise UserError(f"{given}: no such video file or frame folder; check the "
                                "path (nothing was added)")
        out, failed = self.finish(on_line=on_line), []
        for src in sources:
            with self.write() as db:  # checked and claimed in one transaction: two people
                row = db.execute("SELECT video_id FROM videos WHERE source=?",  # adding at
                                 (str(src),)).fetchone()                        # once
                if row is None:
                    taken = {v for (v,) in db.execute("SELECT video_id FROM videos")}
                    vid = unique_id(video_name(src), taken | _folders(self.root / PROJECTS))
                    db.execute("INSERT INTO videos(video_id, project, source, added) VALUES "
                               "(?,?,?,?)", (vid, f"{PROJECTS}/{vid}", str(src), time.time()))
            if row is not None:
                out.append((row[0], "already in the dataset"))
                continue
            try:
                self._make_project(vid, src, on_line)
            except UserError as exc:
                if is_project(self.root / PROJECTS / vid):  # another add finished it meanwhile
                    out.append((vid, "added"))
                    continue
                with self.write() as db:
                    db.execute("DELETE FROM videos WHERE video_id=?", (vid,))
                failed.append(str(src))
                on_line(f"annotator: {exc}; {src} was not added")
                continue
            out.append((vid, "added"))
        if failed:
            raise UserError(f"{len(failed)} of {len(sources)} videos could not be added ("
                            f"{', '.join(failed[:3])}{', …' if len(failed) > 3 else ''}); fix "
                            "or leave them out and run 'annotator dataset add' again (the "
                            "others were added)")
        return out

    def finish(self, *, on_line=print) -> list[tuple[str, str]]:
        """Make the projects a killed ``add`` did not make (their video is still there)."""
        out = []
        for v in self.videos():
            if not is_project(v.project) and Path(v.source).exists():
                try:
                    self._make_project(v.video_id, Path(v.source), on_line)
                except UserError:
                    if not is_project(v.project):
                        raise
                    continue  # another process's add made it meanwhile
                out.append((v.video_id, "finished (an earlier add was interrupted)"))
        return out

    def _make_project(self, vid: str, src: Path, on_line) -> None:
        notes: list[str] = []
        Project.create(self.root / PROJECTS / vid, src, notes=notes).close()
        for note in notes:
            on_line(f"note: {vid}: {note}")

    # -- people and splits ----------------------------------------------------------------
    def assign(self, person: str, video_ids: list[str]) -> None:
        person = person.strip()
        if not person:
            raise UserError("--to needs a person's name")
        self.check_ids(video_ids)
        with self.write() as db:
            db.executemany("INSERT OR REPLACE INTO assignments(video_id, person, at) "
                           "VALUES (?,?,?)", [(v, person, time.time()) for v in video_ids])

    def assignments(self) -> dict[str, str]:
        return dict(self.query("SELECT video_id, person FROM assignments"))

    def set_splits(self, subsets: dict[str, str]) -> None:
        """Every video's subset (``train``/``val``/``test``), replacing the earlier splits."""
        self.check_ids(list(subsets))
        bad = sorted({s for s in subsets.values() if s not in SUBSETS})
        if bad:
            raise UserError(f"subset {bad[0]!r} is not one of {', '.join(SUBSETS)}")
        with self.write() as db:
            db.execute("DELETE FROM splits")
            db.executemany("INSERT INTO splits(video_id, subset) VALUES (?,?)",
                           sorted(subsets.items()))

    def splits(self) -> dict[str, str]:
        """Each video's subset; a video without one is ``train``."""
        chosen = dict(self.query("SELECT video_id, subset FROM splits"))
        return {v.video_id: chosen.get(v.video_id, "train") for v in self.videos()}


def _folders(projects: Path) -> set[str]:
    """Names already used under ``projects/`` (a folder another tool left counts as taken)."""
    try:
        return {p.name for p in projects.iterdir()}
    except OSError:
        return set()


def remove_leftovers(root: Path) -> None:
    """What a killed ``Dataset.create`` left beside the database (its process is gone)."""
    for old in root.glob(glob_escape(CREATING) + "*"):
        pid = old.name[len(CREATING):].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)

