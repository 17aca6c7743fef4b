"""Opening the store's SQLite file: the shared connection and the main thread's reader.

For writing: WAL mode, ``synchronous=FULL`` (a commit that returned survives a kill and a
power cut), foreign keys on, the schema brought up to date. Read-only: ``mode=ro``; where
SQLite cannot make the WAL index there (read-only media, a full disk) and no unfinished WAL
is beside the file, the file is read as immutable (nothing else can be writing it there).
Every failure becomes one line that names the file and says what to do.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from annotator.core.records import DamagedStoreError, StoreError
from annotator.core.schema import migrate, refuse_foreign
from annotator.errors import DamagedError, UserError, explain

_KW: dict[str, Any] = {"check_same_thread": False, "isolation_level": None, "timeout": 30}


def open_error(path: Path, exc: sqlite3.Error) -> UserError:
    """Why the database at ``path`` cannot be opened, in words (see :func:`explain`)."""
    known = explain(exc, path)
    if isinstance(known, DamagedError):
        return DamagedStoreError(str(known))
    if known is not None:
        return known
    return DamagedStoreError(f"{path} is not a readable project database ({exc}); run 'annotator "
                             f"check {path.parent}', and 'annotator salvage {path.parent} -o "
                             "NEW' to copy what can be read")


def open_db(path: Path, *, readonly: bool, create: bool) -> sqlite3.Connection:
    """The store's shared connection to ``path``, ready for use (see the module docstring);
    ``create`` makes a new database, otherwise the file must be one of ours."""
    if not create and not path.exists():
        raise StoreError(f"{path}: no project database here")
    if not create and path.is_file() and path.stat().st_size == 0:
        raise DamagedStoreError(
            f"{path} is empty (0 bytes): the project was never written (an interrupted "
            "'annotator new' leaves this); delete its folder and run 'annotator new' "
            "again, or restore it from a backup")
    db = _connect(path, readonly)
    try:
        if not create:
            refuse_foreign(db, path)
        if not readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        migrate(db, path, readonly=readonly)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise open_error(path, exc) from None
    except BaseException:
        db.close()
        raise
    return db


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    try:
        if not readonly:
            return sqlite3.connect(path, **_KW)
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, **_KW)
        db.execute("PRAGMA user_version").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        wal = path.with_name(path.name + "-wal")
        if not readonly:
            raise open_error(path, exc) from None
        if not (wal.exists() and wal.stat().st_size > 0):
            return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, **_KW)
        raise StoreError(
            f"{path}: the project was not closed cleanly ({wal.name} holds its last "
            f"changes) and SQLite cannot open it here ({exc}: read-only media or a full "
            "disk); copy the project folder to a writable disk, or free some space, and "
            "open it there once") from None
    except sqlite3.DatabaseError as exc:
        raise open_error(path, exc) from None


def open_reader(path: Path) -> sqlite3.Connection | None:
    """A query-only connection of its own (the main thread's: in WAL mode it sees the last
    committed state and never waits for a writer's lock); None where one cannot be opened
    (e.g. read-only media without the -shm file)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, **_KW)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
    except sqlite3.Error:
        return None
    return conn
