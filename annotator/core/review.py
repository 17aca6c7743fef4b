"""Review: a second person approves an audible segment or asks for work on it.

A reviewer's verdict is a *review event* (``review_events``, schema version 5): who, when,
``approved`` or ``needs_work``, a comment pinned to a frame of the segment, and what the segment
held at that moment — its frames and a digest (``content``) of the current mask and box
revision of each of its frames. Events are appended, never changed, and are no operations:
undo never takes a verdict back.

A segment's review *state* is derived, never stored: from its newest event, and whether the
segment still holds what it held then (an edit after the event — a click, a brush stroke, a
re-propagation, a change of its frames — gives it other revisions; undoing that edit gives
the old ones back):

=============  ================================================================
``none``       no reviewer has looked at it
``needs_work`` the newest verdict asks for work, and nothing changed since
``fixed``      the newest verdict asks for work, and the segment changed since
``approved``   the newest verdict approves it, and nothing changed since
``changed``    the newest verdict approved it, and the segment changed since
=============  ================================================================

:func:`segment_reviews` gives every live segment's state; :func:`review_summary` is what a
dataset reads of a project: per segment state, reviewer, comment and frame, and one state for
the whole video (``none`` | ``needs work`` | ``approved`` | ``changed``).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from annotator.core.records import REVIEW_VERDICTS, ReviewEvent, SegmentRecord, StoreError

#: a segment's derived review state (see the module docstring)
REVIEW_STATES = ("none", "needs_work", "fixed", "approved", "changed")
#: each state in words, for people
STATE_WORDS = {"none": "not reviewed", "needs_work": "needs work",
               "fixed": "needs work, fixed since", "approved": "approved",
               "changed": "changed since approval"}
#: the whole video's review state (:func:`overall_state`)
OVERALL_STATES = ("none", "needs work", "approved", "changed")

_EVENT_COLS = ("id, segment_id, object_id, start_frame, end_frame, state, author, comment, "
               "frame, created, content")


@dataclass(frozen=True)
class SegmentReview:
    """One segment's review state, derived from its newest review event."""

    segment_id: int
    object_id: int
    start: int
    end: int
    state: str  # one of REVIEW_STATES
    by: str | None = None  # the reviewer of the newest event
    comment: str | None = None
    frame: int | None = None  # the frame the comment is pinned to
    at: float | None = None  # when (seconds since the epoch)
    events: int = 0  # how many review events the segment has

    @property
    def words(self) -> str:
        return STATE_WORDS[self.state]

    @property
    def open_request(self) -> bool:
        """The reviewer asked for work (fixed or not yet): what the annotator sees first."""
        return self.state in ("needs_work", "fixed")


class ReviewMixin:
    """Mixed into :class:`annotator.core.store.Store`: review events."""

    def add_review(self, segment_id: int, state: str, *, comment: str | None = None,
                   frame: int | None = None, author: str | None = None) -> int:
        """Record a reviewer's verdict on a live segment (one transaction); returns its id.
        ``needs_work`` needs a comment; ``frame`` (default: the segment's first) must lie in
        the segment. ``author`` defaults to the store's person."""
        if state not in REVIEW_VERDICTS:
            raise StoreError(f"a review is one of {', '.join(REVIEW_VERDICTS)}, not {state!r}")
        comment = (comment or "").strip() or None
        if state == "needs_work" and comment is None:
            raise StoreError("say what needs work: a needs-work review needs a comment")
        with self.transaction() as db:
            seg = _live_segment(self, db, segment_id)
            frame = seg.start if frame is None else int(frame)
            if frame not in seg:
                raise StoreError(f"frame {frame} is not in segment {segment_id} (frames "
                                 f"{seg.start}–{seg.end}); pin the comment to one of its frames")
            who = (author or "").strip() or self.person
            return db.execute(
                f"INSERT INTO review_events({_EVENT_COLS.replace('id, ', '', 1)}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (seg.id, seg.object_id, seg.start, seg.end, state, who, comment, frame,
                 time.time(), content(lambda q, a: db.execute(q, a).fetchall(), seg))
            ).lastrowid

    def review_events(self, segment_id: int | None = None) -> list[ReviewEvent]:
        """Review events, oldest first (of one segment, or of all)."""
        where, args = ("WHERE segment_id=?", (segment_id,)) if segment_id is not None else ("", ())
        return [ReviewEvent(*r) for r in self._q(
            f"SELECT {_EVENT_COLS} FROM review_events {where} ORDER BY id", args)]


def _live_segment(store: Any, db: sqlite3.Connection, segment_id: int) -> SegmentRecord:
    row = db.execute("SELECT s.id, s.object_id, s.start_frame, s.end_frame, s.status, s.note "
                     "FROM segments s JOIN objects o ON o.id=s.object_id WHERE s.id=? "
                     "AND s.deleted=0 AND o.deleted=0", (segment_id,)).fetchone()
    if row is None:
        raise StoreError(f"no audible segment {segment_id} in {store.path} (annotator status "
                         "lists them)")
    return SegmentRecord(*row)


def content(query: Callable[[str, tuple], list], seg: Any) -> str:
    """A digest of what the segment holds now: its frames and the current mask and box
    revision of each of its frames (``query(sql, args)`` returns the rows)."""
    h = hashlib.sha1(f"{seg.object_id}:{seg.start}-{seg.end}".encode())
    for table in ("masks", "boxes"):
        h.update(table.encode())
        for frame, rev in query(f"SELECT frame, rev_id FROM {table} WHERE object_id=? "
                                "AND frame BETWEEN ? AND ? ORDER BY frame",
                                (seg.object_id, seg.start, seg.end)):
            h.update(f"{frame}:{rev};".encode())
    return h.hexdigest()


def segment_reviews(store: Any) -> dict[int, SegmentReview]:
    """Every live segment's review state, by segment id (a worker thread's read)."""
    segments = store.segments()
    newest: dict[int, ReviewEvent] = {}
    counts: dict[int, int] = {}
    for ev in store.review_events():
        newest[ev.segment_id] = ev
        counts[ev.segment_id] = counts.get(ev.segment_id, 0) + 1
    out: dict[int, SegmentReview] = {}
    for seg in segments:
        ev = newest.get(seg.id)
        if ev is None:
            out[seg.id] = SegmentReview(seg.id, seg.object_id, seg.start, seg.end, "none")
            continue
        same = (seg.object_id, seg.start, seg.end) == (ev.object_id, ev.start, ev.end) \
            and content(store._q, seg) == ev.content
        if ev.state == "approved":
            state = "approved" if same else "changed"
        else:
            state = "needs_work" if same else "fixed"
        frame = ev.frame if ev.frame is not None and ev.frame in seg else seg.start
        out[seg.id] = SegmentReview(seg.id, seg.object_id, seg.start, seg.end, state,
                                    ev.author, ev.comment, frame, ev.created,
                                    counts[seg.id])
    return out


def overall_state(states: list[str]) -> str:
    """The video's review state from its segments': ``needs work`` while a reviewer's request
    is not fixed, else ``changed`` while a segment changed since its verdict (a fix or an
    edit after approval: the reviewer looks again), else ``approved`` when every segment is,
    else ``partly approved (k of n)`` when some are, else ``none`` (not reviewed)."""
    if any(s == "needs_work" for s in states):
        return "needs work"
    if any(s in ("fixed", "changed") for s in states):
        return "changed"
    k = sum(s == "approved" for s in states)
    if states and k == len(states):
        return "approved"
    if k:
        return f"partly approved ({k} of {len(states)})"
    return "none"


def review_summary(store: Any) -> dict:
    """What a dataset reads of a project's review: ``{"overall": none | needs work |
    approved | partly approved (k of n) | changed, "counts": {state: n}, "segments": [{"segment_id", "object",
    "start", "end", "state", "words", "by", "comment", "frame", "at"}, …]}`` (segments in
    frame order)."""
    reviews = segment_reviews(store)
    names = {o.id: o.name for o in store.objects()}
    counts = {s: 0 for s in REVIEW_STATES}
    rows = []
    for r in reviews.values():
        counts[r.state] += 1
        rows.append({"segment_id": r.segment_id, "object": names.get(r.object_id),
                     "start": r.start, "end": r.end, "state": r.state, "words": r.words,
                     "by": r.by, "comment": r.comment, "frame": r.frame, "at": r.at})
    return {"overall": overall_state([r.state for r in reviews.values()]), "counts": counts,
            "segments": rows}


def review_attributes(reviews: dict[int, SegmentReview], segment_id: int | None) -> dict:
    """The exports' ``review`` and ``reviewed_by`` of an annotation of ``segment_id``."""
    r = reviews.get(segment_id) if segment_id is not None else None
    return {"review": r.state if r else "none", "reviewed_by": (r.by or "") if r else ""}


def joined_review(reviews: dict[int, SegmentReview], segment_ids: tuple[int, ...]) -> dict:
    """``review`` and ``reviewed_by`` of segments exported as one (an LU-AVS segment of two
    objects): the least approved state (needs work, fixed, changed, none, approved) and every
    reviewer."""
    order = ("needs_work", "fixed", "changed", "none", "approved")
    rs = [review_attributes(reviews, sid) for sid in segment_ids] or [
        review_attributes(reviews, None)]
    state = min((r["review"] for r in rs), key=order.index)
    by = ", ".join(sorted({r["reviewed_by"] for r in rs if r["reviewed_by"]}))
    return {"review": state, "reviewed_by": by}
