"""What the dataset shows about each video, derived from its project's store, read-only.

:func:`video_summary` reads one project (frames, segments, masks, flagged frames, boxes, per
category …, its review state through :func:`annotator.core.review.review_summary` and its
active time through :func:`annotator.core.active_time.active_seconds`) through a read-only
store: it never takes the project's lock, so it works while an annotator has the project
open. :func:`summaries` caches each summary in the dataset
database under the project store's *stamp* — the modification time and size of
``project.avs`` and of its ``-wal`` file (in WAL mode a commit reaches the ``-wal`` first) —
so a dataset of thousands of projects opens with one ``stat`` per project and only the
projects that changed are read again. :func:`stats` adds the summaries up into the LU-AVS
table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from annotator.core.active_time import active_seconds
from annotator.core.project import DB_NAME
from annotator.core.review import review_summary
from annotator.core.store import Store
from annotator.errors import UserError

SUMMARY_VERSION = 4  # bump when video_summary's fields change: every cached summary is redone
BATCH = 200  # cached summaries written per transaction


def stamp(project_dir: Path) -> str | None:
    """The project store's file stamp (None: no store there)."""
    db = project_dir / DB_NAME
    try:
        st = db.stat()
    except OSError:
        return None
    try:  # an empty -wal (a reader leaves one) holds no commit
        wal = os.stat(f"{db}-wal")
        w = f"{wal.st_mtime_ns}:{wal.st_size}" if wal.st_size else "-"
    except OSError:
        w = "-"
    return f"{SUMMARY_VERSION}:{st.st_mtime_ns}:{st.st_size}:{w}"


def video_summary(project_dir: str | Path) -> dict:
    """One project's figures, read-only (see the module doc). Raises :class:`UserError` for
    a project that cannot be read."""
    store = Store(Path(project_dir) / DB_NAME, readonly=True)
    try:
        out = _summary(store._q)
        review = review_summary(store)
        out["review"] = review["overall"]
        out["review_counts"] = review["counts"]
        out["active_s"] = round(active_seconds(store).total, 1)
        return out
    finally:
        store.close()


def _summary(q) -> dict:
    """The figures of the store that ``q(sql, args=())`` reads (a list of rows)."""
    ((frames, fps, duration, width, height),) = q(
        "SELECT frame_count, fps, duration, width, height FROM video WHERE id=1")
    cat_of = dict(q(
        "SELECT o.id, c.name FROM objects o JOIN categories c ON c.id=o.category_id "
        "WHERE o.deleted=0"))
    inside = "m.object_id=s.object_id AND m.frame BETWEEN s.start_frame AND s.end_frame"
    segs = q(
        "SELECT s.id, s.object_id, s.start_frame, s.end_frame, s.status, "
        f"(SELECT COUNT(*) FROM masks m WHERE {inside}), "
        f"(SELECT COUNT(*) FROM masks m JOIN mask_revs r ON r.id=m.rev_id WHERE {inside} "
        " AND r.anchor=1), "
        f"(SELECT COUNT(*) FROM boxes m WHERE {inside}) "
        "FROM segments s JOIN objects o ON o.id=s.object_id "
        "WHERE s.deleted=0 AND o.deleted=0 ORDER BY s.start_frame")
    masks = dict(q(
        "SELECT m.object_id, COUNT(*) FROM masks m JOIN objects o ON o.id=m.object_id "
        "WHERE o.deleted=0 GROUP BY m.object_id"))
    boxes = dict(q(
        "SELECT b.object_id, COUNT(*) FROM boxes b JOIN box_revs r ON r.id=b.rev_id "
        "JOIN objects o ON o.id=b.object_id WHERE o.deleted=0 AND r.x0 IS NOT NULL "
        "GROUP BY b.object_id"))
    ((flagged, anchors),) = q(
        "SELECT COUNT(DISTINCT CASE WHEN r.flags IS NOT NULL AND r.flags != '' THEN m.frame "
        "END), COALESCE(SUM(r.anchor), 0) FROM masks m JOIN mask_revs r ON r.id=m.rev_id "
        "JOIN objects o ON o.id=m.object_id WHERE o.deleted=0")
    cats: dict[str, dict] = {}
    for oid, cat in cat_of.items():
        c = cats.setdefault(cat, {"objects": 0, "segments": 0, "segment_frames": 0,
                                  "masks": 0, "boxes": 0})
        c["objects"] += 1
        c["masks"] += masks.get(oid, 0)
        c["boxes"] += boxes.get(oid, 0)
    statuses: dict[str, int] = {}
    audible = 0
    todo = seg_frames = to_propagate = 0
    last = -1
    for _sid, oid, start, end, status, masked, anchored, boxed in segs:  # ordered by start
        n = end - start + 1
        seg_frames += n
        todo += n - masked
        if anchored:  # frames propagation can fill: from an anchor of this segment
            to_propagate += n - masked
        elif not masked and boxed:  # a box-only segment: box tracking fills it
            to_propagate += n - boxed
        c = cats[cat_of[oid]]
        c["segments"] += 1
        c["segment_frames"] += n
        statuses[status] = statuses.get(status, 0) + 1
        if end > last:
            audible += end - max(start, last + 1) + 1
            last = end
    return {"frames": frames, "fps": fps, "duration_s": duration, "size": [width, height],
            "objects": len(cat_of), "segments": len(segs), "segment_frames": seg_frames,
            "segment_status": statuses, "masks": sum(masks.values()),
            "boxes": sum(boxes.values()), "flagged": flagged, "anchors": anchors,
            "todo_frames": todo, "propagate_frames": to_propagate,
            "silent_frames": frames - audible, "categories": cats}


def summaries(ds, *, refresh: bool = True) -> dict[str, dict]:
    """Every video's summary: from the cache where the project's stamp is unchanged (all of
    them, stale or not, when ``refresh`` is False), else read again and cached. A project
    that is missing or unreadable has ``{"error": words}``."""
    cached = {v: (s, t) for v, s, t in ds.query("SELECT video_id, stamp, summary FROM summaries")}
    out: dict[str, dict] = {}
    fresh: list[tuple[str, str, str]] = []
    for v in ds.videos():
        old = cached.get(v.video_id)
        now = stamp(v.project)
        if old is not None and (old[0] == now or not refresh):
            out[v.video_id] = json.loads(old[1])
            continue
        if now is None:
            out[v.video_id] = {"error": f"{v.project}: no project there (an 'annotator dataset "
                                        f"add' was interrupted?); run: annotator dataset add "
                                        f"{ds.root} {v.source}"}
            continue
        try:
            out[v.video_id] = video_summary(v.project)
        except UserError as exc:
            out[v.video_id] = {"error": str(exc)}
            continue
        if stamp(v.project) == now:  # not written meanwhile: the summary belongs to the stamp
            fresh.append((v.video_id, now, json.dumps(out[v.video_id])))
    if fresh and not ds.readonly:
        for k in range(0, len(fresh), BATCH):
            with ds.write() as db:
                db.executemany("INSERT OR REPLACE INTO summaries(video_id, stamp, summary) "
                               "VALUES (?,?,?)", fresh[k:k + BATCH])
    return out


def status_rows(ds) -> list[dict]:
    """Per video what ``annotator dataset status`` shows (see docs/dataset.md)."""
    sums = summaries(ds)
    assignee = ds.assignments()
    splits = ds.splits()
    rows = []
    for v in ds.videos():
        s = sums[v.video_id]
        row = {"video_id": v.video_id, "project": str(v.project),
               "frames": s.get("frames"), "segments": s.get("segments"),
               "masks": s.get("masks"), "flagged": s.get("flagged"),
               "review": s.get("review"), "review_counts": s.get("review_counts"),
               "assignee": assignee.get(v.video_id), "active_s": s.get("active_s"),
               "subset": splits[v.video_id], "segment_frames": s.get("segment_frames"),
               "todo_frames": s.get("todo_frames"),
               "propagate_frames": s.get("propagate_frames")}
        if "error" in s:
            row["error"] = s["error"]
        rows.append(row)
    return rows


def stats(ds) -> dict:
    """The LU-AVS table of the dataset: videos, categories, segments per video, mean segment
    length, silent share, masks, boxes, and the same per category."""
    sums = [s for s in summaries(ds).values() if "error" not in s]
    frames = sum(s["frames"] for s in sums)
    seconds = sum(s["frames"] / s["fps"] for s in sums if s["fps"])
    segs = sum(s["segments"] for s in sums)
    seg_frames = sum(s["segment_frames"] for s in sums)
    seg_seconds = sum(c["segment_frames"] / s["fps"] for s in sums if s["fps"]
                      for c in s["categories"].values())
    per: dict[str, dict] = {}
    for s in sums:
        for cat, c in s["categories"].items():
            p = per.setdefault(cat, {"videos": 0, "objects": 0, "segments": 0,
                                     "segment_frames": 0, "segment_s": 0.0, "masks": 0,
                                     "boxes": 0})
            p["videos"] += 1
            for k in ("objects", "segments", "segment_frames", "masks", "boxes"):
                p[k] += c[k]
            p["segment_s"] += c["segment_frames"] / s["fps"] if s["fps"] else 0.0
    categories = {}
    for cat in sorted(per):
        p = per[cat]
        categories[cat] = {"videos": p["videos"], "objects": p["objects"],
                           "segments": p["segments"],
                           "mean_segment_frames": _mean(p["segment_frames"], p["segments"]),
                           "mean_segment_s": _mean(p["segment_s"], p["segments"]),
                           "masks": p["masks"], "boxes": p["boxes"]}
    return {"videos": len(sums), "unreadable": len(ds.videos()) - len(sums),
            "categories": len(per), "frames": frames, "duration_s": round(seconds, 3),
            "segments": segs, "segments_per_video": _mean(segs, len(sums)),
            "mean_segment_frames": _mean(seg_frames, segs),
            "mean_segment_s": _mean(seg_seconds, segs),
            "silent_share": _mean(sum(s["silent_frames"] for s in sums), frames, 4),
            "masks": sum(s["masks"] for s in sums), "boxes": sum(s["boxes"] for s in sums),
            "flagged": sum(s["flagged"] for s in sums), "per_category": categories}


def _mean(total: float, n: int, digits: int = 3) -> float:
    return round(total / n, digits) if n else 0.0


def used_categories(ds, *, refresh: bool = True) -> dict[str, list[str]]:
    """``{category: [video ids]}`` of the categories the projects' live objects use."""
    out: dict[str, list[str]] = {}
    for vid, s in summaries(ds, refresh=refresh).items():
        for cat in s.get("categories", {}):
            out.setdefault(cat, []).append(vid)
    return out
