"""Ctrl-C in a long command: the first asks the work to stop after the frame in flight, the
second aborts (``KeyboardInterrupt``, exit 130)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def stop_on_sigint(cancel: threading.Event, what: str) -> Iterator[threading.Event]:
    """While inside, SIGINT sets ``cancel`` and says "stopping ``what``" on stderr; a second
    SIGINT raises ``KeyboardInterrupt``. Off the main thread (a test calling ``main``) the
    handler cannot be installed and nothing changes."""

    def on_sigint(signum, frame):  # noqa: ANN001
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write(f"\nannotator: stopping {what} (Ctrl-C again to abort)\n")

    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, on_sigint) if main else None
    try:
        yield cancel
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
