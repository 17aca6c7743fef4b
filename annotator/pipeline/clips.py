"""Flagged clips: where one object's propagated masks likely failed, grouped and ranked.

A *clip* is a run of one object's frames whose P(fail) (the failure score of
:mod:`annotator.pipeline.failure`, stored with each mask by :mod:`annotator.pipeline.flags`)
reaches the threshold, extended over its neighbours that stay near it and bridging gaps of up
to :data:`CLIP_GAP` frames, never across an anchor. Its score is the expected number of failed
frames in it (the sum of P(fail)), so a long failure ranks above a one-frame blip and fixing
the first clips removes most failures. The check view and ``annotator review`` list clips worst
first (:func:`review_clips`); clips are computed from the stored frames each time the list is
asked for. Box-only segments add clips of their box tracks' flags (:func:`box_clips`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from annotator.core.store import Store
from annotator.pipeline import failure as F
from annotator.pipeline.flags import badness, p_fail

__all__ = ["CLIP_GAP", "Clip", "clips_from_probability", "clips_of", "review_clips"]

CLIP_GAP = 2


@dataclass
class Clip:
    """A run of flagged frames of one object."""

    object_id: int
    start: int
    end: int
    score: float = 0.0  # expected failed frames (sum of P(fail), or of badness): higher is worse
    worst_frame: int = -1
    worst: float = 0.0  # the worst frame's P(fail) (or badness)
    flagged: int = 0  # frames whose P(fail) reached the clip's bar
    flags: Counter = field(default_factory=Counter)

    def add(self, frame: int, flags) -> None:
        b = badness(flags)
        self.end = frame
        self.score += b
        self.flagged += 1
        self.flags.update(flags)
        if b > self.worst:
            self.worst, self.worst_frame = b, frame


def clips_of(frames: list[tuple[int, tuple[str, ...]]], object_id: int,
             gap: int = CLIP_GAP) -> list[Clip]:
    """Clips of one object from ``(frame, flags)`` in frame order (the rule flags' clips:
    each frame scored by its flags' badness)."""
    clips: list[Clip] = []
    for frame, flags in frames:
        if not flags:
            continue
        if clips and frame - clips[-1].end <= gap + 1:
            clips[-1].add(frame, flags)
        else:
            clip = Clip(object_id, frame, frame)
            clip.add(frame, flags)
            clips.append(clip)
    return clips


def clips_from_probability(p: Sequence[float], object_id: int,
                           model: F.FailureModel | None = None, gap: int = CLIP_GAP,
                           offset: int = 0,
                           breaks: Collection[int] = ()) -> list[Clip]:
    """Clips of one object from its frames' P(fail), worst first (``p[i]`` is frame
    ``offset + i``; an anchor's is 0; no clip spans a frame in ``breaks``, e.g. anchors).

    A clip holds a frame whose P(fail) reaches ``model.threshold`` and every frame around it
    whose P(fail) stays at or above ``model.extend`` × the threshold (a failure fades in and
    out: hysteresis), gaps of up to ``gap`` frames bridged. Its score is the expected number
    of failed frames in it (the sum of P(fail)); its worst frame the most likely failure.
    """
    model = model or F.DEFAULT_MODEL
    p = np.asarray(p, float)
    low = model.threshold * model.extend
    clips: list[Clip] = []
    run: list[int] = []

    def close() -> None:
        if run and p[run].max() >= model.threshold:
            worst = run[int(np.argmax(p[run]))]
            clip = Clip(object_id, run[0] + offset, run[-1] + offset)
            clip.flagged = len(run)
            clip.worst_frame, clip.worst = worst + offset, float(p[worst])
            clip.score = float(p[run[0]:run[-1] + 1].sum())
            clips.append(clip)

    cut = {b - offset for b in breaks}
    for i in range(len(p)):
        if i in cut or (run and i - run[-1] > gap + 1):
            close()
            run = []
        if p[i] >= low and i not in cut:
            run.append(i)
    close()
    return sorted(clips, key=lambda c: (-c.score, c.start))


def review_clips(store: Store, object_id: int | None = None,
                 model: F.FailureModel | None = None) -> list[Clip]:
    """Every clip of the project (or of one object) where masks likely failed, worst first."""
    clips: list[Clip] = []
    for obj in store.objects():
        if object_id is not None and obj.id != object_id:
            continue
        masks = store.masks_of(obj.id)
        if not masks:
            continue
        lo = min(m.frame for m in masks)
        p = np.zeros(max(m.frame for m in masks) - lo + 1)
        flags: dict[int, tuple[str, ...]] = {}
        anchors = set()
        for m in masks:
            if m.anchor:
                anchors.add(m.frame)
            else:
                p[m.frame - lo] = p_fail(m.quality, m.flags)
                flags[m.frame] = tuple(m.flags)
        for clip in clips_from_probability(p, obj.id, model, CLIP_GAP, offset=lo,
                                           breaks=anchors):
            for f in range(clip.start, clip.end + 1):
                clip.flags.update(flags.get(f, ()))
            clips.append(clip)
    return sorted(clips + box_clips(store, object_id),
                  key=lambda c: (-c.score, c.object_id, c.start))


def box_clips(store: Store, object_id: int | None = None) -> list[Clip]:
    """Clips of the box-only segments' box tracks (:mod:`annotator.core.box_checks`), each
    frame scored by its flags' badness."""
    from annotator.core.box_checks import box_flags
    from annotator.core.box_tracks import box_only, box_track

    out: list[Clip] = []
    for s in store.segments(object_id):
        if not box_only(store, s.object_id, s.start, s.end):
            continue
        rows = store.boxes_of(s.object_id, s.start, s.end)
        flags = box_flags(box_track(s.start, s.end, rows))
        out += clips_of(sorted(flags.items()), s.object_id)
    return out
