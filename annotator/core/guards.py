"""Checks before a mask becomes an anchor: an anchor drives propagation, so an empty mask or
one far larger or smaller than its neighbours spreads a mistake over many frames.

:func:`anchor_concern` answers in words what looks wrong (``None`` when nothing does); the
window asks the person before accepting such a mask. Pure store reads, no Qt.
"""

from __future__ import annotations

from annotator.core.store import Store


def anchor_concern(store: Store, object_id: int, frame: int, factor: float) -> str | None:
    """What is suspicious about making the current mask of (object, frame) an anchor; a mask
    ``factor`` times larger or smaller than its neighbours is questioned (the setting
    ``guards.area_factor``)."""
    rec = store.mask(object_id, frame)
    name = store.object(object_id).name
    if rec is None or rec.rle is None:
        return None  # nothing to accept: the accept itself says so
    segs = [s for s in store.segments(object_id) if frame in s]
    lo, hi = (segs[0].start, segs[0].end) if segs else (0, store.frame_count - 1)
    if rec.area == 0:
        return (f"The mask of {name} on frame {frame} is empty. As an anchor it tells "
                f"propagation that {name} is not visible here, and every frame up to the next "
                "anchor will follow it.")
    others = [m for m in store.masks_of(object_id, lo, hi) if m.frame != frame and m.area > 0]
    before = [m for m in others if m.frame < frame][-1:]
    after = [m for m in others if m.frame > frame][:1]
    near = before + after
    if not near:
        return None
    ref = sum(m.area for m in near) / len(near)
    ratio = rec.area / ref
    if ratio > factor or ratio < 1.0 / factor:
        where = " and ".join(f"frame {m.frame} ({m.area:,} px)" for m in near)
        word = "larger" if ratio > 1 else "smaller"
        times = ratio if ratio > 1 else 1.0 / ratio
        return (f"The mask of {name} on frame {frame} has {rec.area:,} pixels, {times:.1f}× "
                f"{word} than its neighbours on {where}.")
    return None
