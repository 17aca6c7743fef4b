"""The dataset database ``DIR/dataset.avsds``: its SQLite schema, forward migrations and
connection.

SQLite in WAL mode with foreign keys on and ``synchronous=FULL``, like a project's store
(:mod:`annotator.core.connection`); ``PRAGMA user_version`` holds the schema version and
:data:`MIGRATIONS` brings an older file up to date in one transaction. Several processes on
several machines write it (a team in one shared folder), so every write is one short
``BEGIN IMMEDIATE`` transaction (:func:`write`) and waits up to :data:`BUSY_S` for another's.

Tables: ``videos`` (the stable ``video_id`` and its project folder, relative to DIR),
``vocabulary`` (categories with label ids; a ``proposed`` row has no label id until it is
accepted), ``splits`` and ``assignments`` (one row per video) and ``summaries`` (each
project's derived summary — its figures, review state and active time — cached under the
project store's file stamp: see :mod:`annotator.core.dataset_summary`). Nothing here is the
truth about a video's annotation: that is its project's store (review events and active time
included: :mod:`annotator.core.review`, :mod:`annotator.core.active_time`); the dataset keeps
only what spans videos.

Schema 2 dropped schema 1's ``review_events`` and ``time_log``: review and active time are
kept per project, where the edits they are about are. A schema-1 file holds only what schema
2 holds and more, so a read-only connection (:func:`connect` with ``readonly``) reads it as
it is; the first writer upgrades it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from annotator.errors import DamagedError, UserError, explain

DB_NAME = "dataset.avsds"
PROJECTS = "projects"
BUSY_S = 60.0
SUBSETS = ("train", "val", "test")
VOCAB_STATES = ("accepted", "proposed")

SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE videos (
    video_id TEXT PRIMARY KEY,
    project TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL UNIQUE,
    added REAL NOT NULL
);

CREATE TABLE vocabulary (
    id INTEGER PRIMARY KEY,
    label_id INTEGER UNIQUE,
    label TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'accepted',
    CHECK (state IN ('accepted', 'proposed')),
    CHECK ((state = 'accepted') = (label_id IS NOT NULL))
);

CREATE TABLE splits (
    video_id TEXT PRIMARY KEY REFERENCES videos(video_id) ON DELETE CASCADE,
    subset TEXT NOT NULL CHECK (subset IN ('train', 'val', 'test'))
);

CREATE TABLE assignments (
    video_id TEXT PRIMARY KEY REFERENCES videos(video_id) ON DELETE CASCADE,
    person TEXT NOT NULL,
    at REAL NOT NULL
);

CREATE TABLE review_events (
    id INTEGER PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES videos(video_id) ON DELETE CASCADE,
    segment TEXT NOT NULL,
    state TEXT NOT NULL,
    comment TEXT,
    frame INTEGER,
    by TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX review_events_key ON review_events(video_id, segment, at);

CREATE TABLE time_log (
    id INTEGER PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES videos(video_id) ON DELETE CASCADE,
    segment TEXT,
    person TEXT NOT NULL,
    seconds REAL NOT NULL CHECK (seconds >= 0),
    at REAL NOT NULL
);
CREATE INDEX time_log_video ON time_log(video_id);

CREATE TABLE summaries (
    video_id TEXT PRIMARY KEY REFERENCES videos(video_id) ON DELETE CASCADE,
    stamp TEXT NOT NULL,
    summary TEXT NOT NULL
)
"""

# review and active time live in each project's store (schema 5 there)
SCHEMA_V2 = """
DROP INDEX IF EXISTS review_events_key;
DROP TABLE IF EXISTS review_events;
DROP INDEX IF EXISTS time_log_video;
DROP TABLE IF EXISTS time_log
"""

MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2}
SCHEMA_VERSION = max(MIGRATIONS)
#: the oldest schema a read-only connection reads without an upgrade (later ones only dropped)
READABLE_FROM = 1


class DatasetError(UserError):
    """The dataset folder or its database cannot be used as asked."""


def _error(path: Path, exc: sqlite3.Error) -> UserError:
    known = explain(exc, path)
    if isinstance(known, DamagedError):
        return DatasetError(f"{path}: not a readable dataset database ({exc}); restore it from "
                            "a backup, or make a new dataset and 'annotator dataset add' the "
                            "videos again (their projects keep every annotation)")
    return known or DatasetError(f"{path}: cannot be used as a dataset database ({exc})")


def connect(path: Path, *, create: bool = False, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the dataset database at ``path``, its schema brought up to date (made
    when ``create``)."""
    if not create and not path.is_file():
        raise DatasetError(f"{path.parent} is not an AVS Annotator dataset (no {DB_NAME}); make "
                           f"one with: annotator dataset new {path.parent}")
    try:
        if readonly:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                 isolation_level=None, timeout=BUSY_S, check_same_thread=False)
        else:
            db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_S,
                                 check_same_thread=False)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if not create and version == 0:
            db.close()
            raise DatasetError(f"{path} is not an AVS Annotator dataset database (another "
                               "program's file?); choose the dataset's own folder")
        if not readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        _migrate(db, path, version, readonly)
    except sqlite3.Error as exc:
        raise _error(path, exc) from None
    return db


def _migrate(db: sqlite3.Connection, path: Path, version: int, readonly: bool) -> None:
    if version > SCHEMA_VERSION:
        raise DatasetError(f"{path} was written by a newer AVS Annotator (dataset schema "
                           f"{version}, this one knows {SCHEMA_VERSION}); update the application")
    if version == SCHEMA_VERSION or readonly and version >= READABLE_FROM:
        return
    if readonly:
        raise DatasetError(f"{path} needs a schema upgrade; run any 'annotator dataset' "
                           "command that writes (e.g. status) once where it can be written")
    db.execute("BEGIN IMMEDIATE")
    try:
        # another process may have upgraded it while this one waited for the lock
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for stmt in MIGRATIONS[v].split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute(f"PRAGMA user_version={v}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@contextmanager
def write(db: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """One short write transaction (``BEGIN IMMEDIATE``: waits for another writer up to
    :data:`BUSY_S`); a fault of the disk becomes one line naming ``path``."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _error(path, exc) from None
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise _error(path, exc) from None
