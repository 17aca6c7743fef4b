"""A segment's box track: one box per frame, from keyframes, tracked boxes, masks and
interpolation (what the timeline, the canvas and every export show).

For each frame ``f`` of a segment ``[start, end]``, the first that applies:

1. a **keyframe** at ``f`` (a box a person drew or imported): that box — or, when it is an
   *outside* keyframe, no box (the object is not visible from there until the next keyframe);
2. inside an outside span (the last keyframe before ``f`` is outside): no box;
3. the tight box of the object's **mask** at ``f`` (source ``mask``: a segment with masks,
   e.g. made from its boxes after it was box-tracked, shows its masks' boxes);
4. a **tracked** box at ``f`` (taken from a propagated mask by box tracking) — unless it
   disagrees with the interpolation (below) at ``f``: where both exist and their IoU is under
   :data:`RULE` ``.agree``, the interpolation wins (and the check view flags the frame). Where
   there is no interpolation (before the first keyframe) the track is all there is; after the
   last keyframe (the held box) the rule applies when ``RULE.held`` says so;
5. between two keyframes ``a < f < b``: the **interpolated** box
   ``A + (B - A) · (f - a) / (b - a)``, computed in float64 and never rounded (CVAT's linear
   interpolation, also towards an outside keyframe, whose box is where the object left);
   after the last keyframe: that keyframe's box (held to the segment's end);
6. otherwise (before the first keyframe, nothing tracked): no box.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotator.core.records import BoxRecord

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackRule:
    """When a tracked box gives way to the interpolation: an IoU with it under ``agree``
    (between two keyframes; also on the held box after the last keyframe when ``held``)."""

    agree: float
    held: bool


#: chosen by nested leave-one-sequence-out over the 20 DAVIS-2016 sequences
#: (``bench/box_rule_bench.py``; the held-out figures are in docs/benchmarks.md)
RULE = TrackRule(agree=0.8, held=False)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes (1 for two empty boxes at one place)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 1.0 if union <= 0 else inter / union


@dataclass(frozen=True)
class TrackBox:
    """The box of one frame of a track; ``box`` None: the object is not visible there."""

    frame: int
    box: Box | None
    source: str  # drawn, imported, tracked, mask, interpolated
    keyframe: bool = False
    outside: bool = False
    overruled: bool = False  # a tracked box was here and disagreed with the interpolation


def interpolate(a: Sequence[float], b: Sequence[float], t: float) -> Box:
    """The box ``a + (b - a) · t`` (``t`` in [0, 1]), coordinate by coordinate, in float64."""
    return tuple(float(p) + (float(q) - float(p)) * float(t) for p, q in zip(a, b))  # type: ignore[return-value]


def box_track(start: int, end: int, rows: Iterable[BoxRecord],
              mask_boxes: Mapping[int, Box] | None = None,
              rule: TrackRule | None = None) -> list[TrackBox]:
    """The track of frames ``start..end`` (see the module docstring) from the object's stored
    box ``rows`` and the tight boxes of its masks by frame. Frames with no box are left out,
    except outside keyframes (listed with ``box`` None, ``outside`` True). ``rule``: when a
    tracked box gives way (default :data:`RULE`)."""
    keys: dict[int, BoxRecord] = {}
    tracked: dict[int, BoxRecord] = {}
    for r in rows:
        if r.box is not None and start <= r.frame <= end:
            (keys if r.keyframe else tracked)[r.frame] = r
    mask_boxes = mask_boxes or {}
    kf = sorted(keys)
    rule = rule or RULE
    out = [_at(f, keys, kf, tracked, mask_boxes, rule) for f in range(start, end + 1)]
    return [t for t in out if t is not None]


def box_at(frame: int, start: int, end: int, rows: Iterable[BoxRecord]) -> TrackBox | None:
    """The box of one frame of the track of ``start..end`` (what :func:`box_track` gives for
    it), or None; costs one pass over ``rows``, not over the segment's frames."""
    track = {r.frame: r for r in rows if r.box is not None and start <= r.frame <= end}
    keys = {f: r for f, r in track.items() if r.keyframe}
    tracked = {f: r for f, r in track.items() if not r.keyframe}
    if not start <= frame <= end:
        return None
    return _at(frame, keys, sorted(keys), tracked, {}, RULE)


def _at(f: int, keys: dict, kf: list[int], tracked: dict, mask_boxes: Mapping,
        rule: TrackRule) -> TrackBox | None:
    if f in keys:
        k = keys[f]
        return TrackBox(f, None if k.outside else k.box, k.source, True, k.outside)
    i = bisect.bisect_left(kf, f)  # keyframes kf[:i] are before f
    prev = keys[kf[i - 1]] if i else None
    if prev is not None and prev.outside:
        return None
    nxt = keys[kf[i]] if i < len(kf) else None
    box = None if prev is None else prev.box if nxt is None else interpolate(
        prev.box, nxt.box, (f - prev.frame) / (nxt.frame - prev.frame))
    if mask_boxes.get(f) is not None:
        return TrackBox(f, tuple(float(v) for v in mask_boxes[f]), "mask")
    if f in tracked:
        t = tracked[f].box
        judged = box is not None and (nxt is not None or rule.held)
        if not judged or iou(t, box) >= rule.agree:
            return TrackBox(f, t, "tracked")
        return TrackBox(f, box, "interpolated", overruled=True)
    return None if box is None else TrackBox(f, box, "interpolated")


def keyframes_in(rows: Iterable[BoxRecord], start: int, end: int) -> list[BoxRecord]:
    """The keyframes among ``rows`` in ``start..end``, by frame."""
    return sorted((r for r in rows if r.keyframe and start <= r.frame <= end and r.box),
                  key=lambda r: r.frame)


def xywh(box: Sequence[float]) -> list[float]:
    """COCO's ``[x, y, w, h]`` of ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


def segment_track(store, object_id: int, start: int, end: int) -> list[TrackBox]:
    """The box track of an object over ``start..end`` from the project's store: its stored
    boxes and the tight boxes of its current masks."""
    masks = {m.frame: (m.bbox[0], m.bbox[1], m.bbox[0] + m.bbox[2], m.bbox[1] + m.bbox[3])
             for m in store.masks_of(object_id, start, end) if m.bbox and m.area}
    return box_track(start, end, store.boxes_of(object_id, start, end), masks)


def box_only(store, object_id: int, start: int, end: int) -> bool:
    """Whether the segment is annotated with boxes instead of masks: it has a keyframe and
    no mask."""
    return (any(r.keyframe for r in store.boxes_of(object_id, start, end))
            and not store.masks_of(object_id, start, end))
