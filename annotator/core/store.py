"""The project store: one SQLite database per video project.

WAL mode, foreign keys on, ``synchronous=FULL`` (a commit that returned survives a kill and a
power cut; :mod:`annotator.core.connection`), a schema version with forward migrations
(:mod:`annotator.core.schema`). Every
public write is one transaction. Masks are revisions grouped by *operations* (``ops``): undo
and redo move each key's current-revision pointer, so they survive restarts and a replaced
mask is never lost. Every write bumps its operation's ``seq`` (the real order of writes, which
undo follows). A job writes with :meth:`Store.put_machine_masks`, which leaves every key a
person owns as it is, decided in the transaction that would have written it.

The store knows nothing about Qt or models; it is safe to share between threads (one
connection behind a lock; each call holds it for one short transaction).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core import mask_rows as R
from annotator.core import masks as M
from annotator.core.active_time import ActiveTimeMixin
from annotator.core.box_rows import BoxesMixin
from annotator.core.connection import open_db, open_reader
from annotator.core.history import HistoryMixin, touch
from annotator.core.proposals import ProposalsMixin
from annotator.core.records import (
    SEGMENT_STATUSES,
    MaskRecord,
    ObjectRecord,
    SegmentRecord,
    StoreError,
    VideoRecord,
)
from annotator.core.review import ReviewMixin
from annotator.core.segments import segment_problem

PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
)


class Store(HistoryMixin, ProposalsMixin, BoxesMixin, ReviewMixin, ActiveTimeMixin):
    """Open (or create) the SQLite store at ``path``. ``readonly`` never writes."""

    def __init__(self, path: str | Path, *, readonly: bool = False, create: bool = False,
                 person: str | None = None):
        self.path = Path(path)
        self.readonly = readonly
        self._person = person
        #: "PID on HOST" of the other process that holds the project's write lock, when this
        #: store is read-only because of it (set by whoever opened it; see lock.py)
        self.held_by: str | None = None
        self._db = open_db(self.path, readonly=readonly, create=create)
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None  # the thread inside the write transaction
        self._reader: sqlite3.Connection | None = None  # the main thread's own connection
        self._reader_failed = False
        self._size: tuple[int, int] | None = None

    @property
    def person(self) -> str:
        """Who this store's writes are made by (``ops.author``, review events, active time):
        the name given when it was opened, else :func:`annotator.settings.person` now (the
        window's Preferences, ``annotator --as NAME``, the login name)."""
        if self._person:
            return self._person
        from annotator.settings import person

        return person()

    @person.setter
    def person(self, name: str | None) -> None:
        self._person = (name or "").strip() or None

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._reader is not None:  # first: the writer's close, the last, then
                self._reader.close()      # checkpoints and removes the -wal file
                self._reader = None
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def readonly_reason(self) -> str | None:
        """Why nothing can be written here, in words for a person (None when it can)."""
        if self.readonly and self.held_by:
            return (f"{self.path} is open for editing in process {self.held_by}, so it is view "
                    "only here; close it there, then open it again here to change it")
        if self.readonly:
            return (f"{self.path} is open read-only (view only); to change it, copy the "
                    "project to a writable folder and open it there")
        return None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (nested calls join the outer one)."""
        with self._lock:
            if self.readonly:
                raise StoreError(self.readonly_reason)
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
                self._owner = threading.get_ident()
            self._depth += 1
            try:
                yield self._db
            except BaseException:
                self._depth -= 1
                if outer:
                    self._owner = None
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._owner = None
                self._db.execute("COMMIT")

    def _q(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        reader = self._main_reader()
        if reader is not None:
            return reader.execute(sql, tuple(args)).fetchall()
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _main_reader(self) -> sqlite3.Connection | None:
        """The main (GUI) thread reads through a connection of its own: in WAL mode it sees the
        last committed state and never waits for the lock a writer holds (a job's commit, a
        click's write). Other threads, and the main thread inside its own transaction, use the
        shared connection."""
        if (threading.current_thread() is not threading.main_thread()
                or self._owner == threading.get_ident() or self._reader_failed):
            return None
        if self._reader is None:
            self._reader = open_reader(self.path)
            if self._reader is None:
                self._reader_failed = True
                return None
        return self._reader

    @property
    def schema_version(self) -> int:
        return self._q("PRAGMA user_version")[0][0]

    def integrity_check(self) -> str:
        return self._q("PRAGMA integrity_check")[0][0]

    # -- meta -----------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (key, json.dumps(value)))

    # -- video ----------------------------------------------------------------------------
    def set_video(self, v: VideoRecord) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO video(id, path, rel_path, is_folder, size_bytes, "
                "fingerprint, frame_count, fps, width, height, duration, has_audio, frame_index)"
                " VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?)",
                (v.path, v.rel_path, int(v.is_folder), v.size_bytes, v.fingerprint,
                 v.frame_count, v.fps, v.width, v.height, v.duration, int(v.has_audio),
                 v.frame_index),
            )
        self._size = None

    def video(self) -> VideoRecord | None:
        rows = self._q(
            "SELECT path, rel_path, is_folder, size_bytes, fingerprint, frame_count, fps, "
            "width, height, duration, has_audio, frame_index FROM video WHERE id=1")
        if not rows:
            return None
        r = rows[0]
        return VideoRecord(r[0], r[1], bool(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                           bool(r[10]), r[11])

    @property
    def size_hw(self) -> tuple[int, int]:
        """The video's (height, width): every mask has exactly this size."""
        if self._size is None:
            rows = self._q("SELECT height, width FROM video WHERE id=1")
            if not rows:
                raise StoreError(f"{self.path}: the project has no video yet")
            self._size = (rows[0][0], rows[0][1])
        return self._size

    @property
    def frame_count(self) -> int:
        return self._q("SELECT frame_count FROM video WHERE id=1")[0][0]

    # -- categories & objects -------------------------------------------------------------
    def category_id(self, name: str) -> int:
        name = name.strip()
        if not name:
            raise StoreError("a category needs a name")
        with self.transaction() as db:
            row = db.execute("SELECT id FROM categories WHERE name=?", (name,)).fetchone()
            if row:
                return row[0]
            return db.execute("INSERT INTO categories(name) VALUES (?)", (name,)).lastrowid

    def categories(self) -> list[tuple[int, str]]:
        return [tuple(r) for r in self._q("SELECT id, name FROM categories ORDER BY id")]

    def add_object(self, name: str, category: str | None = None, color: str | None = None,
                   *, op: int | None = None) -> int:
        name = name.strip()
        if not name:
            raise StoreError("an object needs a name")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM objects WHERE name=? AND deleted=0", (name,)).fetchone():
                raise StoreError(f"an object named {name!r} already exists in {self.path}")
            cat = self.category_id(category or name)
            if color is None:
                n = db.execute("SELECT COUNT(*) FROM objects").fetchone()[0]
                color = PALETTE[n % len(PALETTE)]
            oid = db.execute(
                "INSERT INTO objects(name, category_id, color, created) VALUES (?,?,?,?)",
                (name, cat, color, time.time())).lastrowid
            self._log_row(db, op, "add_object", "objects", oid, None, {"deleted": 0})
            return oid

    def objects(self, *, include_deleted: bool = False) -> list[ObjectRecord]:
        where = "" if include_deleted else "WHERE o.deleted=0"
        rows = self._q(
            "SELECT o.id, o.name, c.name, c.id, o.color FROM objects o "
            f"JOIN categories c ON c.id=o.category_id {where} ORDER BY o.id")
        return [ObjectRecord(*r) for r in rows]

    def object(self, object_id: int) -> ObjectRecord:
        rows = self._q("SELECT o.id, o.name, c.name, c.id, o.color FROM objects o "
                       "JOIN categories c ON c.id=o.category_id WHERE o.id=?", (object_id,))
        if not rows:
            raise StoreError(f"no object {object_id} in {self.path}")
        return ObjectRecord(*rows[0])

    def object_by_name(self, name: str) -> ObjectRecord | None:
        rows = self._q("SELECT id FROM objects WHERE name=? AND deleted=0", (name,))
        return self.object(rows[0][0]) if rows else None

    def update_object(self, object_id: int, *, name: str | None = None,
                      category: str | None = None, color: str | None = None,
                      op: int | None = None) -> None:
        changes: dict[str, Any] = {}
        with self.transaction() as db:
            if name is not None:
                changes["name"] = name.strip()
            if category is not None:
                changes["category_id"] = self.category_id(category)
            if color is not None:
                changes["color"] = color
            self._update_row(db, op, "edit_object", "objects", object_id, changes)

    def delete_object(self, object_id: int, *, op: int | None = None) -> None:
        """Soft delete (undoable): the object, its segments and masks stay in the file."""
        with self.transaction() as db:
            self._update_row(db, op, "delete_object", "objects", object_id, {"deleted": 1})

    # -- segments -------------------------------------------------------------------------
    def add_segment(self, object_id: int, start: int, end: int, *, status: str = "todo",
                    op: int | None = None) -> int:
        """A new audible segment ``[start, end]`` of the object; refused (:class:`StoreError`)
        where :func:`~annotator.core.segments.segment_problem` says why it cannot be one."""
        with self.transaction() as db:
            self._check_segment(object_id, start, end)
            sid = db.execute(
                "INSERT INTO segments(object_id, start_frame, end_frame, status, created) "
                "VALUES (?,?,?,?,?)", (object_id, start, end, status, time.time())).lastrowid
            self._log_row(db, op, "add_segment", "segments", sid, None, {"deleted": 0})
            return sid

    def segments(self, object_id: int | None = None) -> list[SegmentRecord]:
        sql = ("SELECT s.id, s.object_id, s.start_frame, s.end_frame, s.status, s.note "
               "FROM segments s JOIN objects o ON o.id=s.object_id "
               "WHERE s.deleted=0 AND o.deleted=0")
        args: tuple = ()
        if object_id is not None:
            sql += " AND s.object_id=?"
            args = (object_id,)
        return [SegmentRecord(*r) for r in self._q(sql + " ORDER BY s.start_frame, s.id", args)]

    def segment(self, segment_id: int) -> SegmentRecord:
        rows = self._q("SELECT id, object_id, start_frame, end_frame, status, note "
                       "FROM segments WHERE id=?", (segment_id,))
        if not rows:
            raise StoreError(f"no segment {segment_id} in {self.path}")
        return SegmentRecord(*rows[0])

    def update_segment(self, segment_id: int, *, start: int | None = None,
                       end: int | None = None, status: str | None = None,
                       note: str | None = None, op: int | None = None) -> None:
        """Change a segment's frames (checked as :meth:`add_segment` checks them, the segment
        itself aside), status or note; one undoable step."""
        if status is not None and status not in SEGMENT_STATUSES:
            raise StoreError(f"unknown segment status {status!r}; one of {SEGMENT_STATUSES}")
        with self.transaction() as db:
            seg = self.segment(segment_id)
            changes: dict[str, Any] = {}
            if start is not None or end is not None:
                s, e = seg.start if start is None else start, seg.end if end is None else end
                self._check_segment(seg.object_id, s, e, ignore=segment_id)
                changes.update(start_frame=s, end_frame=e)
            if status is not None:
                changes["status"] = status
            if note is not None:
                changes["note"] = note
            self._update_row(db, op, "edit_segment", "segments", segment_id, changes)

    def delete_segment(self, segment_id: int, *, op: int | None = None) -> None:
        with self.transaction() as db:
            self._update_row(db, op, "delete_segment", "segments", segment_id, {"deleted": 1})

    def _check_segment(self, object_id: int, start: int, end: int,
                       ignore: int | None = None) -> None:
        """The segment rule against the object's live segments, inside the caller's
        transaction (nothing slips in between the check and the write)."""
        problem = segment_problem(self.segments(object_id), object_id, start, end,
                                  self.frame_count, ignore=ignore,
                                  name=self.object(object_id).name)
        if problem:
            what = "added" if ignore is None else "changed"
            raise StoreError(f"Segment not {what}: {problem}.")

    # -- masks ----------------------------------------------------------------------------
    def put_mask(self, object_id: int, frame: int, mask: np.ndarray | M.RLE, *,
                 source: str, anchor: bool | None = None, quality: dict | None = None,
                 flags: Iterable[str] = (), score: float | None = None,
                 model: str | None = None, op: int | None = None) -> int:
        """Write one mask (a new current revision); returns the revision id."""
        return self.put_masks([dict(object_id=object_id, frame=frame, mask=mask, source=source,
                                    anchor=anchor, quality=quality, flags=flags, score=score,
                                    model=model)], op=op)[0]

    def put_masks(self, items: Iterable[dict], *, op: int | None = None) -> list[int]:
        """Write many masks in one transaction. Each item has the keys of :meth:`put_mask`."""
        prepared = R.prepare(items, self.size_hw, self.frame_count)
        with self.transaction() as db:
            op_id = self._op(db, op, "masks")
            return [R.write_rev(db, op_id, p) for p in prepared]

    def put_machine_masks(self, items: Iterable[dict], *, op: int,
                          since_rev: int = 0) -> list[int | None]:
        """Write a job's masks under its operation ``op``, except on keys a person owns now.

        A key is the person's when its current revision is an anchor or has a person's source
        (:data:`HUMAN_SOURCES`) and was not written by ``op``, or when a person deleted its
        mask in a revision newer than ``since_rev`` (the job's start). Decided in the same
        transaction as the writes; returns the revision ids, None where the key was kept."""
        prepared = R.prepare(items, self.size_hw, self.frame_count)
        with self.transaction() as db:
            owned: dict[tuple[int, int], bool] = {}
            out: list[int | None] = []
            for p in prepared:
                key = (p[0], p[1])
                if key not in owned:
                    owned[key] = R.person_owns(db, key, op, since_rev)
                out.append(None if owned[key] else R.write_rev(db, op, p))
            if any(r is not None for r in out):
                touch(db, op)
            return out

    def last_rev_id(self) -> int:
        """The newest revision id (0 for none): a job's ``since_rev`` when it starts."""
        return self._q("SELECT COALESCE(MAX(id), 0) FROM mask_revs")[0][0]

    def delete_mask(self, object_id: int, frame: int, *, op: int | None = None) -> bool:
        """Remove the current mask (kept as a revision; undoable). False if there was none."""
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM masks WHERE object_id=? AND frame=?",
                              (object_id, frame)).fetchone():
                return False
            op_id = self._op(db, op, "delete_mask")
            R.write_rev(db, op_id, R.deletion(object_id, frame))
            return True

    def frame_masks(self, frame: int) -> dict[int, MaskRecord]:
        """The current masks of one frame, by object id (deleted objects left out)."""
        size = self.size_hw
        rows = self._q(
            f"SELECT {R.MASK_COLS} FROM masks m JOIN mask_revs r ON r.id=m.rev_id "
            "JOIN objects o ON o.id=m.object_id WHERE m.frame=? AND o.deleted=0", (frame,))
        return {row[1]: R.mask_from_row(row, size) for row in rows}

    def mask(self, object_id: int, frame: int) -> MaskRecord | None:
        rows = self._q(f"SELECT {R.MASK_COLS} FROM masks m JOIN mask_revs r ON r.id=m.rev_id "
                       "WHERE m.object_id=? AND m.frame=?", (object_id, frame))
        return R.mask_from_row(rows[0], self.size_hw) if rows else None

    def masks_of(self, object_id: int, start: int = 0, end: int | None = None) -> list[MaskRecord]:
        """Current masks of one object in ``[start, end]``, by frame."""
        end = self.frame_count - 1 if end is None else end
        size = self.size_hw
        rows = self._q(f"SELECT {R.MASK_COLS} FROM masks m JOIN mask_revs r ON r.id=m.rev_id "
                       "WHERE m.object_id=? AND m.frame BETWEEN ? AND ? ORDER BY m.frame",
                       (object_id, start, end))
        return [R.mask_from_row(r, size) for r in rows]

    def anchors(self, object_id: int, start: int = 0, end: int | None = None) -> list[int]:
        """Frames in ``[start, end]`` whose current mask for the object is an anchor."""
        end = self.frame_count - 1 if end is None else end
        rows = self._q("SELECT m.frame FROM masks m JOIN mask_revs r ON r.id=m.rev_id "
                       "WHERE m.object_id=? AND m.frame BETWEEN ? AND ? AND r.anchor=1 "
                       "ORDER BY m.frame", (object_id, start, end))
        return [r[0] for r in rows]

    def iter_masks(self, batch: int = 2000) -> Iterator[MaskRecord]:
        """Every current mask of live objects, ordered by (frame, object), in batches."""
        size = self.size_hw
        last = (-1, -1)
        while True:
            rows = self._q(
                f"SELECT {R.MASK_COLS} FROM masks m JOIN mask_revs r ON r.id=m.rev_id "
                "JOIN objects o ON o.id=m.object_id WHERE o.deleted=0 AND "
                "(m.frame > ? OR (m.frame = ? AND m.object_id > ?)) "
                "ORDER BY m.frame, m.object_id LIMIT ?", (last[0], last[0], last[1], batch))
            if not rows:
                return
            for row in rows:
                yield R.mask_from_row(row, size)
            last = (rows[-1][2], rows[-1][1])

    def masked_frames(self) -> list[int]:
        rows = self._q("SELECT DISTINCT m.frame FROM masks m JOIN objects o ON o.id=m.object_id "
                       "WHERE o.deleted=0 ORDER BY m.frame")
        return [r[0] for r in rows]

    def mask_count(self) -> int:
        return self._q("SELECT COUNT(*) FROM masks m JOIN objects o ON o.id=m.object_id "
                       "WHERE o.deleted=0")[0][0]

    def revision(self, rev_id: int) -> MaskRecord:
        rows = self._q(f"SELECT {R.MASK_COLS} FROM mask_revs r WHERE r.id=?", (rev_id,))
        if not rows:
            raise StoreError(f"no mask revision {rev_id} in {self.path}")
        return R.mask_from_row(rows[0], self.size_hw)

    def revisions(self, object_id: int, frame: int) -> list[MaskRecord]:
        """Every version of one mask ever written, oldest first (deletions included)."""
        size = self.size_hw
        rows = self._q(f"SELECT {R.MASK_COLS} FROM mask_revs r WHERE r.object_id=? AND r.frame=? "
                       "ORDER BY r.id", (object_id, frame))
        return [R.mask_from_row(r, size) for r in rows]

    # -- prompts --------------------------------------------------------------------------
    def add_prompt(self, object_id: int, frame: int, points: list[tuple[float, float, bool]],
                   *, box: tuple[float, float, float, float] | None = None,
                   mask_rev_id: int | None = None, op: int | None = None) -> int:
        """Record the clicks (x, y, positive) that made a mask, for recompute and audit."""
        pts = [[float(x), float(y), bool(p)] for x, y, p in points]
        with self.transaction() as db:
            return db.execute(
                "INSERT INTO prompts(object_id, frame, points, box, mask_rev_id, op_id, created) "
                "VALUES (?,?,?,?,?,?,?)",
                (object_id, frame, json.dumps(pts), json.dumps(box) if box else None,
                 mask_rev_id, op, time.time())).lastrowid

    def prompts(self, object_id: int, frame: int) -> list[dict]:
        rows = self._q("SELECT id, points, box, mask_rev_id, created FROM prompts "
                       "WHERE object_id=? AND frame=? ORDER BY id", (object_id, frame))
        return [{"id": r[0], "points": [tuple(p) for p in json.loads(r[1])],
                 "box": json.loads(r[2]) if r[2] else None, "mask_rev_id": r[3],
                 "created": r[4]} for r in rows]

    # -- jobs -----------------------------------------------------------------------------
    def job_update(self, key: str, *, kind: str | None = None, state: str | None = None,
                   done: int | None = None, total: int | None = None,
                   params: dict | None = None, progress: dict | None = None,
                   message: str | None = None) -> None:
        """Create or update a job's progress row (one short transaction)."""
        now = time.time()
        with self.transaction() as db:
            row = db.execute("SELECT 1 FROM jobs WHERE key=?", (key,)).fetchone()
            if row is None:
                db.execute("INSERT INTO jobs(key, kind, state, created, updated) VALUES (?,?,?,?,?)",
                           (key, kind or key.split(":")[0], state or "queued", now, now))
            sets = {"updated": now}
            for col, val in (("kind", kind), ("state", state), ("done", done), ("total", total),
                             ("message", message)):
                if val is not None:
                    sets[col] = val
            if params is not None:
                sets["params"] = json.dumps(params)
            if progress is not None:
                sets["progress"] = json.dumps(progress)
            db.execute(f"UPDATE jobs SET {', '.join(f'{c}=?' for c in sets)} WHERE key=?",
                       (*sets.values(), key))

    def job(self, key: str) -> dict | None:
        rows = self._q("SELECT key, kind, params, state, done, total, progress, message, created, "
                       "updated FROM jobs WHERE key=?", (key,))
        return _job(rows[0]) if rows else None

    def jobs(self, state: str | None = None) -> list[dict]:
        sql = ("SELECT key, kind, params, state, done, total, progress, message, created, updated "
               "FROM jobs")
        rows = self._q(sql + (" WHERE state=?" if state else "") + " ORDER BY created",
                       (state,) if state else ())
        return [_job(r) for r in rows]


def _job(r: tuple) -> dict:
    return {"key": r[0], "kind": r[1], "params": json.loads(r[2]) if r[2] else None,
            "state": r[3], "done": r[4], "total": r[5],
            "progress": json.loads(r[6]) if r[6] else None, "message": r[7],
            "created": r[8], "updated": r[9]}
