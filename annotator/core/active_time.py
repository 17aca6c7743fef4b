"""Active annotation time, kept in the project: seconds per (segment, person, day).

A second counts when the person gave the window input (mouse, keys) in the 60 s before it
while the project was open (:class:`annotator.pipeline.activity.ActiveTimeMeter` decides
which seconds, and on which segment: the one under the current frame and object). The window
adds what it measured in short batched transactions (``active_time``, schema version 5:
``segment_id`` NULL is time on no segment). :func:`active_seconds` is what ``annotator status``
and a dataset read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActiveTime:
    """A project's active time, in seconds: in all, by segment (None: on no segment), by
    person and by day (``YYYY-MM-DD``, local), and the rows ``(segment, person, day, s)``."""

    total: float = 0.0
    by_segment: dict[int | None, float] = field(default_factory=dict)
    by_person: dict[str, float] = field(default_factory=dict)
    by_day: dict[str, float] = field(default_factory=dict)
    rows: tuple[tuple[int | None, str, str, float], ...] = ()


class ActiveTimeMixin:
    """Mixed into :class:`annotator.core.store.Store`: adding to the active time."""

    def add_active_time(self, rows: Iterable[tuple[int | None, str, float]],
                        person: str | None = None) -> None:
        """Add ``(segment id or None, day, seconds)`` rows for ``person`` (default: the
        store's) in one transaction."""
        who = (person or "").strip() or self.person
        rows = [(sid, str(day), float(s)) for sid, day, s in rows if s > 0]
        if not rows:
            return
        with self.transaction() as db:
            for sid, day, seconds in rows:
                cur = db.execute("UPDATE active_time SET seconds = seconds + ? WHERE "
                                 "segment_id IS ? AND person=? AND day=?",
                                 (seconds, sid, who, day))
                if cur.rowcount == 0:
                    db.execute("INSERT INTO active_time(segment_id, person, day, seconds) "
                               "VALUES (?,?,?,?)", (sid, who, day, seconds))


def active_seconds(store: Any) -> ActiveTime:
    """The project's active time (see :class:`ActiveTime`)."""
    rows = tuple((r[0], r[1], r[2], float(r[3])) for r in store._q(
        "SELECT segment_id, person, day, seconds FROM active_time "
        "ORDER BY day, person, segment_id"))
    by_segment: dict[int | None, float] = {}
    by_person: dict[str, float] = {}
    by_day: dict[str, float] = {}
    for sid, who, day, s in rows:
        by_segment[sid] = by_segment.get(sid, 0.0) + s
        by_person[who] = by_person.get(who, 0.0) + s
        by_day[day] = by_day.get(day, 0.0) + s
    return ActiveTime(sum(r[3] for r in rows), by_segment, by_person, by_day, rows)
