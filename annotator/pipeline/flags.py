"""Quality of propagated masks: per-frame signals and flags, and per-clip scores.

Per (object, frame) the commit thread measures the signals of
:mod:`annotator.pipeline.failure` against the run's anchor (colour mix, shape, how well the
outline follows the image's edges, …) and stores them with the estimated probability that the
mask is wrong (``p_fail``, P(J < 0.5)); the frame's *flags* are the signals that raised that
probability most, when it is high enough to matter, and its ``score`` is ``1 − p_fail``. Two
rules stay on top of it: SAM's refinement disagreeing with the propagated mask, and a mask
that fills the frame, flag the frame and raise its ``p_fail`` to their *badness* (the weighted
sum of the flags, capped at 1). The old rule flags of :mod:`annotator.core.quality` (lost,
area/centroid jump, low confidence, disagreement) still serve masks measured without their
anchor in view (the frames a resumed job commits, an alternative revision): their ``p_fail``
is their badness.

Flags change only where masks are written again: a re-propagation rewrites exactly the frames
whose nearest anchor moved, with their signals measured against the new anchor, and then
scores the seams where its runs meet the frames it left (:mod:`annotator.pipeline.seams`:
the frames beside its range, flag ``seam``). The stored frames' ``p_fail`` (:func:`p_fail`)
is what :mod:`annotator.pipeline.clips` groups into the clips that the check view and
``annotator review`` list, worst first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotator.core import quality as Q
from annotator.pipeline import failure as F

FLAG_WEIGHTS = {
    "lost": 1.0,
    "whole_frame": 1.0,
    "disagreement": 0.6,
    "seam": 0.6,
    "area_jump": 0.5,
    "centroid_jump": 0.5,
    "low_confidence": 0.3,
    "box_jump": 0.5,
    "box_size": 0.5,
    "box_disagree": 0.6,
}

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
    "seam": ("propagations disagree",
             "Two propagations from different anchors meet here and do not agree: across the "
             f"two frames the mask's area changes by more than {_T.area_jump:.0%} or its centre "
             f"moves by more than {_T.centroid_jump:.1f}× the object's size. At least one of "
             "them is wrong: look at both frames, click the object where the mask is wrong "
             "and press Enter."),
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
    "box_jump": ("box jump",
                 "The box's centre moved by more than half its diagonal in one frame: the "
                 "track may have jumped to another object. Draw the box where the object is "
                 "(it becomes a keyframe)."),
    "box_size": ("box size change",
                 "The box's area changed by more than half in one frame. Draw the box right "
                 "(it becomes a keyframe)."),
    "box_disagree": ("track–interpolation disagreement",
                     "The tracked box and the interpolation between the keyframes overlap "
                     "poorly (IoU under 0.5): the track or a keyframe is off. Draw the box "
                     "where the object is (it becomes a keyframe)."),
}


#: what to do about a frame the failure score flagged
FIX_HINT = ("If the mask is wrong, click the object (and the background it took) and press "
            "Enter: the fix is re-propagated to the neighbouring anchors.")


def flag_label(name: str) -> str:
    """A flag's name for people (``low_confidence`` → ``low confidence``)."""
    if name in FLAG_INFO:
        return FLAG_INFO[name][0]
    if name in F.SIGNAL_INFO:
        return F.SIGNAL_INFO[name][0]
    return name.replace("_", " ")


def flag_help(name: str) -> str:
    """What a flag measured and what to do about it."""
    if name in FLAG_INFO:
        return FLAG_INFO[name][1]
    if name in F.SIGNAL_INFO:
        what = F.SIGNAL_INFO[name][1]
        return f"Compared with the anchor, {what}. {FIX_HINT}"
    return f"The check “{flag_label(name)}” failed on this frame."


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
           thresholds: Q.FlagThresholds | None = None, signals: dict | None = None,
           model: F.FailureModel | None = None) -> FrameQuality:
    """Signals and flags of one propagated mask (``other``: the second opinion, if any).

    ``signals``: the failure signals measured against the run's anchor
    (:class:`~annotator.pipeline.failure.SignalTracker`); with them the frame is scored by the
    failure ``model`` (default :data:`~annotator.pipeline.failure.DEFAULT_MODEL`), without them
    by the rule flags.
    """
    q: dict = {"area": Q.mask_area(mask)}
    if confidence is not None:
        q["confidence"] = round(float(confidence), 4)
    if prev is not None:
        q["area_jump"] = round(Q.area_jump(prev, mask), 4)
        q["centroid_jump"] = round(Q.centroid_jump(prev, mask), 4)
    if other is not None:
        q["disagreement"] = round(Q.iou_disagreement(mask, other), 4)
    if signals is None:
        flags = tuple(Q.frame_flags(mask, prev, confidence, reference_area, other, thresholds))
        return FrameQuality(q, flags, round(1.0 - badness(flags), 4))
    model = model or F.DEFAULT_MODEL
    p = model.probability(signals)
    keep = set(F.SIGNALS) | set(model.signals)
    q.update({k: v for k, v in signals.items() if k in keep})
    flags = F.reasons(signals, model) if p >= model.threshold * model.extend else ()
    # Two rules stay: a second opinion that disagrees (SAM's refinement: not in the fitted
    # model, no SAM weights where it was fitted) and a mask that fills the frame.
    t = thresholds or Q.FlagThresholds()
    rules = tuple(f for f, hit in (
        ("disagreement", other is not None and q["disagreement"] > t.disagreement),
        ("whole_frame", Q.is_whole_frame(mask, t.whole_frame))) if hit)
    if rules:
        flags = rules + tuple(f for f in flags if f not in rules)
        p = max(p, badness(rules))
    q["p_fail"] = round(p, 4)
    return FrameQuality(q, flags, round(1.0 - p, 4))


def p_fail(quality: dict | None, flags) -> float:
    """A stored mask's estimated P(J < 0.5): its ``p_fail``, else its flags' badness."""
    if quality and "p_fail" in quality:
        return float(quality["p_fail"])
    return badness(flags) if flags else 0.0
