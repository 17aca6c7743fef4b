"""Check a project's database, and salvage the readable rows of a damaged one.

:func:`check` runs SQLite's ``integrity_check`` and the store's own invariants (every current
mask decodes to the video's size, revisions chain within their key, anchors come from a
person). :func:`salvage` follows SQLite's own recovery approach (``.recover``) in pure Python:
the file is read page by page, never trusting the schema blindly. Table leaf pages reached
from a table's root page belong to it; leaf pages cut off from their tree (a lost interior
page) are given to the one table whose columns their rows fit. Every row is decoded on its
own: a row whose record or overflow chain is damaged is counted as lost, the rest are copied
into a new project. The sqlite3 command-line tool is not needed (it is not installed
everywhere, and a runtime dependency on it would be one more thing to package).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from annotator.core import masks as M
from annotator.core.records import ANCHOR_SOURCES
from annotator.core.store import Store
from annotator.core.words import plural

ORDER = ("meta", "video", "categories", "objects", "segments", "proposals", "ops", "mask_revs",
         "box_revs", "row_changes", "prompts", "jobs", "review_events", "active_time")


# -- check ----------------------------------------------------------------------------------
def check(db_path: str | Path) -> list[str]:
    """What is wrong with the project database at ``db_path`` (empty: nothing)."""
    with Store(db_path, readonly=True) as store:
        db = store._db
        problems = [r[0] for r in db.execute("PRAGMA integrity_check(20)") if r[0] != "ok"]
        problems += [f"{t} row {rid} points at a missing {parent} row"
                     for t, rid, parent, _ in db.execute("PRAGMA foreign_key_check")]
        if problems:
            return problems
        h, w = store.size_hw
        for oid, frame, rid, rle, source, anchor in db.execute(
                "SELECT m.object_id, m.frame, r.id, r.rle, r.source, r.anchor "
                "FROM masks m JOIN mask_revs r ON r.id = m.rev_id"):
            where = f"mask of object {oid} on frame {frame} (revision {rid})"
            if rle is not None:
                try:
                    arr = M.decode({"size": [h, w], "counts": rle})
                    if arr.shape[:2] != (h, w):
                        raise ValueError(f"{arr.shape[1]}x{arr.shape[0]}")
                except Exception as exc:  # noqa: BLE001 - any decoding failure is the finding
                    problems.append(f"{where} does not decode ({exc})")
            if anchor and source not in ANCHOR_SOURCES:
                problems.append(f"{where} is an anchor but was made by {source!r}")
        for rid, oid, frame, poid, pframe in db.execute(
                "SELECT r.id, r.object_id, r.frame, p.object_id, p.frame FROM mask_revs r "
                "JOIN mask_revs p ON p.id = r.prev_id WHERE p.object_id != r.object_id "
                "OR p.frame != r.frame OR p.id >= r.id"):
            problems.append(f"revision {rid} (object {oid}, frame {frame}) follows revision "
                            f"of another mask or a later one (object {poid}, frame {pframe})")
        return problems + _box_problems(db, store.size_hw, store.frame_count)


def _box_problems(db: sqlite3.Connection, size_hw: tuple[int, int], frames: int) -> list[str]:
    """The boxes' own rules: a current box is a box inside the frame, of a known source, on
    a frame of the video; box revisions chain within their key."""
    from annotator.core.records import BOX_SOURCES

    h, w = size_hw
    out = []
    for oid, frame, rid, x0, y0, x1, y1, source in db.execute(
            "SELECT b.object_id, b.frame, r.id, r.x0, r.y0, r.x1, r.y1, r.source FROM boxes b "
            "JOIN box_revs r ON r.id = b.rev_id"):
        where = f"box of object {oid} on frame {frame} (revision {rid})"
        if x0 is None or not (0 <= x0 <= x1 <= w and 0 <= y0 <= y1 <= h):
            out.append(f"{where} is not an ordered box inside the {w}×{h} frame")
        if source not in BOX_SOURCES:
            out.append(f"{where} has an unknown source {source!r}")
        if not 0 <= frame < frames:
            out.append(f"{where} is outside the video's frames 0..{frames - 1}")
    for rid, oid, frame in db.execute(
            "SELECT r.id, r.object_id, r.frame FROM box_revs r JOIN box_revs p ON "
            "p.id = r.prev_id WHERE p.object_id != r.object_id OR p.frame != r.frame "
            "OR p.id >= r.id"):
        out.append(f"box revision {rid} (object {oid}, frame {frame}) follows a revision of "
                   "another box or a later one")
    return out


# -- reading pages ---------------------------------------------------------------------------
def _varint(b: bytes, i: int) -> tuple[int, int]:
    v = 0
    for k in range(8):
        c = b[i + k]
        v = (v << 7) | (c & 0x7F)
        if c < 0x80:
            return v, i + k + 1
    return (v << 8) | b[i + 8], i + 9


def _record(payload: bytes) -> list:
    hsize, i = _varint(payload, 0)
    types = []
    while i < hsize:
        t, i = _varint(payload, i)
        types.append(t)
    pos, out = hsize, []
    for t in types:
        if t == 0:
            out.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            out.append(int.from_bytes(payload[pos:pos + n], "big", signed=True))
            pos += n
        elif t == 7:
            out.append(struct.unpack(">d", payload[pos:pos + 8])[0])
            pos += 8
        elif t in (8, 9):
            out.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            raw = payload[pos:pos + n]
            out.append(raw.decode("utf-8") if t % 2 else bytes(raw))
            pos += n
        else:
            raise ValueError(f"serial type {t}")
        if pos > len(payload):
            raise ValueError("record runs past its payload")
    return out


class _File:
    def __init__(self, data: bytes) -> None:
        self.data = data
        ps = int.from_bytes(data[16:18], "big") if data[:16] == b"SQLite format 3\0" else 4096
        self.ps = 65536 if ps == 1 else (ps if ps >= 512 and ps & (ps - 1) == 0 else 4096)
        self.usable = self.ps - (data[20] if len(data) > 20 and data[20] < 64 else 0)
        self.pages = len(data) // self.ps

    def page(self, n: int) -> tuple[bytes, int]:
        if not 1 <= n <= self.pages:
            raise IndexError(f"page {n} is past the end of the file")
        return self.data[(n - 1) * self.ps:n * self.ps], (100 if n == 1 else 0)

    def kind(self, n: int) -> int:
        page, hdr = self.page(n)
        return page[hdr]

    def children(self, n: int) -> list[int]:
        page, hdr = self.page(n)
        count = int.from_bytes(page[hdr + 3:hdr + 5], "big")
        kids = [int.from_bytes(page[hdr + 8:hdr + 12], "big")]
        for k in range(count):
            off = int.from_bytes(page[hdr + 12 + 2 * k:hdr + 14 + 2 * k], "big")
            kids.append(int.from_bytes(page[off:off + 4], "big"))
        return kids

    def leaf_rows(self, n: int) -> Iterator[tuple[int, list] | None]:
        """(rowid, values) of each cell of table leaf page ``n``; None for a lost row."""
        page, hdr = self.page(n)
        count = int.from_bytes(page[hdr + 3:hdr + 5], "big")
        u = self.usable
        for k in range(count):
            try:
                off = int.from_bytes(page[hdr + 8 + 2 * k:hdr + 10 + 2 * k], "big")
                size, i = _varint(page, off)
                rowid, i = _varint(page, i)
                x = u - 35
                if size <= x:
                    payload = page[i:i + size]
                else:
                    m = ((u - 12) * 32 // 255) - 23
                    local = m + (size - m) % (u - 4)
                    local = local if local <= x else m
                    payload = bytearray(page[i:i + local])
                    nxt = int.from_bytes(page[i + local:i + local + 4], "big")
                    while len(payload) < size:
                        over, _ = self.page(nxt)
                        nxt = int.from_bytes(over[:4], "big")
                        payload += over[4:u]
                    payload = bytes(payload[:size])
                if len(payload) != size:
                    raise ValueError("short payload")
                yield rowid, _record(payload)
            except (IndexError, ValueError, UnicodeDecodeError, struct.error):
                yield None

    def tree_leaves(self, root: int) -> tuple[list[int], int]:
        """The table leaf pages under ``root`` that can be reached, and the count of lost
        subtrees (interior pages past the end or overwritten)."""
        leaves, lost, todo, seen = [], 0, [root], set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            try:
                kind = self.kind(n)
                if kind == 0x0D:
                    leaves.append(n)
                elif kind == 0x05:
                    todo.extend(self.children(n))
                else:
                    lost += 1
            except (IndexError, ValueError):
                lost += 1
        return leaves, lost


# -- salvage --------------------------------------------------------------------------------
@dataclass
class SalvageReport:
    saved: dict[str, int] = field(default_factory=dict)
    lost_rows: int = 0
    lost_pages: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        saved = ", ".join(plural(n, _ONE.get(t, t.removesuffix("s")), t)
                          for t, n in self.saved.items() if n)
        out = [f"saved {saved or 'nothing'}"]
        if self.lost_rows or self.lost_pages:
            out.append(f"could not read {plural(self.lost_rows, 'damaged row')} and "
                       f"{plural(self.lost_pages, 'lost or overwritten page')} of tables")
        return out + self.notes


_ONE = {"categories": "category", "meta": "meta", "video": "video"}  # one row of a table


def _columns(schema_sql: dict[str, str]) -> dict[str, list[tuple[str, str, int]]]:
    """(name, declared type, pk) of each table, from its CREATE statement."""
    mem = sqlite3.connect(":memory:")
    out = {}
    for name, sql in schema_sql.items():
        try:
            mem.execute(sql)
            out[name] = [(r[1], r[2].upper(), r[5]) for r in
                         mem.execute(f'PRAGMA table_info("{name}")')]
        except sqlite3.Error:
            continue
    mem.close()
    return out


def _fits(values: list, cols: list[tuple[str, str, int]]) -> bool:
    if len(values) != len(cols):
        return False
    for v, (_name, decl, _pk) in zip(values, cols):
        if v is None:
            continue
        if decl == "INTEGER" and not isinstance(v, int):
            return False
        if decl == "TEXT" and not isinstance(v, str):
            return False
        if decl == "REAL" and not isinstance(v, int | float):
            return False
    return True


def read_rows(db_path: str | Path) -> tuple[dict[str, list[dict]], SalvageReport]:
    """Every readable row of every table of the database file, by table name."""
    f = _File(Path(db_path).read_bytes())
    report = SalvageReport()
    with sqlite3.connect(":memory:") as mem:  # our own schema: the fallback for a lost master
        for v in sorted(_migrations()):
            for stmt in _migrations()[v].split(";"):
                if stmt.strip():
                    mem.execute(stmt)
        ours = {n: s for n, s in mem.execute("SELECT name, sql FROM sqlite_master "
                                             "WHERE type='table'")}
    mem.close()
    roots: dict[str, int] = {}
    schema = dict(ours)
    master_leaves, _ = f.tree_leaves(1) if f.pages else ([], 0)
    for n in master_leaves:
        for row in f.leaf_rows(n):
            if row and len(row[1]) == 5 and row[1][0] == "table" and isinstance(row[1][3], int):
                _kind, name, _tbl, root, sql = row[1]
                if name in ours and root > 1:
                    roots[name] = root
                    schema[name] = sql or ours[name]
    if not roots:
        report.notes.append("the list of tables was lost: every page was matched against "
                            "the columns of a project's tables")
    cols = _columns({n: schema[n] for n in ours})
    owner: dict[int, str] = {}
    for name, root in roots.items():
        leaves, lost = f.tree_leaves(root)
        report.lost_pages += lost
        for n in leaves:
            owner.setdefault(n, name)
    rows: dict[str, dict[int, dict]] = {n: {} for n in cols}
    for n in range(2, f.pages + 1):
        try:
            if f.kind(n) != 0x0D:
                continue
        except IndexError:
            continue
        for row in f.leaf_rows(n):
            if row is None:
                report.lost_rows += 1
                continue
            rowid, values = row
            name = owner.get(n)
            if name is None or not _fits(values, cols[name]):
                fits = [t for t, c in cols.items() if _fits(values, c)]
                if len(fits) != 1:
                    continue  # a free page's stale cells, or a row of no known shape
                name = fits[0]
            rec = {c[0]: v for c, v in zip(cols[name], values)}
            for cname, decl, pk in cols[name]:  # INTEGER PRIMARY KEY is the rowid
                if pk and decl == "INTEGER" and rec[cname] is None:
                    rec[cname] = rowid
            rows[name].setdefault(rowid, rec)
    return {n: list(r.values()) for n, r in rows.items()}, report


def _migrations() -> dict[int, str]:
    from annotator.core.schema import MIGRATIONS

    return MIGRATIONS


def salvage(db_path: str | Path, out_db: str | Path) -> SalvageReport:
    """Copy every readable row of the database at ``db_path`` into a new store ``out_db``.
    Rows that point at a lost row are kept: a lost object, category or operation gets a
    stand-in named so, a lost previous revision is forgotten. The current mask of each
    (object, frame) is the newest recovered revision of an operation not undone."""
    rows, report = read_rows(db_path)
    if not rows.get("video"):
        from annotator.errors import DamagedError

        raise DamagedError(f"{db_path}: the video's record was lost with the damage, so "
                           "nothing can be placed; restore the project from a backup")
    with Store(out_db, create=True) as store:
        db = store._db
        db.execute("PRAGMA foreign_keys=OFF")
        with store.transaction():
            for table in ORDER:
                live = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")')}
                count = 0
                for rec in rows.get(table, []):
                    rec = {k: v for k, v in rec.items() if k in live}
                    if table == "meta" and rec.get("key") == "schema":
                        continue
                    names = ", ".join(f'"{k}"' for k in rec)
                    marks = ", ".join("?" for _ in rec)
                    cur = db.execute(f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES '
                                     f"({marks})", tuple(rec.values()))
                    count += cur.rowcount
                report.saved[table] = count
            _stand_ins(db, report)
            db.execute(
                "INSERT INTO masks(object_id, frame, rev_id) SELECT r.object_id, r.frame, "
                "max(r.id) FROM mask_revs r JOIN ops o ON o.id = r.op_id WHERE o.undone = 0 "
                "GROUP BY r.object_id, r.frame")
            db.execute("DELETE FROM masks WHERE rev_id IN (SELECT id FROM mask_revs "
                       "WHERE rle IS NULL)")
            db.execute(
                "INSERT INTO boxes(object_id, frame, rev_id) SELECT r.object_id, r.frame, "
                "max(r.id) FROM box_revs r JOIN ops o ON o.id = r.op_id WHERE o.undone = 0 "
                "GROUP BY r.object_id, r.frame")
            db.execute("DELETE FROM boxes WHERE rev_id IN (SELECT id FROM box_revs "
                       "WHERE x0 IS NULL)")
        report.saved["masks"] = db.execute("SELECT count(*) FROM masks").fetchone()[0]
        report.saved["boxes"] = db.execute("SELECT count(*) FROM boxes").fetchone()[0]
        db.execute("PRAGMA foreign_keys=ON")
    return report


def _stand_ins(db: sqlite3.Connection, report: SalvageReport) -> None:
    made = []
    for sql, what in (
        ("INSERT INTO categories(id, name) SELECT DISTINCT o.category_id, 'recovered-' || "
         "o.category_id FROM objects o WHERE o.category_id NOT IN (SELECT id FROM categories)",
         "categories"),
        ("INSERT INTO objects(id, name, category_id, color, created) SELECT DISTINCT x.oid, "
         "'recovered-' || x.oid, (SELECT min(id) FROM categories), '#808080', 0 FROM "
         "(SELECT object_id AS oid FROM mask_revs UNION SELECT object_id FROM segments UNION "
         "SELECT object_id FROM prompts UNION SELECT object_id FROM box_revs) x WHERE x.oid NOT IN (SELECT id FROM objects)",
         "objects"),
        ("INSERT INTO ops(id, kind, label, created) SELECT DISTINCT x.op, 'salvaged', "
         "'recovered', 0 FROM (SELECT op_id AS op FROM mask_revs UNION SELECT op_id FROM "
         "row_changes UNION SELECT op_id FROM box_revs) x WHERE x.op NOT IN (SELECT id FROM ops)", "operations"),
    ):
        if what == "objects" and not db.execute("SELECT 1 FROM categories").fetchone():
            db.execute("INSERT INTO categories(name) VALUES ('recovered')")
        n = db.execute(sql).rowcount
        if n > 0:
            made.append(f"{n} {what}")
    db.execute("UPDATE mask_revs SET prev_id = NULL WHERE prev_id IS NOT NULL AND prev_id "
               "NOT IN (SELECT id FROM mask_revs)")
    db.execute("UPDATE box_revs SET prev_id = NULL WHERE prev_id IS NOT NULL AND prev_id "
               "NOT IN (SELECT id FROM box_revs)")
    db.execute("UPDATE prompts SET mask_rev_id = NULL WHERE mask_rev_id NOT IN "
               "(SELECT id FROM mask_revs)")
    db.execute("UPDATE prompts SET op_id = NULL WHERE op_id NOT IN (SELECT id FROM ops)")
    if made:
        report.notes.append("stand-ins (named 'recovered-N') for lost " + ", ".join(made))
