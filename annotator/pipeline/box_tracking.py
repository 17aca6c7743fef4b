"""Box tracking: the boxes of a box-only segment between and around its keyframes, taken from
masks (``annotator propagate`` runs it on every box-only segment after the mask passes).

For each visible keyframe the segmenter (SAM, or the weight-free fallback: GrabCut inside the
box) makes a mask from the keyframe's box; the propagator carries it forward up to the next
keyframe (or the segment's end) and, from the first keyframe, backward to the segment's start;
each propagated mask's tight box is written as a ``tracked`` box. The masks themselves are not
kept: the segment stays box-only. Every frame is its own transaction (a kill loses at most the
frame in flight) through :meth:`Store.put_machine_boxes`, so a box a person drew is never
overwritten, also one drawn while the job runs; where the mask is lost (empty) nothing is
written and the interpolation between the keyframes shows instead
(:mod:`annotator.core.box_tracks`). Frames inside an outside span are not tracked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from annotator.core.box_tracks import keyframes_in
from annotator.core.tracks import box_of


@dataclass
class BoxTrackResult:
    """What tracking one segment did: boxes ``written``, frames ``kept`` (a person's box
    there), frames ``lost`` (an empty mask: interpolation shows), and its ``state``."""

    segment_id: int
    state: str = "done"  # done, cancelled, skipped (no visible keyframe)
    written: int = 0
    kept: int = 0
    lost: int = 0
    op_id: int | None = None


def stretches(start: int, end: int, keys: list) -> list[tuple[Any, list[int]]]:
    """``(keyframe, frames)`` to track: forward from each visible keyframe up to the next
    keyframe (or ``end``), and backward from the first keyframe to ``start``, nearest first."""
    out = []
    for i, k in enumerate(keys):
        if k.outside:
            continue
        stop = keys[i + 1].frame - 1 if i + 1 < len(keys) else end
        if i == 0 and k.frame > start:
            out.append((k, list(range(k.frame - 1, start - 1, -1))))
        if stop > k.frame:
            out.append((k, list(range(k.frame + 1, stop + 1))))
    return out


def _seed(segmenter: Any, image: np.ndarray, box: tuple) -> np.ndarray:
    """The segmenter's mask of what the box holds (the box itself when it finds nothing)."""
    segmenter.embed(image)
    mask = segmenter.predict(None, None, box=np.asarray(box, np.float32)).best_mask
    if not mask.any():
        mask = np.zeros(image.shape[:2], bool)
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        mask[y0:y1, x0:x1] = True
    return mask


def track_segment(store: Any, frames: Callable[[int], np.ndarray], segment: Any,
                  segmenter: Any, propagator: Any, *,
                  progress: Callable[[int, int, int], None] | None = None,
                  cancel: threading.Event | None = None) -> BoxTrackResult:
    """Track the boxes of ``segment`` (see the module docstring); ``frames(i)`` gives frame
    ``i``'s RGB pixels; ``progress(done, total, frame)`` after each frame."""
    oid = segment.object_id
    keys = sorted((r for r in store.boxes_of(oid, segment.start, segment.end)
                   if r.keyframe and r.box is not None), key=lambda r: r.frame)
    result = BoxTrackResult(segment.id)
    if not [k for k in keyframes_in(keys, segment.start, segment.end) if not k.outside]:
        result.state = "skipped"
        return result
    work = stretches(segment.start, segment.end, keys)
    total, done = sum(len(f) for _k, f in work), 0
    name = store.object(oid).name
    op = store.new_op("track_boxes", f"Track boxes of {name}, frames "
                                     f"{segment.start}–{segment.end}")
    result.op_id = op
    since = store.last_box_rev_id()
    for key, todo in work:
        propagator.reset()
        image = frames(key.frame)
        propagator.step(image, given={oid: _seed(segmenter, image, key.box)})
        for f in todo:
            if cancel is not None and cancel.is_set():
                result.state = "cancelled"
                return result
            mask = propagator.step(frames(f), active=[oid]).masks.get(oid)
            box = box_of(mask)
            if box is None:
                result.lost += 1
            else:
                (rev,) = store.put_machine_boxes(
                    [dict(object_id=oid, frame=f, box=tuple(float(v) for v in box),
                          source="tracked")], op=op, since_rev=since)
                if rev is None:
                    result.kept += 1
                else:
                    result.written += 1
            done += 1
            if progress is not None:
                progress(done, total, f)
    return result


def masks_from_boxes(project: Any, segment: Any, segmenter: Any = None) -> int:
    """Turn a box-only segment into masks: the segmenter's mask of each visible keyframe's
    box becomes that frame's anchor (one undoable operation; the boxes stay). Propagating
    the segment then fills the frames between (``annotator propagate --masks-from-boxes``).
    Returns the number of anchors written."""
    store = project.store
    keys = [k for k in keyframes_in(store.boxes_of(segment.object_id, segment.start,
                                                   segment.end), segment.start, segment.end)
            if not k.outside]
    if not keys:
        return 0
    if segmenter is None:
        from annotator.pipeline.prompting import make_segmenter

        segmenter = make_segmenter(project)
    video = project.open_video()
    try:
        masks = [(k.frame, _seed(segmenter, video[k.frame], k.box)) for k in keys]
    finally:
        video.close()
    name = store.object(segment.object_id).name
    with store.transaction():
        op = store.new_op("masks_from_boxes", f"Masks from the boxes of {name}, frames "
                                              f"{segment.start}–{segment.end}")
        store.put_masks([dict(object_id=segment.object_id, frame=f, mask=m,
                              source=getattr(segmenter, "source", "sam"), anchor=True)
                         for f, m in masks], op=op)
    return len(masks)


def track_box_segments(project: Any, propagator: Any, segmenter: Any = None, *,
                       segments: list[int] | None = None,
                       progress: Callable[[int, int, int], None] | None = None,
                       cancel: threading.Event | None = None) -> list[BoxTrackResult]:
    """Track every box-only segment of ``project`` (``segments``: only those ids)."""
    from annotator.core.export_boxes import box_only_segments

    todo = [s for s in box_only_segments(project.store)
            if segments is None or s.id in segments]
    if not todo:
        return []
    if segmenter is None:
        from annotator.pipeline.prompting import make_segmenter

        segmenter = make_segmenter(project)
    video = project.open_video()
    try:
        out = []
        for s in todo:
            if cancel is not None and cancel.is_set():
                break
            out.append(track_segment(project.store, video.__getitem__, s, segmenter,
                                     propagator, progress=progress, cancel=cancel))
        return out
    finally:
        video.close()
