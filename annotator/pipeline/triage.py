"""Before a propagation starts: which segments can run, which need an anchor first, which are
done already, and whether a re-propagation would replace masks a person reviewed (Qt-free;
the window asks these on a worker thread and says the answers in words)."""

from __future__ import annotations

from typing import Any

#: statuses of a segment whose propagation has run (set by the pipeline or by a person)
_RAN = ("propagated", "review", "failed")


def _already_propagated(seg: Any, masks: list) -> bool:
    """Done, or propagated (every frame has a mask) and no anchor accepted since."""
    if seg.status == "done":
        return True
    if seg.status not in _RAN or len(masks) < seg.length:
        return False
    machine = [m.rev_id for m in masks if not m.anchor]
    return not machine or max(m.rev_id for m in masks if m.anchor) < max(machine)


def triage(store: Any, segment_ids: list[int] | None) -> dict:
    """Which segments a propagation can start: ``run`` (segment ids), ``boxes`` (ids of
    box-only segments: box tracking), ``unanchored`` and, for all segments (``segment_ids``
    None), ``already`` propagated or done — as ``(label, segment)`` pairs; ``label`` is
    "object start–end"."""
    names = {o.id: o.name for o in store.objects()}
    segs = (store.segments() if segment_ids is None
            else [store.segment(i) for i in segment_ids])
    out: dict[str, list] = {"run": [], "boxes": [], "unanchored": [], "already": []}
    for seg in segs:
        masks = store.masks_of(seg.object_id, seg.start, seg.end)
        label = f"{names.get(seg.object_id, '?')} {seg.start}–{seg.end}"
        if not masks and any(b.keyframe for b in store.boxes_of(seg.object_id, seg.start,
                                                                  seg.end)):
            out["boxes"].append(seg.id)  # box-only: tracked (a finished track says so)
        elif not any(m.anchor for m in masks):
            out["unanchored"].append((label, seg))
        elif segment_ids is None and _already_propagated(seg, masks):
            out["already"].append((label, seg))
        else:
            out["run"].append(seg.id)
    return out


def _listed(pairs: list, most: int = 4) -> str:
    names = [label for label, _s in pairs[:most]]
    return ", ".join(names) + (f" and {len(pairs) - most} more" if len(pairs) > most else "")


def triage_note(t: dict) -> str:
    """What a propagation leaves out and why, for the status bar ("" when nothing)."""
    parts = []
    if t["already"]:
        n = len(t["already"])
        parts.append(f"skipped {n} segment{'s' * (n != 1)} already propagated or done "
                     f"({_listed(t['already'])}): select one and press P to propagate it again")
    if t["unanchored"]:
        first = t["unanchored"][0][1]
        parts.append(f"not started, no accepted mask yet: {_listed(t['unanchored'])} — click "
                     f"the object on frame {first.start} and press Enter first, then P")
    return "; ".join(parts)


def reviewed_masks(store: Any, object_id: int, frame: int) -> tuple | None:
    """``(count, first, last, name)`` of the masks a re-propagation from ``frame`` would
    replace inside a segment marked done, or None when the segment is not marked done."""
    seg = next((s for s in store.segments(object_id) if frame in s), None)
    if seg is None or seg.status != "done":
        return None
    anchors = store.anchors(object_id, seg.start, seg.end)
    lo = max((a for a in anchors if a < frame), default=seg.start - 1) + 1
    hi = min((a for a in anchors if a > frame), default=seg.end + 1) - 1
    n = sum(1 for m in store.masks_of(object_id, lo, hi) if not m.anchor and m.frame != frame)
    return n, lo, hi, store.object(object_id).name


def needs_repropagation(store: Any, object_id: int, frame: int) -> bool:
    """After a fix on ``frame``: does the segment hold machine masks to re-propagate?"""
    seg = next((s for s in store.segments(object_id) if frame in s), None)
    return seg is not None and any(not m.anchor for m in
                                   store.masks_of(object_id, seg.start, seg.end))
