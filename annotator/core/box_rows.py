"""Boxes as rows of the store, kept like masks: ``box_revs`` holds every revision of every
(object, frame) box, ``boxes`` points at the current one (see :mod:`annotator.core.schema`).

A stored box is a keyframe a person drew or imported (``drawn``, ``imported``), or a box a job
took from its propagated masks (``tracked``). Interpolated boxes and masks' tight boxes are
not stored: :mod:`annotator.core.box_tracks` makes them from these rows. Undo and redo move
the pointer (:mod:`annotator.core.history`), so a replaced box is never lost; a job writes
with :meth:`BoxesMixin.put_machine_boxes`, which never replaces a person's keyframe, decided
in the transaction that would have written it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

from annotator.core.records import BOX_SOURCES, KEYFRAME_SOURCES, BoxRecord, StoreError

BOX_COLS = ("r.id, r.object_id, r.frame, r.x0, r.y0, r.x1, r.y1, r.outside, r.source, "
            "r.created, r.op_id, r.prev_id")


def box_from_row(row: tuple) -> BoxRecord:
    rid, oid, frame, x0, y0, x1, y1, outside, source, created, op_id, prev_id = row
    box = None if x0 is None else (float(x0), float(y0), float(x1), float(y1))
    return BoxRecord(rid, oid, frame, box, bool(outside), source, created, op_id, prev_id)


def check_box(box: Sequence[float], frame: int, size_hw: tuple[int, int]) -> tuple:
    """``(x0, y0, x1, y1)`` as floats, checked: ordered, finite, inside the frame."""
    h, w = size_hw
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise StoreError(f"the box on frame {frame} is not four numbers x0 y0 x1 y1: "
                         f"{box!r}") from None
    if not (0 <= x0 <= x1 <= w and 0 <= y0 <= y1 <= h):
        raise StoreError(f"the box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) on frame {frame} is not "
                         f"an ordered box inside the {w}×{h} frame (x0 ≤ x1, y0 ≤ y1)")
    return x0, y0, x1, y1


def prepare(items: Iterable[dict], size_hw: tuple[int, int], frame_count: int) -> list[tuple]:
    """Check box items (``object_id``, ``frame``, ``box``, ``source``, ``outside``) into
    ``box_revs`` column tuples."""
    out = []
    for it in items:
        frame, src = int(it["frame"]), it.get("source", "drawn")
        if src not in BOX_SOURCES:
            raise StoreError(f"unknown box source {src!r}; one of {BOX_SOURCES}")
        if not 0 <= frame < frame_count:
            raise StoreError(f"frame {frame} is outside the video's frames 0..{frame_count - 1}")
        out.append((int(it["object_id"]), frame, *check_box(it["box"], frame, size_hw),
                    int(bool(it.get("outside", False))), src))
    return out


def write_rev(db: sqlite3.Connection, op_id: int, p: tuple) -> int:
    """Write one prepared box revision under ``op_id`` and make it current (a deletion,
    ``x0`` None, removes the pointer); returns the revision id."""
    oid, frame = p[0], p[1]
    cur = db.execute("SELECT rev_id FROM boxes WHERE object_id=? AND frame=?",
                     (oid, frame)).fetchone()
    rid = db.execute(
        "INSERT INTO box_revs(object_id, frame, x0, y0, x1, y1, outside, source, created, "
        "op_id, prev_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (*p, time.time(), op_id, cur[0] if cur else None)).lastrowid
    point(db, oid, frame, rid)
    return rid


def point(db: sqlite3.Connection, object_id: int, frame: int, rev_id: int | None) -> None:
    """Make ``rev_id`` the current box of (object, frame); None or a deletion removes it."""
    alive = rev_id is not None and db.execute(
        "SELECT x0 IS NOT NULL FROM box_revs WHERE id=?", (rev_id,)).fetchone()[0]
    if alive:
        db.execute("INSERT OR REPLACE INTO boxes(object_id, frame, rev_id) VALUES (?,?,?)",
                   (object_id, frame, rev_id))
    else:
        db.execute("DELETE FROM boxes WHERE object_id=? AND frame=?", (object_id, frame))


def restore(db: sqlite3.Connection, op_id: int) -> None:
    """After ``op_id`` was undone or redone: each box key it wrote gets its newest revision
    of an operation not undone."""
    keys = db.execute("SELECT DISTINCT object_id, frame FROM box_revs WHERE op_id=?",
                      (op_id,)).fetchall()
    for oid, frame in keys:
        row = db.execute(
            "SELECT r.id FROM box_revs r JOIN ops o ON o.id=r.op_id WHERE r.object_id=? "
            "AND r.frame=? AND o.undone=0 ORDER BY r.id DESC LIMIT 1", (oid, frame)).fetchone()
        point(db, oid, frame, row[0] if row else None)


def person_owns(db: sqlite3.Connection, key: tuple[int, int], op: int, since_rev: int) -> bool:
    """Whether a person's keyframe (or a person's deletion since ``since_rev``) holds ``key``."""
    row = db.execute("SELECT r.source, r.op_id FROM boxes b JOIN box_revs r ON r.id=b.rev_id "
                     "WHERE b.object_id=? AND b.frame=?", key).fetchone()
    if row is not None:
        return row[1] != op and row[0] in KEYFRAME_SOURCES
    row = db.execute("SELECT r.id, r.source, r.op_id FROM box_revs r JOIN ops o ON "
                     "o.id=r.op_id WHERE r.object_id=? AND r.frame=? AND o.undone=0 "
                     "ORDER BY r.id DESC LIMIT 1", key).fetchone()
    return (row is not None and row[0] > since_rev and row[2] != op
            and row[1] in KEYFRAME_SOURCES)


class BoxesMixin:
    """Mixed into :class:`annotator.core.store.Store` (needs ``transaction``, ``_q``, ``_op``,
    ``size_hw``, ``frame_count``): boxes as revisions."""

    def put_box(self, object_id: int, frame: int, box: Sequence[float], *,
                source: str = "drawn", outside: bool = False, op: int | None = None) -> int:
        """Write one box (a new current revision); returns the revision id."""
        return self.put_boxes([dict(object_id=object_id, frame=frame, box=box, source=source,
                                    outside=outside)], op=op)[0]

    def put_boxes(self, items: Iterable[dict], *, op: int | None = None) -> list[int]:
        """Write many boxes in one transaction (the keys of :meth:`put_box`)."""
        prepared = prepare(items, self.size_hw, self.frame_count)
        with self.transaction() as db:
            op_id = self._op(db, op, "boxes")
            return [write_rev(db, op_id, p) for p in prepared]

    def put_machine_boxes(self, items: Iterable[dict], *, op: int,
                          since_rev: int = 0) -> list[int | None]:
        """Write a job's boxes under ``op``, except on keys a person's keyframe holds (or a
        person emptied since ``since_rev``); None where the key was kept."""
        prepared = prepare(items, self.size_hw, self.frame_count)
        with self.transaction() as db:
            out = [None if person_owns(db, (p[0], p[1]), op, since_rev)
                   else write_rev(db, op, p) for p in prepared]
            if any(r is not None for r in out):
                self._op(db, op, "boxes")  # the job wrote now (the order of writes)
            return out

    def last_box_rev_id(self) -> int:
        """The newest box revision id (0 for none): a job's ``since_rev`` for boxes."""
        return self._q("SELECT COALESCE(MAX(id), 0) FROM box_revs")[0][0]

    def delete_box(self, object_id: int, frame: int, *, op: int | None = None) -> bool:
        """Remove the current box (kept as a revision; undoable). False if there was none."""
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM boxes WHERE object_id=? AND frame=?",
                              (object_id, frame)).fetchone():
                return False
            op_id = self._op(db, op, "delete_box")
            write_rev(db, op_id, (object_id, frame, None, None, None, None, 0, "drawn"))
            return True

    def box(self, object_id: int, frame: int) -> BoxRecord | None:
        rows = self._q(f"SELECT {BOX_COLS} FROM boxes b JOIN box_revs r ON r.id=b.rev_id "
                       "WHERE b.object_id=? AND b.frame=?", (object_id, frame))
        return box_from_row(rows[0]) if rows else None

    def boxes_of(self, object_id: int, start: int = 0, end: int | None = None
                 ) -> list[BoxRecord]:
        """Current stored boxes of one object in ``[start, end]``, by frame."""
        end = self.frame_count - 1 if end is None else end
        rows = self._q(f"SELECT {BOX_COLS} FROM boxes b JOIN box_revs r ON r.id=b.rev_id "
                       "WHERE b.object_id=? AND b.frame BETWEEN ? AND ? ORDER BY b.frame",
                       (object_id, start, end))
        return [box_from_row(r) for r in rows]

    def box_count(self) -> int:
        return self._q("SELECT COUNT(*) FROM boxes b JOIN objects o ON o.id=b.object_id "
                       "WHERE o.deleted=0")[0][0]

    def box_revisions(self, object_id: int, frame: int) -> list[BoxRecord]:
        """Every version of one box ever written, oldest first (deletions included)."""
        rows = self._q(f"SELECT {BOX_COLS} FROM box_revs r WHERE r.object_id=? AND r.frame=? "
                       "ORDER BY r.id", (object_id, frame))
        return [box_from_row(r) for r in rows]
