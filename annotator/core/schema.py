"""The project store's SQLite schema and its forward migrations.

``PRAGMA user_version`` holds the schema version. :data:`MIGRATIONS` maps each version to the
SQL that brings a database from the previous version to it; opening a project applies the
missing ones in order, inside one transaction. Never edit a released migration: add one.

Masks are kept as *revisions*: ``mask_revs`` holds every version of every (object, frame) mask
ever written (``rle`` NULL marks a deletion) with the revision it replaced (``prev_id``) and
the operation (``ops``) that wrote it; ``masks`` points at the current revision of each key.
Undo and redo move that pointer, so they work across restarts and nothing a person drew is
ever lost. ``row_changes`` does the same for objects and segments (before/after JSON).

Version 2 gives ``ops`` a ``seq``: the real order of writes. A store-wide counter (the highest
``seq``) is bumped into an operation's ``seq`` each time it writes, so an operation that kept
writing (a propagation job, also across a resume) is newer than the edits made while it ran,
and undo follows that order, not operation ids. Projects from version 1 get ``seq = id``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from annotator.core.records import DamagedStoreError, StoreError
from annotator.core.words import plural

SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE video (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    path TEXT NOT NULL,
    rel_path TEXT,
    is_folder INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER,
    fingerprint TEXT,
    frame_count INTEGER NOT NULL,
    fps REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    duration REAL,
    has_audio INTEGER NOT NULL DEFAULT 0,
    frame_index BLOB
);

CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    color TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE UNIQUE INDEX objects_live_name ON objects(name) WHERE deleted = 0;

CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    object_id INTEGER NOT NULL REFERENCES objects(id),
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'todo',
    note TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    CHECK (start_frame >= 0 AND start_frame <= end_frame)
);
CREATE INDEX segments_object ON segments(object_id);

CREATE TABLE ops (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mask_revs (
    id INTEGER PRIMARY KEY,
    object_id INTEGER NOT NULL REFERENCES objects(id),
    frame INTEGER NOT NULL,
    rle TEXT,
    area INTEGER,
    bbox TEXT,
    source TEXT NOT NULL,
    anchor INTEGER NOT NULL DEFAULT 0,
    quality TEXT,
    flags TEXT,
    score REAL,
    model TEXT,
    created REAL NOT NULL,
    op_id INTEGER NOT NULL REFERENCES ops(id),
    prev_id INTEGER REFERENCES mask_revs(id)
);
CREATE INDEX mask_revs_key ON mask_revs(object_id, frame);
CREATE INDEX mask_revs_op ON mask_revs(op_id);

CREATE TABLE masks (
    object_id INTEGER NOT NULL REFERENCES objects(id),
    frame INTEGER NOT NULL,
    rev_id INTEGER NOT NULL REFERENCES mask_revs(id),
    PRIMARY KEY (object_id, frame)
) WITHOUT ROWID;
CREATE INDEX masks_frame ON masks(frame);

CREATE TABLE row_changes (
    id INTEGER PRIMARY KEY,
    op_id INTEGER NOT NULL REFERENCES ops(id),
    tbl TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX row_changes_op ON row_changes(op_id);

CREATE TABLE prompts (
    id INTEGER PRIMARY KEY,
    object_id INTEGER NOT NULL REFERENCES objects(id),
    frame INTEGER NOT NULL,
    points TEXT NOT NULL,
    box TEXT,
    mask_rev_id INTEGER REFERENCES mask_revs(id),
    op_id INTEGER REFERENCES ops(id),
    created REAL NOT NULL
);
CREATE INDEX prompts_key ON prompts(object_id, frame);

CREATE TABLE jobs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT,
    state TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    progress TEXT,
    message TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""

# Version 2: the order of writes (see the module docstring), and row changes by row (undo puts a
# column back to its newest value among the operations not undone).
SCHEMA_V2 = """
ALTER TABLE ops ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE ops SET seq = id;
CREATE INDEX ops_seq ON ops(seq);
CREATE INDEX row_changes_row ON row_changes(tbl, row_id);
"""

# Version 3: proposals of audible spans from the sound-activity detector (see
# annotator.core.proposals). A proposal is never a segment: a person accepts it (which adds a
# segment, ``segment_id``) or rejects it; both are undoable row changes like a segment's.
# ``detector`` holds the detector's parameters (JSON). Nine columns: no other table has as
# many, so a salvaged page's rows are told apart by their shape.
SCHEMA_V3 = """
CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    score REAL,
    state TEXT NOT NULL DEFAULT 'open',
    segment_id INTEGER REFERENCES segments(id),
    deleted INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    detector TEXT,
    CHECK (start_frame >= 0 AND start_frame <= end_frame),
    CHECK (state IN ('open', 'accepted', 'rejected'))
);
CREATE INDEX proposals_start ON proposals(start_frame)
"""

# Version 4: boxes, kept like masks (see annotator.core.box_rows): ``box_revs`` holds every
# revision of every (object, frame) box (``x0`` NULL marks a deletion) with the revision it
# replaced and its operation; ``boxes`` points at the current one. Twelve columns: no other
# table has as many, so a salvaged page's rows are told apart by their shape.
SCHEMA_V4 = """
CREATE TABLE box_revs (
    id INTEGER PRIMARY KEY,
    object_id INTEGER NOT NULL REFERENCES objects(id),
    frame INTEGER NOT NULL,
    x0 REAL,
    y0 REAL,
    x1 REAL,
    y1 REAL,
    outside INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    created REAL NOT NULL,
    op_id INTEGER NOT NULL REFERENCES ops(id),
    prev_id INTEGER REFERENCES box_revs(id),
    CHECK (x0 IS NULL OR (x0 <= x1 AND y0 <= y1))
);
CREATE INDEX box_revs_key ON box_revs(object_id, frame);
CREATE INDEX box_revs_op ON box_revs(op_id);
CREATE TABLE boxes (
    object_id INTEGER NOT NULL REFERENCES objects(id),
    frame INTEGER NOT NULL,
    rev_id INTEGER NOT NULL REFERENCES box_revs(id),
    PRIMARY KEY (object_id, frame)
) WITHOUT ROWID
"""

# Version 5: people, review and time (see annotator.core.review, annotator.core.active_time).
# ``ops.author`` names who made each operation (NULL: made before version 5, by someone
# unknown); every row of ``ops`` is rewritten once so that all of them have seven columns (no
# other table has seven: a salvaged page's rows are told apart by their shape).
# ``review_events`` is what reviewers said of a segment (eleven columns, the only table with as
# many): who, when, ``approved`` or ``needs_work``, a comment pinned to a frame, and what the
# segment held then (its frames and ``content``, a digest of its current mask and box
# revisions), so that a later edit shows as "changed since approval". Review events are no
# operations: undo never takes a reviewer's verdict back. ``active_time`` holds the seconds of
# active annotation per (segment, person, day) — ``segment_id`` NULL: time on no segment —
# added to in short batched transactions (five columns, the only table with as many).
SCHEMA_V5 = """
ALTER TABLE ops ADD COLUMN author TEXT;
UPDATE ops SET author = NULL;
CREATE TABLE review_events (
    id INTEGER PRIMARY KEY,
    segment_id INTEGER NOT NULL REFERENCES segments(id),
    object_id INTEGER NOT NULL REFERENCES objects(id),
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    state TEXT NOT NULL,
    author TEXT NOT NULL,
    comment TEXT,
    frame INTEGER,
    created REAL NOT NULL,
    content TEXT,
    CHECK (state IN ('approved', 'needs_work'))
);
CREATE INDEX review_events_segment ON review_events(segment_id, id);
CREATE TABLE active_time (
    id INTEGER PRIMARY KEY,
    segment_id INTEGER REFERENCES segments(id),
    person TEXT NOT NULL,
    day TEXT NOT NULL,
    seconds REAL NOT NULL
);
CREATE INDEX active_time_key ON active_time(segment_id, person, day)
"""

# version -> SQL that upgrades version-1 to version. Version 1 creates everything.
MIGRATIONS: dict[int, str] = {
    1: SCHEMA_V1,
    2: SCHEMA_V2,
    3: SCHEMA_V3,
    4: SCHEMA_V4,
    5: SCHEMA_V5,
}

SCHEMA_VERSION = max(MIGRATIONS)


def refuse_foreign(db: sqlite3.Connection, path: Path) -> None:
    """An existing file that is not one of our stores is left untouched (not even its
    journal mode is changed)."""
    if db.execute("PRAGMA user_version").fetchone()[0] == 0:
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        raise DamagedStoreError(
            f"{path} is not an AVS Annotator project database ("
            + (f"a SQLite database of another program, {plural(tables, 'table')}"
               if tables else "an empty SQLite database")
            + "); choose the project's own folder, or create one with 'annotator new'")


def migrate(db: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    """Bring the database at ``path`` to :data:`SCHEMA_VERSION`, in one transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer AVS Annotator (schema {version}, this one "
            f"knows {SCHEMA_VERSION}); update the application"
        )
    if version == SCHEMA_VERSION:
        return
    if readonly:
        raise StoreError(f"{path} needs a schema upgrade; open it once for writing")
    db.execute("BEGIN IMMEDIATE")
    try:
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for stmt in MIGRATIONS[v].split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute(f"PRAGMA user_version={v}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
