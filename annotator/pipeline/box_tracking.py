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
(:mod:`annotator.core.box_tracks`, whose track rule also prefers the interpolation where a
tracked box disagrees with it). Frames inside an outside span are not tracked.

**Resume**, as mask propagation resumes (:mod:`annotator.pipeline.job`): the job row
``track_boxes:<segment id>`` holds a fingerprint of the segment's keyframes and engines, the
undo operation, and — in the transaction of each frame's box — the stretch and step
committed. Run again with the same keyframes, a cancelled or killed run goes on in the same
operation: the propagator replays the stretch's committed frames (from its newest engine
checkpoint in ``cache/jobs``, else from the keyframe) without writing, then carries on; a
finished run says ``already``. Changed keyframes start a new run in a new operation.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.box_tracks import keyframes_in
from annotator.core.tracks import box_of
from annotator.pipeline.checkpoint import CheckpointStore

#: a checkpoint after this many seconds of engine time (and 20 times its own cost apart), as
#: mask propagation takes them; ``CHECKPOINT_EVERY`` (steps) instead when set
CHECKPOINT_S = 0.5
CHECKPOINT_EVERY: int | None = None


@dataclass
class BoxTrackResult:
    """What tracking one segment did: boxes ``written``, frames ``kept`` (a person's box
    there), frames ``lost`` (an empty mask: interpolation shows), frames ``replayed`` to resume,
    and its ``state``."""

    segment_id: int
    state: str = "done"  # done, cancelled, already (tracked from these keyframes), skipped
    written: int = 0
    kept: int = 0
    lost: int = 0
    replayed: int = 0
    op_id: int | None = None


def job_key(segment_id: int) -> str:
    return f"track_boxes:{segment_id}"


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


def _fingerprint(segment: Any, keys: list, segmenter: Any, propagator: Any) -> str:
    data = [segment.start, segment.end, [(k.frame, k.box, k.outside) for k in keys],
            getattr(segmenter, "name", type(segmenter).__name__),
            getattr(propagator, "name", type(propagator).__name__)]
    return hashlib.sha1(json.dumps(data).encode()).hexdigest()[:16]


def _begin(store: Any, key: str, fp: str, label: str, total: int) -> tuple[int, int, dict, str]:
    """``(op, since_rev, progress, previous state)``: the interrupted run's when its job row
    has the same fingerprint and its operation is not undone, else a new run's."""
    job = store.job(key)
    params = (job or {}).get("params") or {}
    op = store.operation(params.get("op", -1)) if params.get("fingerprint") == fp else None
    if op is not None and not op.undone:
        return params["op"], params["since"], job.get("progress") or {}, job["state"]
    since = store.last_box_rev_id()
    op_id = store.new_op("track_boxes", label)
    store.job_update(key, kind="track_boxes", state="running", done=0, total=total,
                     progress={"stretch": 0, "step": 0},
                     params={"fingerprint": fp, "op": op_id, "since": since}, message="")
    return op_id, since, {"stretch": 0, "step": 0}, "new"


def track_segment(store: Any, frames: Callable[[int], np.ndarray], segment: Any,
                  segmenter: Any, propagator: Any, *,
                  progress: Callable[[int, int, int], None] | None = None,
                  cancel: threading.Event | None = None,
                  checkpoints: Path | None = None) -> BoxTrackResult:
    """Track the boxes of ``segment`` (see the module docstring); ``frames(i)`` gives frame
    ``i``'s RGB pixels; ``progress(done, total, frame)`` after each frame; ``checkpoints``: a
    folder for the propagator's state (a resume replays fewer frames)."""
    oid = segment.object_id
    keys = sorted((r for r in store.boxes_of(oid, segment.start, segment.end)
                   if r.keyframe and r.box is not None), key=lambda r: r.frame)
    result = BoxTrackResult(segment.id)
    if not [k for k in keyframes_in(keys, segment.start, segment.end) if not k.outside]:
        result.state = "skipped"
        return result
    work = stretches(segment.start, segment.end, keys)
    total = sum(len(f) for _k, f in work)
    key, fp = job_key(segment.id), _fingerprint(segment, keys, segmenter, propagator)
    label = (f"Track boxes of {store.object(oid).name}, frames "
             f"{segment.start}–{segment.end}")
    op, since, prog, state = _begin(store, key, fp, label, total)
    result.op_id = op
    if state == "done":
        result.state = "already"
        return result
    store.job_update(key, state="running")
    ckpts = (CheckpointStore(checkpoints, key, fp) if checkpoints is not None
             and hasattr(propagator, "get_state") else None)
    s0, j0 = prog.get("stretch", 0), prog.get("step", 0)
    done = sum(len(f) for _k, f in work[:s0]) + j0
    for s, (kf, todo) in enumerate(work):
        if s < s0:
            continue
        first = j0 if s == s0 else 0  # frames of this stretch already committed
        at = _restart(propagator, segmenter, frames, kf, ckpts, s, first)
        result.replayed += first - at
        engine_s, cost = 0.0, 0.0
        for j in range(at, len(todo)):
            f = todo[j]
            if j >= first and cancel is not None and cancel.is_set():
                result.state = "cancelled"
                store.job_update(key, state="cancelled")
                return result
            due = (j % CHECKPOINT_EVERY == 0 if CHECKPOINT_EVERY else
                   engine_s >= max(CHECKPOINT_S, 20 * cost))
            if ckpts is not None and j > first and due:
                t0 = time.perf_counter()
                ckpts.save(s, j, propagator.get_state(), {}, committed=j)
                cost, engine_s = time.perf_counter() - t0, 0.0
            t0 = time.perf_counter()
            mask = propagator.step(frames(f), active=[oid]).masks.get(oid)
            engine_s += time.perf_counter() - t0
            if j < first:
                continue  # replay: the engine catches up, the box is in the store already
            done += 1
            _commit(store, key, op, since, oid, f, box_of(mask), result,
                    done, {"stretch": s, "step": j + 1})
            if progress is not None:
                progress(done, total, f)
    store.job_update(key, state="done", progress={"stretch": len(work), "step": 0})
    if ckpts is not None:
        ckpts.clear(range(len(work)))
    return result


def _restart(propagator: Any, segmenter: Any, frames: Callable, kf: Any, ckpts: Any,
             s: int, first: int) -> int:
    """Set the propagator up for stretch ``s`` from its newest checkpoint before step
    ``first`` (returns its step), else from the keyframe's mask (returns 0)."""
    ckpt = ckpts.load(s, 1, first) if ckpts is not None and first > 0 else None
    if ckpt is not None:
        try:
            propagator.set_state(ckpt.engine)
            return ckpt.step
        except (ValueError, KeyError, TypeError) as exc:
            ckpts.note(ckpt.path or ckpts.folder, f"it does not fit this engine ({exc})")
    propagator.reset()
    image = frames(kf.frame)
    propagator.step(image, given={kf.object_id: _seed(segmenter, image, kf.box)})
    return 0


def _commit(store: Any, key: str, op: int, since: int, oid: int, f: int, box: Any,
            result: BoxTrackResult, done: int, prog: dict) -> None:
    """One frame's tracked box (none when the mask was lost) and the job's progress, in one
    transaction; a person's keyframe there is kept."""
    with store.transaction():
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
        store.job_update(key, done=done, progress=prog)


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


def box_jobs(store: Any) -> dict[int, tuple[str, int, int]]:
    """``segment id -> (job key, frames done, frames to track)`` of every box-only segment
    with a visible keyframe (what a batch reports before it tracks them; a finished job
    counts as all done)."""
    from annotator.core.export_boxes import box_only_segments

    out = {}
    for s in box_only_segments(store):
        keys = keyframes_in(store.boxes_of(s.object_id, s.start, s.end), s.start, s.end)
        total = sum(len(f) for _k, f in stretches(s.start, s.end, keys))
        if total:
            job = store.job(job_key(s.id)) or {}
            done = total if job.get("state") == "done" else int(job.get("done") or 0)
            out[s.id] = (job_key(s.id), min(done, total), total)
    return out


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
                                     propagator, progress=progress, cancel=cancel,
                                     checkpoints=project.cache_dir / "jobs"))
        return out
    finally:
        video.close()
