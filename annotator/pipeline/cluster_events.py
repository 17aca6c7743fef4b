"""The events of a batch on Ray, and the tally the terminal and the batch dialog show.

Workers report ``start`` (pid, host, masks to write) and ``progress`` (masks done of the
project's total) through the batch's progress actor; the driver adds the end of each task:
``done``, ``skipped`` (the project is open elsewhere), ``failed`` (a bad input, or a worker lost
more times than the retries allow), ``cancelled``, and ``retry`` (a project started again after
its worker was lost). Every event is a plain dict with ``event`` and ``project`` (JSON as is:
``annotator propagate --cluster … --json`` prints one per line).

:class:`Tally` folds them into one line per project and a total (masks done, masks/s, ETA).
Pure Python: no Ray, no Qt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from annotator.core.words import plural

START, PROGRESS, DONE, SKIPPED, FAILED, CANCELLED, RETRY, BATCH = (
    "start", "progress", "done", "skipped", "failed", "cancelled", "retry", "batch")
FINAL = (DONE, SKIPPED, FAILED, CANCELLED)


@dataclass
class ProjectState:
    project: str
    state: str = "queued"  # queued, running, done, skipped, failed, cancelled
    done: int = 0  # masks of the project's passes in the store
    total: int = 0
    holder: str = ""  # "PID on HOST" of the worker running it
    attempts: int = 0
    written: int = 0  # masks written by this batch
    message: str = ""

    def line(self) -> str:
        name = self.project.rstrip("/").rsplit("/", 1)[-1]
        if self.state == "queued":
            return f"{name}: queued"
        if self.state == "running":
            again = f", attempt {self.attempts}" if self.attempts > 1 else ""
            return f"{name}: {self.done}/{self.total} masks (worker {self.holder}{again})"
        if self.state == "done":
            again = f" after {self.attempts} attempts" if self.attempts > 1 else ""
            return f"{name}: done, {plural(self.written, 'mask')} written{again}"
        if self.state == "cancelled":
            return f"{name}: cancelled at {self.done}/{self.total}; run again to resume"
        return f"{name}: {self.state}: {self.message}"


class Tally:
    """Where a batch stands. ``add(event)`` returns the events to show for it (a second
    ``start`` of a project is preceded by a ``retry``)."""

    def __init__(self, projects=()) -> None:
        self.projects: dict[str, ProjectState] = {str(p): ProjectState(str(p)) for p in projects}
        self.started_s = time.monotonic()
        self._base: dict[str, int] = {}  # masks done when the project first started

    def add(self, ev: dict) -> list[dict]:
        kind, name = ev["event"], str(ev.get("project", ""))
        st = self.projects.setdefault(name, ProjectState(name))
        out = [ev]
        if kind == START:
            if st.attempts and st.state == "running":
                out.insert(0, {"event": RETRY, "project": name, "attempt": st.attempts + 1,
                               "message": f"worker {st.holder} was lost at {st.done}/{st.total}"
                                          f"; attempt {st.attempts + 1} resumes from the "
                                          "project's checkpoints"})
            st.attempts += 1
            st.state, st.holder = "running", ev.get("holder", "")
            st.done, st.total = ev.get("done", 0), ev.get("total", 0)
            self._base.setdefault(name, st.done)
        elif kind == PROGRESS:
            st.done, st.total = ev["done"], ev["total"]
        elif kind in FINAL:
            st.state = kind
            st.message = ev.get("message", "")
            st.written = ev.get("written", 0)
            if "done" in ev:
                st.done, st.total = ev["done"], ev.get("total", st.total)
        return out

    # -- totals --------------------------------------------------------------------------------
    @property
    def finished(self) -> int:
        return sum(s.state in FINAL for s in self.projects.values())

    def masks(self) -> tuple[int, int]:
        """(masks done, masks in all projects) — projects not started yet count as the mean
        total of those started."""
        seen = [s for s in self.projects.values() if s.total or s.state != "queued"]
        mean = sum(s.total for s in seen) / len(seen) if seen else 0
        total = sum(s.total if (s.total or s.state != "queued") else mean
                    for s in self.projects.values()
                    if s.state not in (SKIPPED, FAILED))
        return sum(s.done for s in self.projects.values()), int(round(total))

    def rate(self) -> float:
        """Masks written per second by this batch (resumed masks do not count)."""
        new = sum(max(0, s.done - self._base.get(n, s.done)) for n, s in self.projects.items())
        elapsed = time.monotonic() - self.started_s
        return new / elapsed if elapsed > 0 else 0.0

    def total_line(self) -> str:
        done, total = self.masks()
        rate = self.rate()
        left = max(0, total - done)
        eta = f"ETA {_duration(left / rate)}" if rate > 0 and left else (
            "ETA -" if left else "")
        return (f"total: {self.finished}/{len(self.projects)} projects, {done}/{total} masks, "
                f"{rate:.1f} masks/s {eta}").rstrip()

    def summary(self) -> dict:
        """The closing ``batch`` event."""
        by = {k: [s.project for s in self.projects.values() if s.state == k] for k in FINAL}
        done, total = self.masks()
        return {"event": BATCH, "projects": len(self.projects), "done": len(by[DONE]),
                "skipped": by[SKIPPED], "failed": by[FAILED], "cancelled": by[CANCELLED],
                "masks": done, "written": sum(s.written for s in self.projects.values()),
                "wall_s": round(time.monotonic() - self.started_s, 2),
                "masks_per_s": round(self.rate(), 3)}


def describe(ev: dict) -> str | None:
    """One line for a terminal or a status bar (None: a progress event, shown by the tally)."""
    name = str(ev.get("project", ""))
    kind = ev["event"]
    if kind == START:
        return f"{name}: started on worker {ev.get('holder', '?')} ({ev.get('done', 0)}/" \
               f"{ev.get('total', 0)} masks already done)"
    if kind == RETRY:
        return f"{name}: retry: {ev['message']}"
    if kind == DONE:
        boxes = ev.get("boxes", 0)
        return (f"{name}: done, {plural(ev.get('written', 0), 'mask')} written"
                + (f", {plural(boxes, 'box tracked', 'boxes tracked')}" if boxes else "")
                + f" in {ev.get('wall_s', 0):.1f} s ({ev.get('done', 0)}/{ev.get('total', 0)})")
    if kind in (SKIPPED, FAILED):
        return f"{name}: {kind}: {ev.get('message', '')}"
    if kind == CANCELLED:
        return f"{name}: cancelled at {ev.get('done', 0)}/{ev.get('total', 0)}; run again to " \
               "resume"
    if kind == BATCH:
        tail = "".join(f", {len(ev[k])} {k}" for k in ("skipped", "failed", "cancelled")
                       if ev[k])
        return (f"batch: {ev['done']}/{ev['projects']} projects done{tail}; "
                f"{plural(ev['written'], 'mask')} written in {ev['wall_s']:.1f} s "
                f"({ev['masks_per_s']:.1f} masks/s)")
    return None


def _duration(s: float) -> str:
    s = int(s + 0.5)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
