"""Undo and redo over the store's operations, persistent across restarts.

An *operation* (a row of ``ops``) groups the writes of one user action: a click, a brush
stroke, an accepted mask, a deletion, a whole (re-)propagation. Undo is linear: the newest
operation that is not undone is undone; redo re-applies the oldest undone operation newer than
every done one. A new operation after an undo makes the undone ones unreachable for redo, but
their revisions stay in the file: nothing is ever lost.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    id: int
    kind: str
    label: str
    created: float
    undone: bool


class HistoryMixin:
    """Mixed into :class:`annotator.core.store.Store` (needs ``transaction`` and ``_q``)."""

    def _ops_where(self, sql: str, args=()) -> list[Operation]:
        return [Operation(r[0], r[1], r[2], r[3], bool(r[4]))
                for r in self._q(f"SELECT id, kind, label, created, undone FROM ops {sql}", args)]

    def operation(self, op_id: int) -> Operation | None:
        """One operation by id (None if there is no such operation)."""
        ops = self._ops_where("WHERE id=?", (op_id,))
        return ops[0] if ops else None

    def undoable(self) -> Operation | None:
        ops = self._ops_where("WHERE undone=0 ORDER BY id DESC LIMIT 1")
        return ops[0] if ops else None

    def redoable(self) -> Operation | None:
        ops = self._ops_where(
            "WHERE undone=1 AND id > COALESCE((SELECT MAX(id) FROM ops WHERE undone=0), 0) "
            "ORDER BY id LIMIT 1")
        return ops[0] if ops else None

    def history(self, limit: int = 100) -> list[Operation]:
        return self._ops_where("ORDER BY id DESC LIMIT ?", (limit,))

    def undo(self) -> Operation | None:
        """Undo the newest operation; returns it (None when there is nothing to undo)."""
        with self.transaction() as db:
            op = self.undoable()
            if op is None:
                return None
            revs = db.execute("SELECT id, object_id, frame, prev_id FROM mask_revs "
                              "WHERE op_id=? ORDER BY id DESC", (op.id,)).fetchall()
            for _rid, oid, frame, prev in revs:
                _point(db, oid, frame, prev)
            rows = db.execute("SELECT tbl, row_id, before, after FROM row_changes WHERE op_id=? "
                              "ORDER BY id DESC", (op.id,)).fetchall()
            for tbl, row_id, before, _after in rows:
                _set_row(db, tbl, row_id, {"deleted": 1} if before is None else json.loads(before))
            db.execute("UPDATE ops SET undone=1 WHERE id=?", (op.id,))
            return op

    def redo(self) -> Operation | None:
        """Re-apply the operation undone last; returns it (None when there is nothing)."""
        with self.transaction() as db:
            op = self.redoable()
            if op is None:
                return None
            revs = db.execute("SELECT id, object_id, frame FROM mask_revs WHERE op_id=? "
                              "ORDER BY id", (op.id,)).fetchall()
            for rid, oid, frame in revs:
                _point(db, oid, frame, rid)
            rows = db.execute("SELECT tbl, row_id, after FROM row_changes WHERE op_id=? "
                              "ORDER BY id", (op.id,)).fetchall()
            for tbl, row_id, after in rows:
                _set_row(db, tbl, row_id, json.loads(after))
            db.execute("UPDATE ops SET undone=0 WHERE id=?", (op.id,))
            return op

    def op_frames(self, op_id: int) -> list[tuple[int, int]]:
        """The (object, frame) keys an operation wrote: what a view must repaint."""
        return [tuple(r) for r in self._q(
            "SELECT DISTINCT object_id, frame FROM mask_revs WHERE op_id=? ORDER BY frame",
            (op_id,))]


def _point(db: sqlite3.Connection, object_id: int, frame: int, rev_id: int | None) -> None:
    """Make ``rev_id`` the current mask of (object, frame); None or a deletion removes it."""
    alive = rev_id is not None and db.execute(
        "SELECT rle IS NOT NULL FROM mask_revs WHERE id=?", (rev_id,)).fetchone()[0]
    if alive:
        db.execute("INSERT OR REPLACE INTO masks(object_id, frame, rev_id) VALUES (?,?,?)",
                   (object_id, frame, rev_id))
    else:
        db.execute("DELETE FROM masks WHERE object_id=? AND frame=?", (object_id, frame))


_TABLES = {"objects", "segments"}


def _set_row(db: sqlite3.Connection, tbl: str, row_id: int, values: dict) -> None:
    if tbl not in _TABLES:
        raise ValueError(f"unexpected table in history: {tbl}")
    db.execute(f"UPDATE {tbl} SET {', '.join(f'{c}=?' for c in values)} WHERE id=?",
               (*values.values(), row_id))
