"""An advisory, per-project write lock that a crashed process never leaves stuck.

The lock is an OS file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) held on
``<project>/.lock`` for as long as the project is open for writing; the kernel drops it when
the process dies, however it dies. The file also records the holder's PID and host so that a
second process can say *who* has the project open.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from annotator.errors import DiskFullError, ReadOnlyError, UserError, explain

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt


class ProjectLockedError(UserError):
    """Another process has the project open for writing."""

    def __init__(self, project: Path, pid: str) -> None:
        self.pid = pid
        super().__init__(
            f"project {project} is open in process {pid}: close it there first, "
            "or open it read-only (annotator info / export work read-only)"
        )


class ProjectReadOnlyError(ReadOnlyError):
    """The project cannot be opened for writing (read-only media, permissions, a full disk):
    readers (info, review, export, the window's view-only mode) still work."""

    def __init__(self, project: Path, exc: OSError) -> None:
        known = explain(exc)
        head = f"project {project} cannot be opened for writing"
        rest = ("info, review and export work read-only, or copy the project to a writable "
                "folder to change it")
        if isinstance(known, DiskFullError):
            msg = (f"{head}: the disk is full; free some space and run the command again "
                   "(everything saved is kept)")
        elif exc.errno == errno.EROFS:
            msg = (f"{head}: it is on a read-only disk (read-only media or a disk mounted "
                   f"read-only); {rest}")
        elif exc.errno in (errno.EACCES, errno.EPERM):
            msg = f"{head}: you may not write to its folder; {rest}"
        else:
            msg = (f"{head} ({exc.strerror or exc}): it is on read-only media or you may not "
                   f"write to it; {rest}")
        super().__init__(msg)


class ProjectLock:
    def __init__(self, project_dir: Path) -> None:
        self.project_dir = Path(project_dir)
        self.path = self.project_dir / ".lock"
        self._fh = None

    def acquire(self) -> None:
        try:
            fh = open(self.path, "a+")
        except OSError as exc:
            raise ProjectReadOnlyError(self.project_dir, exc) from None
        try:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise ProjectLockedError(self.project_dir, holder) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} on {socket.gethostname()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.flush()
            if fcntl is not None:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        finally:
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (one we may not signal counts as alive:
    not ours to judge)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
