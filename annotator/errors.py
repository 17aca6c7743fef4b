"""Errors that reach a person: each says what happened, to which file, and what to do next.

:func:`explain` turns the faults of the machine and of the input (a full disk, read-only
media, a permission, a damaged database, bytes that are not UTF-8, a number too large) into a
:class:`UserError` whose one line names the file; the CLI exits 2 with it and the window shows
the same words. Anything it does not recognise is a bug (exit 1, traceback in the log file).
"""

from __future__ import annotations

import csv
import errno
import sqlite3
from pathlib import Path

DAMAGED_HINT = ("run 'annotator check {p}' to see what is wrong, and 'annotator salvage {p} "
                "-o NEW' to copy every readable mask into a new project")


class UserError(Exception):
    """Bad input or a state the user can fix. The CLI prints it on one line and exits 2."""


class DiskFullError(UserError):
    """No space left where a file was being written; what was committed is kept."""


class ReadOnlyError(UserError):
    """The file or folder cannot be written (read-only media, permissions)."""


class DamagedError(UserError):
    """A project database that SQLite cannot read as ours."""


def _disk_full(where: str) -> DiskFullError:
    return DiskFullError(f"{where}the disk is full; free some space and run the command "
                         "again (everything saved before is kept)")


def _read_only(where: str) -> ReadOnlyError:
    return ReadOnlyError(f"{where}cannot be written (read-only media or no write permission); "
                         "info, review and export still work, or copy the project to a "
                         "writable folder to change it")


def explain(exc: BaseException, path: str | Path | None = None) -> UserError | None:
    """The :class:`UserError` for a fault of the machine or of the input, naming ``path``
    (or the file the exception names); ``None`` when ``exc`` is a bug."""
    if isinstance(exc, UserError):
        return exc
    where = f"{path}: " if path else ""
    if isinstance(exc, OSError):
        name = exc.filename or path
        where = f"{name}: " if name else ""
        code = exc.errno
        if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG):
            return _disk_full(where)
        if code == errno.EROFS:
            return _read_only(where)
        if code in (errno.EACCES, errno.EPERM):
            return ReadOnlyError(f"{where}permission denied; give your user access to it, or "
                                 "choose another place")
        if code == errno.ENOENT:
            return UserError(f"{where}no such file or folder; check the path")
        if code == errno.EIO:
            return UserError(f"{where}the disk reported an input/output error; copy the "
                             "project to a healthy disk and run 'annotator check' on it")
        if code in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG):
            return UserError(f"{where}{exc.strerror}; choose another path")
        return None
    if isinstance(exc, sqlite3.Error):
        msg = str(exc).lower()
        if "disk is full" in msg or "database or disk is full" in msg:
            return _disk_full(where)
        if "readonly" in msg or "read-only" in msg:
            return _read_only(where)
        if "malformed" in msg or "not a database" in msg or "encrypted" in msg:
            hint = DAMAGED_HINT.format(p=Path(path).parent if path else "DIR")
            return DamagedError(f"{where}not a readable project database: it is damaged "
                                f"({exc}); {hint}")
        if "disk i/o error" in msg:
            return UserError(f"{where}the disk reported an input/output error (or is full); "
                             "free space or copy the project to a healthy disk, then run "
                             "'annotator check' on it")
        if "unable to open" in msg:
            return UserError(f"{where}cannot be opened (a missing folder, a permission or a "
                             "full disk); check the folder and the free space")
        return None
    if isinstance(exc, UnicodeDecodeError):
        return UserError(f"{where}is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                         f"offset {exc.start}); save it as UTF-8 and try again")
    if isinstance(exc, csv.Error):
        return UserError(f"{where}not a readable CSV file ({exc}); check its quotes and field "
                         "sizes")
    if isinstance(exc, OverflowError):
        return UserError(f"{where}a number is too large ({exc}); check the numbers")
    return None


class Cancelled(Exception):
    """Work stopped because its caller asked it to (a background embedding, a job in a
    worker): not a fault, nothing to report. Qt-free, so the engines and the window's workers
    raise and catch the same one."""
