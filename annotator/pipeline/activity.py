"""Which seconds of an open project are active annotation time, and on which segment (Qt-free).

A moment counts as active when the person gave input (a mouse press or move, the wheel, a key)
in the :data:`IDLE_AFTER_S` seconds before it: each input makes the next 60 s active, up to
now. Active time goes to the segment under the current frame and object when it elapses (the
window tells :meth:`ActiveTimeMeter.where` whenever that changes; None: on no segment), and
to the local day it elapsed on. :meth:`ActiveTimeMeter.take` hands out what was measured
since it was last called, as rows for
:meth:`annotator.core.store.Store.add_active_time`; the window takes them every few seconds
and writes them on its writer thread (the GUI thread never touches the store).

The clock and the day are arguments, so a test plays them (a fake clock, not sleeps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

#: input keeps the next this many seconds active
IDLE_AFTER_S = 60.0


def _today() -> str:
    return date.today().isoformat()


class ActiveTimeMeter:
    """Active seconds per (segment, day) since the last :meth:`take` (see the module)."""

    def __init__(self, idle_after_s: float = IDLE_AFTER_S,
                 clock: Callable[[], float] = time.monotonic,
                 day: Callable[[], str] = _today) -> None:
        self.idle_after_s = float(idle_after_s)
        self._clock = clock
        self._day = day
        self._segment: int | None = None
        self._last_input: float | None = None
        self._counted: float | None = None  # time is looked at up to here
        self._pending: dict[tuple[int | None, str], float] = {}
        self.closed = False

    @property
    def segment(self) -> int | None:
        """The segment the time goes to now (None: no segment)."""
        return self._segment

    def input(self) -> None:
        """The person gave input now."""
        if self.closed:
            return
        now = self._clock()
        self._count(now)
        self._last_input = now

    def where(self, segment_id: int | None) -> None:
        """From now on the time goes to ``segment_id`` (what elapsed so far, to the old one)."""
        if self.closed:
            return
        self._count(self._clock())
        self._segment = segment_id

    def take(self) -> list[tuple[int | None, str, float]]:
        """``(segment, day, seconds)`` measured since the last call (and forget them)."""
        if not self.closed:
            self._count(self._clock())
        out = [(seg, day, s) for (seg, day), s in self._pending.items() if s > 0]
        self._pending.clear()
        return out

    def close(self) -> list[tuple[int | None, str, float]]:
        """The project closes: what is left to write; nothing counts after."""
        out = self.take()
        self.closed = True
        return out

    @property
    def pending_s(self) -> float:
        """Seconds measured and not taken yet (up to the last input or change)."""
        return sum(self._pending.values())

    def _count(self, now: float) -> None:
        if self._counted is not None and self._last_input is not None:
            until = min(now, self._last_input + self.idle_after_s)
            if until > self._counted:
                key = (self._segment, self._day())
                self._pending[key] = self._pending.get(key, 0.0) + (until - self._counted)
        self._counted = now if self._counted is None else max(self._counted, now)
