"""Proposed audible spans in the project store (mixed into :class:`~annotator.core.store.Store`).

The sound-activity detector (:mod:`annotator.core.sound_activity`) proposes spans; a proposal
is never a segment until a person accepts it for an object (:meth:`accept_proposal` adds the
segment) or rejects it (:meth:`reject_proposal`). Both decisions, and each new set of
proposals (:meth:`set_proposals`), are operations of the store's history: undo and redo take
them back and forth like any other edit, also across restarts. Decided proposals are kept
when the detector runs again, and a new span that mostly lies on a decided one (more than
half of its frames) is not proposed again.
"""

from __future__ import annotations

import json
import time

from annotator.core.records import PROPOSAL_STATES, ProposalRecord, StoreError
from annotator.core.segments import segment_problem, span_words
from annotator.core.words import plural

#: a new span is not proposed again when more than this share of it lies on a decided one
DECIDED_OVERLAP = 0.5
_COLS = "id, start_frame, end_frame, score, state, segment_id"


class ProposalsMixin:
    """Needs the store's ``transaction``, ``_q``, ``_update_row``, ``_log_row``, ``new_op``,
    ``frame_count``, ``add_segment``, ``segments`` and ``object``."""

    def proposals(self, state: str | None = None) -> list[ProposalRecord]:
        """The proposals (all, or those in ``state``), by start frame."""
        if state is not None and state not in PROPOSAL_STATES:
            raise StoreError(f"unknown proposal state {state!r}; one of {PROPOSAL_STATES}")
        sql = f"SELECT {_COLS} FROM proposals WHERE deleted=0"
        args: tuple = ()
        if state is not None:
            sql += " AND state=?"
            args = (state,)
        return [ProposalRecord(*r) for r in self._q(sql + " ORDER BY start_frame, id", args)]

    def proposal(self, pid: int) -> ProposalRecord:
        rows = self._q(f"SELECT {_COLS} FROM proposals WHERE id=? AND deleted=0", (pid,))
        if not rows:
            raise StoreError(f"no proposal {pid} in {self.path}")
        return ProposalRecord(*rows[0])

    def set_proposals(self, spans: list[tuple[int, int, float]], *,
                      detector: dict | None = None, op: int | None = None) -> None:
        """Replace the *open* proposals by ``spans`` ((start, end, score), frames inclusive).

        Accepted and rejected ones stay; a span that overlaps a decided one by more than half
        its length is left out; an open proposal with the same frames stays as it is (same
        id). One undoable operation ("propose"), none when nothing changes."""
        n = self.frame_count
        clean: list[tuple[int, int, float]] = []
        for s, e, score in spans:
            s, e = int(s), int(e)
            if not 0 <= s <= e < n:
                raise StoreError(f"proposal [{s}, {e}] is outside the video's frames "
                                 f"0..{n - 1}")
            clean.append((s, e, float(score)))
        with self.transaction() as db:
            decided = db.execute("SELECT start_frame, end_frame FROM proposals "
                                 "WHERE deleted=0 AND state != 'open'").fetchall()
            keep = [sp for sp in clean if not _mostly_on(sp[0], sp[1], decided)]
            current = {(s, e): pid for pid, s, e in db.execute(
                "SELECT id, start_frame, end_frame FROM proposals "
                "WHERE deleted=0 AND state='open'")}
            wanted = {(s, e): score for s, e, score in keep}
            gone = [pid for key, pid in current.items() if key not in wanted]
            new = [(s, e, score) for (s, e), score in wanted.items() if (s, e) not in current]
            if not gone and not new:
                return
            op_id = op if op is not None else self.new_op(
                "propose", f"propose {plural(len(wanted), 'audible span')}")
            for pid in gone:
                self._update_row(db, op_id, "propose", "proposals", pid, {"deleted": 1})
            params = json.dumps(detector) if detector is not None else None
            now = time.time()
            for s, e, score in sorted(new):
                pid = db.execute(
                    "INSERT INTO proposals(start_frame, end_frame, score, state, created, "
                    "detector) VALUES (?,?,?,'open',?,?)", (s, e, score, now, params)).lastrowid
                self._log_row(db, op_id, "propose", "proposals", pid, None, {"deleted": 0})

    def accept_proposal(self, pid: int, object_id: int, *, op: int | None = None) -> int:
        """The open proposal ``pid`` becomes a segment of ``object_id``; returns the segment's
        id. Refused (:class:`StoreError`) when it is not open, or when it overlaps one of the
        object's segments (as an import would be). Undoable."""
        with self.transaction() as db:
            p = self.proposal(pid)
            if p.state != "open":
                raise StoreError(f"proposal {pid} ({span_words(p.start, p.end)}) is already "
                                 f"{p.state}")
            obj = self.object(object_id)
            if db.execute("SELECT deleted FROM objects WHERE id=?", (object_id,)).fetchone()[0]:
                raise StoreError(f"object {obj.name!r} was deleted; choose another object")
            problem = segment_problem(self.segments(object_id), object_id, p.start, p.end,
                                      self.frame_count, name=obj.name)
            if problem:
                raise StoreError(f"proposal {pid}: {problem}; an object's segments may not "
                                 "overlap: shorten that segment first, or choose another "
                                 "object")
            op_id = op if op is not None else self.new_op(
                "accept_proposal", f"accept proposal {span_words(p.start, p.end)} as {obj.name}")
            sid = self.add_segment(object_id, p.start, p.end, op=op_id)
            self._update_row(db, op_id, "accept_proposal", "proposals", pid,
                             {"state": "accepted", "segment_id": sid})
            return sid

    def reject_proposal(self, pid: int, *, op: int | None = None) -> None:
        """Mark the open proposal ``pid`` rejected (not proposed again). Undoable."""
        with self.transaction() as db:
            p = self.proposal(pid)
            if p.state != "open":
                raise StoreError(f"proposal {pid} ({span_words(p.start, p.end)}) is already "
                                 f"{p.state}")
            op_id = op if op is not None else self.new_op(
                "reject_proposal", f"reject proposal {span_words(p.start, p.end)}")
            self._update_row(db, op_id, "reject_proposal", "proposals", pid,
                             {"state": "rejected"})


def _mostly_on(s: int, e: int, decided: list[tuple[int, int]]) -> bool:
    """Whether more than :data:`DECIDED_OVERLAP` of frames s..e lie on a decided span."""
    covered, upto = 0, s - 1  # frames counted so far reach ``upto`` (spans may overlap)
    for a, b in sorted(decided):
        lo, hi = max(a, s, upto + 1), min(b, e)
        if hi >= lo:
            covered += hi - lo + 1
            upto = hi
    return covered > DECIDED_OVERLAP * (e - s + 1)
