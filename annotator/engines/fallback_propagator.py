"""Weight-free fallback propagator: optical flow carries the mask, a colour model corrects it.

Per frame and object, at a reduced working resolution (long side 480 px by default):

1. **Motion.** The previous frame's final mask is warped along dense DIS optical flow (current
   → previous, so every pixel pulls its value) and snapped to the current frame's edges with a
   colour guided filter (:mod:`annotator.engines.guided_filter`).
2. **Motion prior.** The prior log-odds grow with the signed distance to the warped outline
   (inside positive), in units of a fraction of the object's size: deep inside or far outside
   the motion decides, near the outline the colour does.
3. **Appearance.** A :class:`~annotator.engines.appearance.ColourModel` (object vs. a band of
   its surroundings, learnt from the anchor, updated from confident frames) adds a colour
   log-likelihood ratio, capped on the positive side so colour can cut away more readily than
   it can grow the mask into look-alike surroundings.
4. **Fusion.** Sum, smooth, sigmoid → probability; all objects' masks are then made exclusive
   (argmax over background and objects, see :func:`~annotator.engines.propagator.exclusive_masks`).
5. **Lost and found.** The object is *lost* when its mask vanishes (flowed out of the frame,
   occluded) or when the mask's colour mix no longer resembles the anchor's (the flow has
   carried it onto something else); a lost object outputs an empty mask. While lost, each frame
   is searched for object-coloured blobs of plausible size whose colour mix matches the anchor
   closely enough, and the best one brings the object back.

Confidence (0-1) = agreement between the flow's prediction and the kept mask (IoU) × how
decided the kept pixels are × how closely the mask's colour mix matches the anchor × a penalty
for area drift the motion does not explain (a mask slowly leaking into look-alike surroundings);
it is 0 for a lost object and halved on a re-detection. Memory: the previous grey frame, one working-size map
and fixed-size histograms per object — independent of the run's length.

:meth:`FallbackPropagator.get_state` / :meth:`~FallbackPropagator.set_state` snapshot and restore
all of that as plain data (arrays, numbers, tuples, dicts): a resumed job continues from a
checkpoint (:mod:`annotator.pipeline.checkpoint`) exactly as the uninterrupted run would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from annotator.engines.appearance import ColourModel, colour_index, local_band
from annotator.engines.flow import FlowEngine, FrameContext, warp
from annotator.engines.guided_filter import guided_filter

__all__ = ["FallbackPropagator"]


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the mask's boundary in pixels: positive inside, negative outside."""
    m = mask.astype(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return inside - outside


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))).astype(np.float32)


def _snap(rgb: np.ndarray, prob: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided-filter ``prob`` by the frame inside the box around it (outside stays as it is)."""
    ys, xs = np.nonzero(prob > 0.05)
    if ys.size == 0:
        return prob
    pad = 3 * radius
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, prob.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, prob.shape[1])
    out = prob.copy()
    guide = rgb[y0:y1, x0:x1].astype(np.float32) / 255.0
    out[y0:y1, x0:x1] = np.clip(guided_filter(guide, prob[y0:y1, x0:x1], radius, eps), 0, 1)
    return out


@dataclass
class _Track:
    """What the engine remembers about one object."""

    prev: np.ndarray  # working-size float32 mask of the last frame
    colour: ColourModel = field(default_factory=ColourModel)
    ref_area: float = 0.0  # area (working pixels) of the last good view
    lost: bool = False
    drift: float = 0.0  # log of the area change the motion did not explain, since the anchor

    def nbytes(self) -> int:
        return self.prev.nbytes + self.colour.nbytes()


def _copy(value):
    """A copy of an array, or of a tuple of arrays; anything else as it is."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return tuple(_copy(v) for v in value)
    return value


class FallbackPropagator(FlowEngine):
    """Optical flow + colour model propagation (no model weights); see the module docstring."""

    name = "fallback (optical flow + colour model)"
    kind = "fallback"

    def __init__(
        self,
        work_long_side: int | None = 480,
        flow_preset: int = 2,
        colour_weight: float = 0.5,
        colour_cap: float = 1.5,
        colour_floor: float = float("inf"),
        colour_adapt: float = 0.2,
        colour_anchor: float = 0.5,
        prior_gain: float = 2.0,
        prior_scale: float = 0.08,
        guide_radius: int = 4,
        guide_eps: float = 1e-3,
        lost_fraction: float = 0.05,
        min_likeness: float = 0.5,
        max_growth: float = float("inf"),
        found_likeness: float = 0.85,
        outside_gain: float = 1.0,
        drift_scale: float = 3.0,
    ) -> None:
        """Tuning knobs. The defaults were developed on six DAVIS-2016 sequences (2026-11);
        ``bench/propagation_fit.py`` compares them with other settings on all twenty, held out
        (docs/benchmarks.md: ``prior_scale`` 0.12 scores better but is not shipped yet).

        ``work_long_side``/``flow_preset``: working resolution and DIS preset (0-2);
        ``colour_weight``: weight of the colour log-ratio against the motion prior, clipped to
        ``[-colour_floor, colour_cap]`` (colour may cut more than it adds);
        ``colour_adapt``: how fast the colour model follows confident frames, ``colour_anchor``:
        the anchor's share of the colour model against that running average;
        ``prior_gain``/``prior_scale``: the prior's log-odds are ``prior_gain`` per
        ``prior_scale`` × object size of signed distance to the warped outline;
        ``guide_radius``/``guide_eps``: guided filter that snaps the warped mask to edges
        (radius 0 turns it off); ``lost_fraction``: below this fraction of its last good area
        the object is lost; ``min_likeness``: a propagated mask whose colour mix is less like
        the anchor's (Bhattacharyya) is dropped as lost, and so is one whose area exceeds
        ``max_growth`` × its last good area (off by default: 3 lost 0.02 J&F on DAVIS-2016);
        ``found_likeness``: a blob must be at
        least this like the anchor to bring a lost object back; ``outside_gain``: extra
        steepness of the prior outside the warped outline (above 1 it resists leaking into
        look-alike surroundings but loses fast-moving parts: on DAVIS-2016, 2 gave boat +0.15 J,
        tennis -0.2 J); ``drift_scale``: the reported confidence is multiplied by
        ``exp(-|drift| / drift_scale)``, where drift is the log of the area change since the
        anchor that the flow did not explain (``inf`` turns this off; on DAVIS-2016, 3 raises the
        flags' recall of frames with J < 0.5 from 53 to 79 of 102, and their false alarms on
        frames with J >= 0.5 from 8 to 52 of 304 non-empty ones).
        """
        self.colour_weight = colour_weight
        self.colour_cap = colour_cap
        self.colour_floor = colour_floor
        self.colour_adapt = colour_adapt
        self.colour_anchor = colour_anchor
        self.prior_gain = prior_gain
        self.prior_scale = prior_scale
        self.guide_radius = guide_radius
        self.guide_eps = guide_eps
        self.lost_fraction = lost_fraction
        self.min_likeness = min_likeness
        self.max_growth = max_growth
        self.found_likeness = found_likeness
        self.outside_gain = outside_gain
        self.drift_scale = drift_scale
        self._index_cache: tuple[int, np.ndarray] | None = None
        super().__init__(work_long_side, flow_preset)

    # -- state -----------------------------------------------------------------------------
    def _forget_all(self) -> None:
        self._tracks: dict[int, _Track] = {}
        self._index_cache = None

    def _forget(self, obj_id: int) -> None:
        self._tracks.pop(obj_id, None)

    def _state_bytes(self) -> int:
        return sum(t.nbytes() for t in self._tracks.values())

    def get_state(self) -> dict:
        """Everything the next step depends on, as plain data (copies of the arrays)."""
        tracks = {}
        for obj_id, t in self._tracks.items():
            colour = {k: _copy(v) for k, v in vars(t.colour).items()}
            tracks[obj_id] = {"prev": t.prev.copy(), "ref_area": t.ref_area, "lost": t.lost,
                              "drift": t.drift, "colour": colour}
        return {"engine": "fallback", "version": 1, "shape": self._shape,
                "work_size": self._work_size, "index": self._index,
                "prev_gray": _copy(self._prev_gray), "objects": set(self._objects),
                "tracks": tracks}

    def set_state(self, state: dict) -> None:
        """Continue from a :meth:`get_state` (ValueError: not a state of this engine)."""
        if not isinstance(state, dict) or state.get("engine") != "fallback" \
                or state.get("version") != 1:
            raise ValueError("not a state of the fallback propagator (version 1)")
        self.reset()
        shape, work = state["shape"], state["work_size"]
        self._shape = None if shape is None else (int(shape[0]), int(shape[1]))
        self._work_size = None if work is None else (int(work[0]), int(work[1]))
        self._index = int(state["index"])
        self._prev_gray = _copy(state["prev_gray"])
        self._objects = {int(o) for o in state["objects"]}
        for obj_id, t in state["tracks"].items():
            colour = ColourModel.__new__(ColourModel)
            colour.__dict__.update({k: _copy(v) for k, v in t["colour"].items()})
            self._tracks[int(obj_id)] = _Track(prev=np.asarray(t["prev"], np.float32).copy(),
                                               colour=colour, ref_area=float(t["ref_area"]),
                                               lost=bool(t["lost"]), drift=float(t["drift"]))

    def _colours(self, ctx: FrameContext) -> np.ndarray:
        if self._index_cache is None or self._index_cache[0] != ctx.index:
            self._index_cache = (ctx.index, colour_index(ctx.rgb))
        return self._index_cache[1]

    @staticmethod
    def _size(area: float) -> float:
        return float(np.sqrt(max(area, 1.0)))

    def _band(self, mask: np.ndarray, area: float) -> np.ndarray:
        return local_band(mask, max(3.0, 0.5 * self._size(area)))

    # -- hooks -----------------------------------------------------------------------------
    def _learn(self, obj_id: int, ctx: FrameContext, mask: np.ndarray, prob: np.ndarray) -> None:
        work_mask = prob > 0.5
        area = float(work_mask.sum())
        track = _Track(prev=prob.astype(np.float32), colour=ColourModel(adapt=self.colour_adapt,
                                                              anchor_weight=self.colour_anchor))
        track.colour.learn_anchor(self._colours(ctx), work_mask, self._band(work_mask, area))
        track.ref_area = area
        track.lost = area == 0
        self._tracks[obj_id] = track

    def _predict(self, obj_id: int, ctx: FrameContext) -> np.ndarray:
        assert ctx.flow is not None
        track = self._tracks[obj_id]
        index = self._colours(ctx)
        ratio = self.colour_weight * track.colour.log_ratio(index)
        if track.lost:
            return self._search(track, index, ratio)
        warped = warp(track.prev, ctx.flow)
        if self.guide_radius:
            warped = _snap(ctx.rgb, warped, self.guide_radius, self.guide_eps)
        inside = warped > 0.5
        if not inside.any():
            track.lost = True  # carried out of the frame
            return np.zeros_like(warped)
        scale = max(1.5, self.prior_scale * self._size(track.ref_area))
        sd = _signed_distance(inside)
        logits = self.prior_gain / scale * np.where(sd < 0, self.outside_gain * sd, sd)
        logits += np.clip(ratio, -self.colour_floor, self.colour_cap)
        prob = _sigmoid(cv2.GaussianBlur(logits, (0, 0), 1.0))
        kept = prob > 0.5
        if track.colour.likeness(index, kept) < self.min_likeness \
                or np.count_nonzero(kept) > self.max_growth * track.ref_area:
            track.lost = True  # the flow has carried the mask onto something else
            return np.zeros_like(prob)
        return prob

    def _search(self, track: _Track, index: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        """Look for a lost object anywhere in the frame: object-coloured blobs of a plausible
        size whose colour mix is like the anchor's."""
        smooth = cv2.GaussianBlur(ratio, (0, 0), 2.0)
        candidate = (smooth > 1.0).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=8)
        best, best_score = 0, self.found_likeness
        for k in range(1, n):
            area = stats[k, cv2.CC_STAT_AREA]
            if not self.lost_fraction * track.ref_area <= area <= 3 * track.ref_area:
                continue
            score = track.colour.likeness(index, labels == k)
            if score > best_score:
                best, best_score = k, score
        prob = np.zeros(ratio.shape, np.float32)
        if best:
            prob[labels == best] = 0.9
        return prob

    def _commit(self, obj_id: int, ctx: FrameContext, prob: np.ndarray, mask: np.ndarray) -> float:
        track = self._tracks[obj_id]
        work_prev = track.prev
        track.prev = self._to_work(mask.astype(np.float32))
        work_mask = track.prev > 0.5
        area = float(work_mask.sum())
        if area < self.lost_fraction * track.ref_area or area < 4:
            track.lost = True
            return 0.0
        was_lost, track.lost = track.lost, False
        index = self._colours(ctx)
        decided = float(np.mean(np.abs(2 * prob[work_mask] - 1)))
        if was_lost or ctx.flow is None:
            agree = 0.5  # re-detected: not confirmed by motion
            track.drift = 0.0
        else:
            predicted = warp(work_prev, ctx.flow) > 0.5
            union = np.count_nonzero(predicted | work_mask)
            agree = np.count_nonzero(predicted & work_mask) / union if union else 1.0
            track.drift += float(np.log(area / max(np.count_nonzero(predicted), 1)))
        likeness = track.colour.likeness(index, work_mask)
        alike = float(np.clip((likeness - self.min_likeness) / (1 - self.min_likeness), 0, 1))
        confidence = agree * decided * alike
        if confidence > 0.6:
            track.colour.update(index, work_mask, self._band(work_mask, area))
            track.ref_area = 0.8 * track.ref_area + 0.2 * area
        # A mask that keeps growing (or shrinking) beyond what the motion explains is leaking.
        return float(confidence * np.exp(-abs(track.drift) / self.drift_scale))
