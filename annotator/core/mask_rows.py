"""Masks as rows of the store: ``mask_revs`` holds every revision of every (object, frame)
mask, ``masks`` points at the current one (see :mod:`annotator.core.schema`).

Here: checking and encoding masks into revision rows, writing a revision and moving the
pointer, reading rows back as :class:`~annotator.core.records.MaskRecord`, and the rule that
keeps a job off a person's mask (:func:`person_owns`). Called by the store inside its
transactions.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable

from annotator.core import masks as M
from annotator.core.records import (
    ANCHOR_SOURCES,
    HUMAN_SOURCES,
    SOURCES,
    MaskRecord,
    StoreError,
)

#: the columns of a revision, in the order :func:`mask_from_row` reads them
MASK_COLS = (
    "r.id, r.object_id, r.frame, r.rle, r.area, r.bbox, r.source, r.anchor, r.quality, "
    "r.flags, r.score, r.model, r.created, r.op_id, r.prev_id"
)


def mask_from_row(row: tuple, size_hw: tuple[int, int]) -> MaskRecord:
    (rid, oid, frame, rle, area, bbox, source, anchor, quality, flags, score, model,
     created, op_id, prev_id) = row
    return MaskRecord(
        rev_id=rid, object_id=oid, frame=frame,
        rle=None if rle is None else {"size": [size_hw[0], size_hw[1]], "counts": rle},
        area=area or 0, bbox=tuple(json.loads(bbox)) if bbox else None, source=source,
        anchor=bool(anchor), quality=json.loads(quality) if quality else None,
        flags=tuple(flags.split(",")) if flags else (), score=score, model=model,
        created=created, op_id=op_id, prev_id=prev_id,
    )


def prepare(items: Iterable[dict], size_hw: tuple[int, int], frame_count: int) -> list[tuple]:
    """Check and encode mask items (the keys of :meth:`Store.put_mask`) into ``mask_revs``
    column tuples: a known source, a frame of the video, the video's size."""
    h, w = size_hw
    prepared = []
    for it in items:
        mask = it["mask"]
        src = it["source"]
        if src not in SOURCES:
            raise StoreError(f"unknown mask source {src!r}; one of {SOURCES}")
        frame = int(it["frame"])
        if not 0 <= frame < frame_count:
            raise StoreError(f"frame {frame} is outside the video's frames 0..{frame_count - 1}")
        if isinstance(mask, dict):
            rle = M.to_compressed(mask)
            if list(rle["size"]) != [h, w]:
                raise M.MaskSizeError(
                    f"mask for frame {frame} is {rle['size'][1]}×{rle['size'][0]} pixels but "
                    f"the video is {w}×{h}")
        else:
            M.check_size(mask, (h, w), f"mask for frame {frame}")
            rle = M.encode(mask)
        anchor = it.get("anchor")
        if anchor is None:
            anchor = src in ANCHOR_SOURCES
        flags = ",".join(it.get("flags") or ())
        quality = it.get("quality")
        prepared.append((int(it["object_id"]), frame, rle["counts"], M.area(rle),
                         json.dumps(M.bbox(rle)), src, int(bool(anchor)),
                         json.dumps(quality) if quality is not None else None,
                         flags or None, it.get("score"), it.get("model")))
    return prepared


def deletion(object_id: int, frame: int) -> tuple:
    """The prepared row of a deletion of (object, frame), for :func:`write_rev`."""
    return (object_id, frame, None, 0, None, "manual", 0, None, None, None, None)


def write_rev(db: sqlite3.Connection, op_id: int, p: tuple) -> int:
    """Write one prepared revision under ``op_id`` and make it the key's current mask (a
    deletion removes the pointer); returns the revision id."""
    oid, frame = p[0], p[1]
    cur = db.execute("SELECT rev_id FROM masks WHERE object_id=? AND frame=?",
                     (oid, frame)).fetchone()
    rid = db.execute(
        "INSERT INTO mask_revs(object_id, frame, rle, area, bbox, source, anchor, quality, "
        "flags, score, model, created, op_id, prev_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (*p, time.time(), op_id, cur[0] if cur else None)).lastrowid
    if p[2] is None:
        db.execute("DELETE FROM masks WHERE object_id=? AND frame=?", (oid, frame))
    else:
        db.execute("INSERT OR REPLACE INTO masks(object_id, frame, rev_id) VALUES (?,?,?)",
                   (oid, frame, rid))
    return rid


def person_owns(db: sqlite3.Connection, key: tuple[int, int], op: int, since_rev: int) -> bool:
    """Whether a person's mask (or a person's deletion since ``since_rev``) holds ``key``."""
    row = db.execute("SELECT r.anchor, r.source, r.op_id FROM masks m JOIN mask_revs r "
                     "ON r.id=m.rev_id WHERE m.object_id=? AND m.frame=?", key).fetchone()
    if row is not None:
        anchor, source, rev_op = row
        return rev_op != op and (bool(anchor) or source in HUMAN_SOURCES)
    row = db.execute("SELECT r.id, r.source, r.op_id FROM mask_revs r JOIN ops o ON o.id=r.op_id "
                     "WHERE r.object_id=? AND r.frame=? AND o.undone=0 ORDER BY r.id DESC LIMIT 1",
                     key).fetchone()
    return (row is not None and row[0] > since_rev and row[2] != op
            and row[1] in HUMAN_SOURCES)
