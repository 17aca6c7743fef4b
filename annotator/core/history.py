"""Undo and redo over the store's operations, persistent across restarts.

An *operation* (a row of ``ops``) groups the writes of one user action: a click, a brush
stroke, an accepted mask, a deletion, a whole (re-)propagation. Operations are ordered by the
real order of writes, ``seq`` (a store-wide counter bumped into an operation each time it
writes; see :mod:`annotator.core.schema`), not by their ids: a propagation job takes its id when
it starts but keeps writing, also across a resume, after the edits a person made meanwhile.

Undo is linear in that order: the operation with the highest ``seq`` that is not undone is
undone; redo re-applies the operation undone last (the undone one with the lowest ``seq``
above every done one), so redo walks back the undos in reverse. A new write after an undo
makes the undone operations unreachable for redo, but their revisions stay in the file:
nothing is ever lost.

Undoing or redoing an operation does not replay its own revisions blindly: every (object,
frame) key it wrote gets the newest revision of an operation that is not undone, and every
object/segment column it changed gets the newest value set by an operation that is not undone.
So undoing a job that ran while a person edited inside its range takes back only what the job
wrote and is still the job's; the person's edits stay until they are undone in their turn.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from annotator.core import box_rows
from annotator.core.records import Operation, StoreError


class HistoryMixin:
    """Mixed into :class:`annotator.core.store.Store` (needs ``transaction``, ``_q``, ``path``
    and ``person``): operations (each recording who made it), the record of row changes, undo
    and redo."""

    def new_op(self, kind: str, label: str = "") -> int:
        """Start an undo unit. Writes that pass ``op=`` join it; a new op ends redo."""
        with self.transaction() as db:
            return _insert_op(db, kind, label, self.person)

    def _op(self, db: sqlite3.Connection, op: int | None, kind: str) -> int:
        """The operation a write joins: ``op`` (now the newest in the order of writes), or a
        new one of ``kind``."""
        if op is not None:
            touch(db, op)
            return op
        return _insert_op(db, kind, "", self.person)

    def _update_row(self, db, op, kind, tbl, row_id, changes: dict[str, Any]) -> None:
        """Change columns of one object/segment/proposal row, recorded for undo."""
        if not changes:
            return
        cols = ", ".join(changes)
        row = db.execute(f"SELECT {cols} FROM {tbl} WHERE id=?", (row_id,)).fetchone()
        if row is None:
            raise StoreError(f"no row {row_id} in {tbl} of {self.path}")
        before = dict(zip(changes, row))
        db.execute(f"UPDATE {tbl} SET {', '.join(f'{c}=?' for c in changes)} WHERE id=?",
                   (*changes.values(), row_id))
        self._log_row(db, op, kind, tbl, row_id, before, changes)

    def _log_row(self, db, op, kind, tbl, row_id, before, after) -> None:
        """Record a row's change (``before`` None: the row was created) under its operation."""
        op_id = self._op(db, op, kind)
        db.execute("INSERT INTO row_changes(op_id, tbl, row_id, before, after) VALUES (?,?,?,?,?)",
                   (op_id, tbl, row_id, None if before is None else json.dumps(before),
                    json.dumps(after)))

    def _ops_where(self, sql: str, args=()) -> list[Operation]:
        return [Operation(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in self._q(
            f"SELECT id, kind, label, created, undone, seq, author FROM ops {sql}", args)]

    def operation(self, op_id: int) -> Operation | None:
        """One operation by id (None if there is no such operation)."""
        ops = self._ops_where("WHERE id=?", (op_id,))
        return ops[0] if ops else None

    def undoable(self) -> Operation | None:
        """The operation :meth:`undo` would undo: the newest written that is not undone."""
        ops = self._ops_where("WHERE undone=0 ORDER BY seq DESC LIMIT 1")
        return ops[0] if ops else None

    def redoable(self) -> Operation | None:
        """The operation :meth:`redo` would re-apply: the one undone last, if still reachable."""
        ops = self._ops_where(
            "WHERE undone=1 AND seq > COALESCE((SELECT MAX(seq) FROM ops WHERE undone=0), 0) "
            "ORDER BY seq LIMIT 1")
        return ops[0] if ops else None

    def history(self, limit: int = 100) -> list[Operation]:
        """The newest ``limit`` operations in the order of writes, newest first."""
        return self._ops_where("ORDER BY seq DESC LIMIT ?", (limit,))

    def undo(self) -> Operation | None:
        """Undo the newest operation; returns it (None when there is nothing to undo)."""
        with self.transaction() as db:
            op = self.undoable()
            if op is None:
                return None
            db.execute("UPDATE ops SET undone=1 WHERE id=?", (op.id,))
            _restore(db, op.id)
            return op

    def redo(self) -> Operation | None:
        """Re-apply the operation undone last; returns it (None when there is nothing)."""
        with self.transaction() as db:
            op = self.redoable()
            if op is None:
                return None
            db.execute("UPDATE ops SET undone=0 WHERE id=?", (op.id,))
            _restore(db, op.id)
            return op

    def op_frames(self, op_id: int) -> list[tuple[int, int]]:
        """The (object, frame) keys an operation wrote (masks and boxes): what a view must
        repaint."""
        return [tuple(r) for r in self._q(
            "SELECT object_id, frame FROM mask_revs WHERE op_id=? UNION "
            "SELECT object_id, frame FROM box_revs WHERE op_id=? ORDER BY frame",
            (op_id, op_id))]


def _insert_op(db: sqlite3.Connection, kind: str, label: str, author: str | None) -> int:
    return db.execute("INSERT INTO ops(kind, label, created, seq, author) VALUES "
                      "(?,?,?,(SELECT COALESCE(MAX(seq), 0) + 1 FROM ops),?)",
                      (kind, label, time.time(), author)).lastrowid


def touch(db: sqlite3.Connection, op_id: int) -> None:
    """``op`` writes now: it becomes the newest operation in the order of writes."""
    db.execute("UPDATE ops SET seq = (SELECT MAX(seq) + 1 FROM ops) "
               "WHERE id=? AND seq < (SELECT MAX(seq) FROM ops)", (op_id,))


def _restore(db: sqlite3.Connection, op_id: int) -> None:
    """After ``op_id`` was undone or redone: every key and column it wrote gets the newest
    value among the operations not undone (see the module docstring)."""
    keys = db.execute("SELECT DISTINCT object_id, frame FROM mask_revs WHERE op_id=?",
                      (op_id,)).fetchall()
    for oid, frame in keys:
        row = db.execute(
            "SELECT r.id FROM mask_revs r JOIN ops o ON o.id=r.op_id WHERE r.object_id=? "
            "AND r.frame=? AND o.undone=0 ORDER BY r.id DESC LIMIT 1", (oid, frame)).fetchone()
        _point(db, oid, frame, row[0] if row else None)
    box_rows.restore(db, op_id)
    cols: dict[tuple[str, int], set[str]] = {}
    for tbl, row_id, after in db.execute(
            "SELECT tbl, row_id, after FROM row_changes WHERE op_id=?", (op_id,)).fetchall():
        cols.setdefault((tbl, row_id), set()).update(json.loads(after))
    for (tbl, row_id), names in cols.items():
        values = _row_values(db, tbl, row_id, names)
        if values:
            _set_row(db, tbl, row_id, values)


def _row_values(db: sqlite3.Connection, tbl: str, row_id: int, names: set[str]) -> dict:
    """Each column's newest value set by an operation not undone; the value before its first
    change when none is (a row's creation: ``deleted`` = 1)."""
    changes = db.execute(
        "SELECT c.before, c.after, o.undone FROM row_changes c JOIN ops o ON o.id=c.op_id "
        "WHERE c.tbl=? AND c.row_id=? ORDER BY c.id", (tbl, row_id)).fetchall()
    values: dict = {}
    seen: set[str] = set()
    for before, after, undone in changes:
        b, a = (None if before is None else json.loads(before)), json.loads(after)
        for col in names & a.keys():
            if col not in seen:  # the first change: what the column was before it
                seen.add(col)
                if b is not None and col in b:
                    values[col] = b[col]
                elif b is None and col == "deleted":
                    values[col] = 1
            if not undone:
                values[col] = a[col]
    return values


def _point(db: sqlite3.Connection, object_id: int, frame: int, rev_id: int | None) -> None:
    """Make ``rev_id`` the current mask of (object, frame); None or a deletion removes it."""
    alive = rev_id is not None and db.execute(
        "SELECT rle IS NOT NULL FROM mask_revs WHERE id=?", (rev_id,)).fetchone()[0]
    if alive:
        db.execute("INSERT OR REPLACE INTO masks(object_id, frame, rev_id) VALUES (?,?,?)",
                   (object_id, frame, rev_id))
    else:
        db.execute("DELETE FROM masks WHERE object_id=? AND frame=?", (object_id, frame))


_TABLES = {"objects", "segments", "proposals"}


def _set_row(db: sqlite3.Connection, tbl: str, row_id: int, values: dict) -> None:
    if tbl not in _TABLES:
        raise ValueError(f"unexpected table in history: {tbl}")
    db.execute(f"UPDATE {tbl} SET {', '.join(f'{c}=?' for c in values)} WHERE id=?",
               (*values.values(), row_id))
