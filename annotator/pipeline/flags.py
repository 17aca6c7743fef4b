"""Quality of propagated masks: per-frame signals and flags, and per-clip scores.

Per (object, frame) the pipeline measures, with :mod:`annotator.core.quality`: the area, the
engine's confidence, the area and centroid jumps from the previous frame of the same run, the
disagreement (1 − IoU) between the XMem and the SAM mask when the frame was refined, and
whether the mask is lost (empty or almost, against the anchor's area) or covers the whole
frame. The names of the failed checks are the frame's *flags*; a frame's *badness* is the
weighted sum of its flags, capped at 1, and its stored ``score`` is ``1 − badness``.

A *clip* is a run of flagged frames of one object (gaps of up to :data:`CLIP_GAP` unflagged
frames are bridged); its score is the sum of its frames' badness, so a long failure ranks above
a one-frame blip. The check view and ``annotator review`` list clips worst first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from annotator.core import quality as Q
from annotator.core.store import Store

FLAG_WEIGHTS = {
    "lost": 1.0,
    "whole_frame": 1.0,
    "disagreement": 0.6,
    "area_jump": 0.5,
    "centroid_jump": 0.5,
    "low_confidence": 0.3,
}
CLIP_GAP = 2

_T = Q.FlagThresholds()
#: Each flag's name for people and what it means: what was measured, and what to do about it
#: (the check view's labels and tooltips).
FLAG_INFO: dict[str, tuple[str, str]] = {
    "lost": ("lost object",
             "The mask is empty or almost (under "
             f"{_T.lost_fraction_of_reference:.0%} of the anchor's area): the object was lost, "
             "hidden or left the frame. If it is visible, click it and press Enter; if it "
             "really is gone, leave it (or mark the segment failed)."),
    "whole_frame": ("mask fills the frame",
                    f"The mask covers more than {_T.whole_frame:.0%} of the frame: propagation "
                    "ran away into the background. Click the object again (or erase) and press "
                    "Enter."),
    "disagreement": ("XMem–SAM disagreement",
                     "XMem's propagated mask and SAM's refinement of it overlap poorly (1 − IoU "
                     f"above {_T.disagreement:.1f}): one of them is wrong. Press X to compare "
                     "them, Enter to keep the one on screen."),
    "area_jump": ("area jump",
                  "The mask's area changed by more than "
                  f"{_T.area_jump:.0%} of the larger area since the previous frame: a part was "
                  "lost or the mask leaked into the background. Fix it with clicks or the brush "
                  "and press Enter."),
    "centroid_jump": ("position jump",
                      "The mask's centre moved by more than "
                      f"{_T.centroid_jump:.1f}× the object's size in one frame: it may have "
                      "jumped to another object. Click the right object and press Enter."),
    "low_confidence": ("low confidence",
                       "The propagator's own confidence in this mask was below "
                       f"{_T.low_confidence:.1f}. Look at it: fix it (clicks, Enter) if it is "
                       "wrong, otherwise go on."),
}


def flag_label(name: str) -> str:
    """A flag's name for people (``low_confidence`` → ``low confidence``)."""
    return FLAG_INFO.get(name, (name.replace("_", " "), ""))[0]


def flag_help(name: str) -> str:
    """What a flag measured and what to do about it."""
    return FLAG_INFO.get(name, ("", f"The check “{flag_label(name)}” failed on this frame."))[1]


def badness(flags) -> float:
    """How bad a frame with these flags is, in [0, 1]."""
    return min(1.0, sum(FLAG_WEIGHTS.get(f, 0.3) for f in flags))


@dataclass(frozen=True)
class FrameQuality:
    """What is stored with one propagated mask."""

    quality: dict
    flags: tuple[str, ...]
    score: float


def assess(mask: np.ndarray, prev: np.ndarray | None, confidence: float | None,
           reference_area: float | None, other: np.ndarray | None = None,
           thresholds: Q.FlagThresholds | None = None) -> FrameQuality:
    """Signals and flags of one propagated mask (``other``: the second opinion, if any)."""
    flags = tuple(Q.frame_flags(mask, prev, confidence, reference_area, other, thresholds))
    q: dict = {"area": Q.mask_area(mask)}
    if confidence is not None:
        q["confidence"] = round(float(confidence), 4)
    if prev is not None:
        q["area_jump"] = round(Q.area_jump(prev, mask), 4)
        q["centroid_jump"] = round(Q.centroid_jump(prev, mask), 4)
    if other is not None:
        q["disagreement"] = round(Q.iou_disagreement(mask, other), 4)
    return FrameQuality(q, flags, round(1.0 - badness(flags), 4))


@dataclass
class Clip:
    """A run of flagged frames of one object."""

    object_id: int
    start: int
    end: int
    score: float = 0.0  # sum of the frames' badness: higher is worse
    worst_frame: int = -1
    worst: float = 0.0
    flagged: int = 0
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
    """Clips of one object from ``(frame, flags)`` in frame order."""
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


def review_clips(store: Store, object_id: int | None = None) -> list[Clip]:
    """Every flagged clip of the project (or of one object), worst first."""
    clips: list[Clip] = []
    for obj in store.objects():
        if object_id is not None and obj.id != object_id:
            continue
        frames = [(m.frame, m.flags) for m in store.masks_of(obj.id) if not m.anchor]
        clips.extend(clips_of(frames, obj.id))
    return sorted(clips, key=lambda c: (-c.score, c.object_id, c.start))
