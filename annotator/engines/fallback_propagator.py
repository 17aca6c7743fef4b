"""Weight-free fallback propagator: optical flow carries the mask, a colour model corrects it.

Per frame and object, at a reduced working resolution:

1. **Motion prior.** The previous frame's final mask is warped along dense DIS optical flow
   (current → previous) and blurred in proportion to the object's size, giving a soft prior on
   where the object is now.
2. **Appearance.** A :class:`~annotator.engines.appearance.ColourModel` (object vs. a band of
   surroundings, learnt from the anchor and updated from confident frames) gives every pixel a
   colour log-likelihood ratio.
3. **Fusion.** Prior log-odds + weighted colour log-ratio, smoothed, give the object's
   probability; masks of all objects are made exclusive (argmax over background and objects).
4. **Lost and found.** When the mask shrinks to (almost) nothing the object is marked lost; while
   lost, the whole frame is searched with the colour model and a blob that looks enough like the
   object (contrast and size close to the last good view) brings it back.

Confidence is the agreement between what the flow predicted and what the fusion kept, times how
decided the kept pixels are. Memory: the previous grey frame, one working-size map per object and
fixed-size histograms — independent of the run's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from annotator.engines.appearance import ColourModel, colour_index, local_band
from annotator.engines.flow import FlowEngine, FrameContext, warp

__all__ = ["FallbackPropagator"]


def _logit(p: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    p = np.clip(p, eps, 1 - eps)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))).astype(np.float32)


@dataclass
class _Track:
    """What the engine remembers about one object."""

    prev: np.ndarray  # working-size float32 mask of the last frame
    colour: ColourModel = field(default_factory=ColourModel)
    ref_area: float = 0.0  # area (working pixels) of the last good view
    lost: bool = False

    def nbytes(self) -> int:
        return self.prev.nbytes + self.colour.nbytes()


class FallbackPropagator(FlowEngine):
    """Optical flow + colour model propagation (no model weights); see the module docstring."""

    name = "fallback (optical flow + colour model)"

    def __init__(
        self,
        work_long_side: int | None = 480,
        flow_preset: int = 1,
        colour_weight: float = 0.5,
        prior_blur: float = 0.08,
        lost_fraction: float = 0.05,
    ) -> None:
        """``colour_weight`` scales the colour log-ratio against the motion prior;
        ``prior_blur`` is the prior's blur as a fraction of the object's size;
        ``lost_fraction``: the object counts as lost below this fraction of its last good area.
        """
        self.colour_weight = colour_weight
        self.prior_blur = prior_blur
        self.lost_fraction = lost_fraction
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

    def _colours(self, ctx: FrameContext) -> np.ndarray:
        if self._index_cache is None or self._index_cache[0] != ctx.index:
            self._index_cache = (ctx.index, colour_index(ctx.rgb))
        return self._index_cache[1]

    @staticmethod
    def _size(area: float) -> float:
        return float(np.sqrt(max(area, 1.0)))

    # -- hooks -----------------------------------------------------------------------------
    def _learn(self, obj_id: int, ctx: FrameContext, mask: np.ndarray, prob: np.ndarray) -> None:
        work_mask = prob > 0.5
        track = _Track(prev=prob.astype(np.float32))
        area = float(work_mask.sum())
        band = local_band(work_mask, max(3, 0.5 * self._size(area)))
        track.colour.learn_anchor(self._colours(ctx), work_mask, band)
        track.ref_area = area
        self._tracks[obj_id] = track

    def _predict(self, obj_id: int, ctx: FrameContext) -> np.ndarray:
        assert ctx.flow is not None
        track = self._tracks[obj_id]
        ratio = self.colour_weight * track.colour.log_ratio(self._colours(ctx))
        if track.lost:
            return self._search(track, ratio)
        warped = warp(track.prev, ctx.flow)
        sigma = max(1.0, self.prior_blur * self._size(track.ref_area))
        prior = cv2.GaussianBlur(warped, (0, 0), sigma)
        logits = _logit(prior) + ratio
        logits = cv2.GaussianBlur(logits, (0, 0), 1.0)
        return _sigmoid(logits)

    def _search(self, track: _Track, ratio: np.ndarray) -> np.ndarray:
        """Look for a lost object anywhere in the frame with the colour model alone."""
        smooth = cv2.GaussianBlur(ratio, (0, 0), 2.0)
        candidate = (smooth > 1.0).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=8)
        best, best_score = 0, 0.0
        for k in range(1, n):
            area = stats[k, cv2.CC_STAT_AREA]
            if area < self.lost_fraction * track.ref_area or area > 3 * track.ref_area:
                continue
            score = float(smooth[labels == k].mean())
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
        decided = float(np.mean(np.abs(2 * prob[work_mask] - 1)))
        if was_lost or ctx.flow is None:
            confidence = 0.5 * decided
        else:
            predicted = warp(work_prev, ctx.flow) > 0.5
            union = np.count_nonzero(predicted | work_mask)
            agree = np.count_nonzero(predicted & work_mask) / union if union else 1.0
            confidence = agree * decided
        if confidence > 0.6:
            band = local_band(work_mask, max(3, 0.5 * self._size(area)))
            track.colour.update(self._colours(ctx), work_mask, band)
            track.ref_area = 0.8 * track.ref_area + 0.2 * area
        return float(confidence)
