"""Where two propagations meet: the frames on either side of a *seam*, scored after a job.

Every frame between two anchors is propagated from its nearest one (:mod:`.plan`), so between
anchors A < B the run forward from A ends at the midpoint m and the run backward from B starts
at m + 1: two estimates of the same object, made independently, on adjacent frames. Neither
run compares them — each frame's failure signals are measured against its own run's anchor
and its run's previous frame (:mod:`.failure`, in the commit thread). A re-propagation makes
seams where the frames it rewrote meet the frames it left (the frames *beside* its range),
and a frame beside it was scored when its neighbour was another mask.

After a job, :func:`rescore_seams` finds the seams at the far end of each of its runs and
measures the jump across each: the area jump and the centroid jump between the two masks
(:func:`~annotator.core.quality.area_jump`, :func:`~annotator.core.quality.centroid_jump`,
with the rule flags' thresholds, :class:`~annotator.core.quality.FlagThresholds`; one side
empty and the other not is an area jump of 1). Past either threshold at least one of the two
propagations is wrong there: both frames get the flag ``seam`` and their P(fail) rises to the
flag's badness (the run's own is kept as ``p_run``). A seam that passes clears an earlier
seam flag of its frames. Frames whose flags or P(fail) change get a new revision (the same
mask, new quality) in the job's operation, so undoing the job brings back the old scores with
the old masks. Only machine masks are touched (:meth:`Store.put_machine_masks`).
"""

from __future__ import annotations

from collections.abc import Iterable

from annotator.core import quality as Q
from annotator.core.records import HUMAN_SOURCES, MaskRecord
from annotator.core.store import Store
from annotator.pipeline.clips import Clip, clips_from_probability
from annotator.pipeline.flags import badness, p_fail
from annotator.pipeline.plan import Run

__all__ = ["SEAM", "clips_without_seams", "rescore_seams", "seam_pairs", "seam_quality"]

SEAM = "seam"
_KEYS = ("seam_with", "seam_area_jump", "seam_centroid_jump", "p_run")


def seam_pairs(runs: Iterable[Run], frame_count: int) -> list[tuple[int, int, int]]:
    """``(object, frame, next frame)`` for the far end of each run and the frame past it, in
    frame order (each pair once): where a run of the job meets another run's frames."""
    pairs = set()
    for r in runs:
        beyond = r.last + r.direction
        if 0 <= beyond < frame_count:
            pairs.add((r.object_id, min(r.last, beyond), max(r.last, beyond)))
    return sorted(pairs, key=lambda p: (p[0], p[1]))


def _machine(rec: MaskRecord | None) -> bool:
    return (rec is not None and rec.rle is not None and not rec.anchor
            and rec.source not in HUMAN_SOURCES)


def _base(rec: MaskRecord) -> tuple[dict, tuple[str, ...], float]:
    """The frame's quality, flags and P(fail) as its own run scored it (no seam rule)."""
    q = {k: v for k, v in (rec.quality or {}).items() if k not in _KEYS}
    flags = tuple(f for f in rec.flags if f != SEAM)
    if "p_run" in (rec.quality or {}):
        q["p_fail"] = rec.quality["p_run"]
    return q, flags, p_fail(q, flags)


def seam_quality(rec: MaskRecord, other: MaskRecord,
                 thresholds: Q.FlagThresholds | None = None
                 ) -> tuple[dict, tuple[str, ...], float]:
    """``rec``'s quality, flags and score with the seam to ``other`` (its neighbour from
    another run) measured: ``(quality, flags, score)``."""
    t = thresholds or Q.FlagThresholds()
    q, flags, p = _base(rec)
    a, b = rec.decode(), other.decode()
    area, centre = Q.area_jump(a, b), Q.centroid_jump(a, b)
    if area > t.area_jump or centre > t.centroid_jump:
        q.update(seam_with=other.frame, seam_area_jump=round(area, 4),
                 seam_centroid_jump=round(centre, 4), p_run=round(p, 4))
        flags = (SEAM,) + flags
        p = max(p, badness((SEAM,)))
        if "p_fail" in q:
            q["p_fail"] = round(p, 4)
    elif "p_fail" in q:
        q["p_fail"] = round(p, 4)
    return q, flags, round(1.0 - p, 4)


def rescore_seams(store: Store, runs: Iterable[Run], op: int, since_rev: int = 0,
                  thresholds: Q.FlagThresholds | None = None) -> list[tuple[int, int]]:
    """Score the seams at the far ends of ``runs`` (a job's, just committed) and write the
    frames whose flags or P(fail) changed, under operation ``op`` (``since_rev``: the job's
    start, for :meth:`Store.put_machine_masks`). Returns the (object, frame) keys that were
    not flagged and now are."""
    rows, newly = [], []
    for oid, f, g in seam_pairs(runs, store.frame_count):
        a, b = store.mask(oid, f), store.mask(oid, g)
        if not (_machine(a) and _machine(b)):
            continue
        for rec, other in ((a, b), (b, a)):
            q, flags, score = seam_quality(rec, other, thresholds)
            if flags == rec.flags and q.get("p_fail") == (rec.quality or {}).get("p_fail") \
                    and q.get("seam_with") == (rec.quality or {}).get("seam_with"):
                continue
            rows.append(dict(object_id=oid, frame=rec.frame, mask=rec.rle, source=rec.source,
                             anchor=False, quality=q, flags=flags, score=score,
                             model=rec.model))
            if flags and not rec.flags:
                newly.append((oid, rec.frame))
    if not rows:
        return []
    revs = store.put_machine_masks(rows, op=op, since_rev=since_rev)
    kept = {(r["object_id"], r["frame"]) for r, rev in zip(rows, revs) if rev is None}
    return [k for k in newly if k not in kept]


def clips_without_seams(store: Store, object_id: int) -> list[Clip]:
    """The clips the review would list for ``object_id`` if seams were not scored: each frame's
    P(fail) from its own run (its ``p_run`` where a seam raised it) and its flags but ``seam``.
    What the seams add to the review is the difference (the seams bench and its tests)."""
    import numpy as np

    p = np.zeros(store.frame_count)
    anchors = set()
    for m in store.masks_of(object_id):
        if m.anchor:
            anchors.add(m.frame)
            continue
        q = dict(m.quality or {})
        q["p_fail"] = q.get("p_run", q.get("p_fail", 0.0))
        p[m.frame] = p_fail(q, tuple(f for f in m.flags if f != SEAM))
    return clips_from_probability(p, object_id, breaks=anchors)
