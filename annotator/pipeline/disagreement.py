"""Where two annotations of one video disagree most: the LU-AVS scores of one against the
other, and the frames whose masks differ, grouped into runs like the check view's flagged
clips and ranked worst first — what the window's *Review ▸ Compare with…* shows and walks.

::

    comp = compare(gt_tracks, pred_tracks, object_of)   # Scores and a CheckList of runs
    comp.scores.overall["m_tIoU"]; comp.checks.clips[0].worst_frame; comp.iou[(oid, frame)]
    comp, other = compare_sources(project_dir, "other.avsproj")   # what the window runs

A frame *disagrees* when its IoU (:mod:`annotator.pipeline.evaluate`'s, frame by frame along
each scored ground-truth segment) is below :data:`DISAGREE_BELOW`. A *run* is a stretch of one
object's disagreeing frames, gaps of up to :data:`~annotator.pipeline.clips.CLIP_GAP` frames
bridged (the clips' rule, :func:`~annotator.pipeline.clips.clips_from_probability`, with
1 − IoU in place of P(fail)); its score is the sum of 1 − IoU over it (how many frames' worth
of mask the two do not share), its worst frame the one with the lowest IoU. Frames where the
other side has a mask and no ground-truth segment of that label is (a segment only it has, or
one that runs longer) are runs too, each such frame's IoU 0. A run's ``flags`` count its frames
by kind: ``differ`` (both have a mask), ``only_gt`` / ``only_pred`` (one side has none there).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.tracks import Track
from annotator.errors import Cancelled, UserError
from annotator.pipeline.check_list import CheckList, walk_order
from annotator.pipeline.clips import CLIP_GAP, Clip, clips_from_probability
from annotator.pipeline.evaluate import Scores, evaluate
from annotator.pipeline.failure import FailureModel

__all__ = ["DISAGREE_BELOW", "KINDS", "Comparison", "compare", "compare_sources",
           "object_finder", "runs"]

#: a frame disagrees when its IoU is below this (a display bar, not fitted on data: two careful
#: annotators' masks of one object share more than 90 % of their pixels)
DISAGREE_BELOW = 0.9
#: what a run's frames are (its ``flags``): masks that differ, or a mask on one side only
KINDS = ("differ", "only_gt", "only_pred")


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` returns: the scores of ``pred`` against ``gt``, and ``checks``:
    the runs worst first as the check view lists them (``clips``), the disagreeing
    ``(frame, object)`` pairs worst first (so F visits each run's worst frame first), and the
    walking ``order``. ``iou[(object, frame)]``: the IoU of each frame in a run."""

    scores: Scores
    checks: CheckList
    iou: dict[tuple[int | None, int], float] = field(default_factory=dict)
    bar: float = DISAGREE_BELOW  # a frame under this IoU disagrees

    @property
    def disagreeing_frames(self) -> int:
        return len(self.checks.frames)


def runs(ious: Sequence[float], object_id: int | None, offset: int = 0,
         bar: float = DISAGREE_BELOW, gap: int = CLIP_GAP,
         kinds: Sequence[str] | None = None) -> list[Clip]:
    """Runs of one object's frames whose IoU is below ``bar`` (``ious[i]`` is frame
    ``offset + i``), worst first; ``kinds[i]``: frame i's kind, counted in the run's
    ``flags``."""
    bad = 1.0 - np.clip(np.asarray(ious, float), 0.0, 1.0)
    # the clips' rule reads only the threshold and the extension of its model
    rule = FailureModel(signals=(), coef=(), bias=0.0, threshold=np.nextafter(1.0 - bar, 2.0),
                        extend=1.0)
    out = clips_from_probability(bad, object_id, rule, gap, offset=offset)  # type: ignore[arg-type]
    if kinds is not None:
        for c in out:
            c.flags = Counter(kinds[f - offset] for f in range(c.start, c.end + 1)
                              if ious[f - offset] < bar)
    return out


def _only_pred(pred: Sequence[Track], gt: Sequence[Track]) -> list[tuple[Track, list[int]]]:
    """Each predicted segment's frames with a mask that no GT segment of its label (and
    video) holds (the metric's rule for a frame: an empty mask beside none agrees)."""
    out = []
    for p in pred:
        spans = [(g.start, g.end) for g in gt if g.video == p.video and g.label == p.label]
        frames = []
        for t in range(p.start, p.end + 1):
            if not any(a <= t <= b for a, b in spans):
                m = p.mask(t)
                if m is not None and np.any(m):
                    frames.append(t)
        if frames:
            out.append((p, frames))
    return out


def compare(gt: Sequence[Track], pred: Sequence[Track],
            object_of: Callable[[Track], int | None] = lambda _t: None, *,
            bar: float = DISAGREE_BELOW, progress: Callable[[int, int], None] | None = None
            ) -> Comparison:
    """Score ``pred`` against ``gt`` (:func:`~annotator.pipeline.evaluate.evaluate`, one way)
    and find where they disagree (the module docstring). ``object_of(track)``: the object a
    run of that track's frames is listed under (e.g. :func:`object_finder`)."""
    per: dict[int, tuple[Track, list[float], list[str]]] = {}

    def on_frame(g: Track, t: int, iou: float, n_g: int, n_p: int) -> None:
        _g, ious, kinds = per.setdefault(id(g), (g, [], []))
        ious.append(iou)
        kinds.append("differ" if n_g and n_p else "only_gt" if n_g else "only_pred")

    scores = evaluate(gt, pred, progress=progress, on_frame=on_frame)
    clips: list[Clip] = []
    iou: dict[tuple[int | None, int], float] = {}
    for g, ious, kinds in per.values():
        oid = object_of(g)
        for c in runs(ious, oid, g.start, bar, kinds=kinds):
            clips.append(c)
            for f in range(c.start, c.end + 1):
                if ious[f - g.start] < bar:
                    iou[(oid, f)] = min(ious[f - g.start], iou.get((oid, f), 1.0))
    for p, frames in _only_pred(pred, gt):
        oid = object_of(p)
        ious = np.ones(p.length)
        ious[np.asarray(frames) - p.start] = 0.0
        for c in runs(ious, oid, p.start, bar, kinds=["only_pred"] * p.length):
            clips.append(c)
            for f in range(c.start, c.end + 1):
                if ious[f - p.start] < bar:
                    iou[(oid, f)] = 0.0
    clips.sort(key=lambda c: (-c.score, c.start, -1 if c.object_id is None else c.object_id))
    frames = sorted(iou, key=lambda k: (iou[k], k[1], -1 if k[0] is None else k[0]))
    keys = [(f, oid) for oid, f in frames]
    checks = CheckList(tuple(clips), tuple(keys), (), tuple(walk_order(clips, keys, ())))
    return Comparison(scores, checks, iou, bar)


def object_finder(store: Any) -> Callable[[Track], int | None]:
    """``object_of(track)`` for :func:`compare`: the object of the project in ``store`` that a
    track is about — the first object of the LU-AVS segment with the track's label and span,
    else the object of that category whose segments overlap the track's span most (the first
    such), else None. Reads the store once, now."""
    from annotator.core.lu_avs import groups

    by_span = {(g.label, g.start, g.end): g.object_ids[0] for g in groups(store)}
    objects = {o.id: o.category for o in store.objects()}
    spans: dict[str, list[tuple[int, int, int]]] = {}
    for s in store.segments():
        if s.object_id in objects:
            spans.setdefault(objects[s.object_id], []).append((s.object_id, s.start, s.end))
    by_category = {}
    for oid, cat in sorted(objects.items()):
        by_category.setdefault(cat, oid)

    def object_of(track: Track) -> int | None:
        exact = by_span.get((track.label, track.start, track.end))
        if exact is not None:
            return exact
        overlap: Counter = Counter()
        for oid, a, b in spans.get(track.label, ()):
            overlap[oid] += max(0, min(b, track.end) - max(a, track.start) + 1)
        best = [oid for oid, n in overlap.most_common() if n > 0]
        return best[0] if best else by_category.get(track.label)

    return object_of


def compare_sources(project_dir: str | Path, other: str | Path, *, reference: str = "this",
                    bar: float = DISAGREE_BELOW,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: threading.Event | None = None) -> tuple[Comparison, Any]:
    """The project at ``project_dir`` (opened read-only: a connection of its own) compared
    with ``other``, a project or an LU-AVS export of the same video
    (:func:`~annotator.pipeline.track_sources.open_same_video`; a :class:`UserError` naming it
    when it is not). ``reference``: which side is the ground truth, ``"this"`` (default) or
    ``"other"``; runs are listed under this project's objects either way. ``cancel``: set to
    stop (raises :class:`Cancelled`). Returns the comparison and the other side, still open
    (its ``masks_at(frame)`` and ``objects`` for the window; the caller closes it)."""
    from annotator.core.lu_avs import project_tracks
    from annotator.core.project import Project
    from annotator.pipeline.track_sources import open_same_video, video_shape

    if reference not in ("this", "other"):
        raise ValueError(f"reference is 'this' or 'other', not {reference!r}")

    def tick(done: int, total: int) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if progress is not None:
            progress(done, total)

    with Project.open(project_dir, readonly=True) as project:
        store = project.store
        shape = video_shape(store)
        source = open_same_video(other, shape)
        try:
            mine = project_tracks(store, shape.name)
            gt, pred = (mine, source.tracks) if reference == "this" else (source.tracks, mine)
            if not gt:
                where = project.dir if reference == "this" else source.path
                raise UserError(f"{where}: no audible segments to score against (the "
                                "reference has none); add segments, or make the other side "
                                "the reference")
            object_of = object_finder(store)
            source.objects = [object_of(t) for t in source.tracks]
            comp = compare(gt, pred, object_of, bar=bar, progress=tick)
        except BaseException:
            source.close()
            raise
    return comp, source
