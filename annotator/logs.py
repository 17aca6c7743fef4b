"""The log file a person can attach to a bug report.

One rotating file, ``annotator.log`` (1 MB, 5 old copies), in the per-user log folder
(``platformdirs.user_log_dir("avs-annotator")``, or ``$AVS_ANNOTATOR_LOG_DIR`` when set: tests
use it). :func:`setup` sends the ``annotator`` loggers there and to stderr (warnings and
worse); :func:`report` writes a caught failure with its traceback; the window also routes
uncaught exceptions (a Qt slot's) there (:func:`install_excepthook`). Records are written by
a background thread (``logging.handlers.QueueListener``), so the GUI thread never waits on the
disk; :func:`flush` waits until everything logged so far is in the file.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import sys
import traceback
from pathlib import Path
from types import TracebackType

import platformdirs

from annotator.settings import APP_NAME

LOG_ENV = "AVS_ANNOTATOR_LOG_DIR"
FILE_NAME = "annotator.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("annotator")

_listener: logging.handlers.QueueListener | None = None
_queue_handler: logging.handlers.QueueHandler | None = None
_target: Path | None = None


def log_dir() -> Path:
    env = os.environ.get(LOG_ENV)
    return Path(env) if env else Path(platformdirs.user_log_dir(APP_NAME))


def log_file() -> Path:
    return log_dir() / FILE_NAME


def _file_handler(path: Path) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=5, encoding="utf-8", delay=True)
    except OSError as exc:  # a read-only home: keep going with stderr only, and say so once
        print(f"annotator: cannot write the log file {path} ({exc}); set {LOG_ENV} to a "
              "writable folder to keep a log", file=sys.stderr)
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def setup(stderr: bool = True) -> Path:
    """Log to :func:`log_file` (and warnings and worse to stderr); idempotent, and follows a
    changed ``$AVS_ANNOTATOR_LOG_DIR``. Returns the log file."""
    global _listener, _queue_handler, _target
    path = log_file()
    if _listener is not None and _target == path:
        return path
    stop()
    q: queue.SimpleQueue = queue.SimpleQueue()
    handlers: list[logging.Handler] = [_file_handler(path)]
    if stderr:
        err = logging.StreamHandler()
        err.setLevel(logging.WARNING)
        err.addFilter(lambda record: not getattr(record, "file_only", False))
        err.setFormatter(logging.Formatter("annotator: %(message)s"))
        handlers.append(err)
    _listener = logging.handlers.QueueListener(q, *handlers, respect_handler_level=True)
    _listener.start()
    _queue_handler = logging.handlers.QueueHandler(q)
    log.addHandler(_queue_handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    _target = path
    return path


def install_excepthook() -> None:
    """Uncaught exceptions (in the window: a Qt slot's) also go to the log file; the hook that
    was there (Python's, which prints to stderr, or a test runner's) still gets them."""
    previous = sys.excepthook
    if getattr(previous, "avs_log", False):
        return

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            text = "".join(traceback.format_exception(kind, exc, tb))
            log.critical("uncaught %s: %s\n%s", kind.__name__, exc, text.rstrip(),
                         extra={"file_only": True})
        previous(kind, exc, tb)

    hook.avs_log = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def stop() -> None:
    """Write out what is queued and close the file (at exit, or before switching files)."""
    global _listener, _queue_handler, _target
    if _queue_handler is not None:
        log.removeHandler(_queue_handler)
    if _listener is not None:
        _listener.stop()
        for h in _listener.handlers:
            h.close()
    _listener = _queue_handler = _target = None


def flush() -> None:
    """Wait until every record logged so far is in the file (tests; before a bug dialog)."""
    if _listener is not None:
        stop_target = _target
        stop()
        if stop_target is not None:
            setup()


def report(exc: BaseException, context: str = "", detail: str | None = None,
           level: int = logging.ERROR, stderr: bool = True) -> Path:
    """Log a caught failure with its traceback (``detail``: one formatted on a worker thread;
    ``stderr=False``: the file only, when the caller prints it itself). Returns the log file."""
    path = setup()
    text = detail or "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.log(level, "%s%s: %s\n%s", f"{context}: " if context else "", type(exc).__name__, exc,
            text.rstrip(), extra={"file_only": not stderr})
    return path


atexit.register(stop)
