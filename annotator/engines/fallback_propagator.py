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


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the mask's boundary in pixels: positive inside, negative outside."""
    m = mask.astype(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return inside - outside


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))).astype(np.float32)


def _grabcut(
    rgb: np.ndarray, prob: np.ndarray, sd: np.ndarray, scale: float, iters: int
) -> np.ndarray:
    """Snap the fused mask to image edges with GrabCut inside a band around its boundary."""
    fg = prob > 0.5
    if not fg.any():
        return prob
    gc = np.where(fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    gc[(sd > 2 * scale) & fg] = cv2.GC_FGD
    gc[(sd < -3 * scale) & ~fg] = cv2.GC_BGD
    ys, xs = np.nonzero(gc != cv2.GC_BGD)
    pad = int(2 * scale) + 2
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, rgb.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, rgb.shape[1])
    roi = np.ascontiguousarray(gc[y0:y1, x0:x1])
    if not (roi == cv2.GC_BGD).any() and not (roi == cv2.GC_PR_BGD).any():
        return prob
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(
            np.ascontiguousarray(rgb[y0:y1, x0:x1]), roi, None, bgd, fgd, iters,
            cv2.GC_INIT_WITH_MASK,
        )
    except cv2.error:
        return prob
    out = np.zeros_like(prob)
    out[y0:y1, x0:x1] = ((roi == cv2.GC_FGD) | (roi == cv2.GC_PR_FGD)).astype(np.float32)
    return (0.8 * out + 0.2 * prob).astype(np.float32)


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
        prior_gain: float = 2.0,
        bias: float = 0.0,
        deadzone: float = 0.0,
        grabcut_iters: int = 0,
        lost_fraction: float = 0.05,
        min_similarity: float = 0.5,
        found_similarity: float = 0.9,
        colour_adapt: float = 0.2,
    ) -> None:
        """``colour_weight`` scales the colour log-ratio against the motion prior;
        ``prior_blur`` is the prior's blur as a fraction of the object's size;
        ``lost_fraction``: the object counts as lost below this fraction of its last good area.
        """
        self.colour_weight = colour_weight
        self.prior_blur = prior_blur
        self.prior_gain = prior_gain
        self.bias = bias
        self.deadzone = deadzone
        self.grabcut_iters = grabcut_iters
        self.colour_adapt = colour_adapt
        self.lost_fraction = lost_fraction
        self.min_similarity = min_similarity
        self.found_similarity = found_similarity
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
        track = _Track(prev=prob.astype(np.float32), colour=ColourModel(adapt=self.colour_adapt))
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
            return self._search(track, ctx, ratio)
        warped = warp(track.prev, ctx.flow)
        scale = max(1.5, self.prior_blur * self._size(track.ref_area))
        if self.deadzone:
            ratio = np.sign(ratio) * np.maximum(np.abs(ratio) - self.deadzone, 0)
        sd = _signed_distance(warped > 0.5)
        logits = self.prior_gain * sd / scale + ratio - self.bias
        prob = _sigmoid(cv2.GaussianBlur(logits, (0, 0), 1.0))
        if self.grabcut_iters:
            prob = _grabcut(ctx.rgb, prob, sd, scale, self.grabcut_iters)
        if track.colour.similarity(self._colours(ctx), prob > 0.5) < self.min_similarity:
            track.lost = True  # the flow has carried the mask onto something else
            return np.zeros_like(prob)
        return prob

    def _search(self, track: _Track, ctx: FrameContext, ratio: np.ndarray) -> np.ndarray:
        """Look for a lost object anywhere in the frame with the colour model alone."""
        smooth = cv2.GaussianBlur(ratio, (0, 0), 2.0)
        candidate = (smooth > 1.0).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=8)
        best, best_score = 0, 0.0
        index = self._colours(ctx)
        for k in range(1, n):
            area = stats[k, cv2.CC_STAT_AREA]
            if area < self.lost_fraction * track.ref_area or area > 3 * track.ref_area:
                continue
            blob = labels == k
            score = track.colour.similarity(index, blob)
            if score > max(best_score, self.found_similarity):
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
        confidence *= track.colour.similarity(self._colours(ctx), work_mask)
        if confidence > 0.6:
            band = local_band(work_mask, max(3, 0.5 * self._size(area)))
            track.colour.update(self._colours(ctx), work_mask, band)
            track.ref_area = 0.8 * track.ref_area + 0.2 * area
        return float(confidence)
