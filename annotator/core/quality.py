"""Quality measures for masks: evaluation metrics and the per-frame signals behind flags.

Everything here is a pure function of NumPy masks (``bool`` arrays, H×W) and plain numbers;
nothing is imported from ``engines``, ``pipeline`` or ``gui``.

Two families live here:

* **Evaluation** against a reference mask, with the DAVIS conventions:
  :func:`region_similarity` (J, IoU; two empty masks score 1) and :func:`boundary_f_measure`
  (F, boundary precision/recall within ``bound_th`` × the image diagonal).
* **Flag signals** computed on a propagated track without ground truth: :func:`area_jump`,
  :func:`centroid_jump`, :func:`is_lost`, :func:`is_whole_frame`, :func:`is_low_confidence` and
  :func:`iou_disagreement` (e.g. between the XMem mask and its SAM refinement).
  :func:`frame_flags` combines them with :class:`FlagThresholds` into the names of the flags a
  frame raises (``"lost"``, ``"area_jump"``, ``"centroid_jump"``, ``"whole_frame"``,
  ``"low_confidence"``, ``"disagreement"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "FlagThresholds",
    "area_jump",
    "boundary_f_measure",
    "centroid",
    "centroid_jump",
    "flagged_frames",
    "frame_flags",
    "iou_disagreement",
    "is_lost",
    "is_low_confidence",
    "is_whole_frame",
    "mask_area",
    "region_similarity",
    "seg_to_boundary",
]


def _as_bool(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H×W), got shape {mask.shape}")
    return mask.astype(bool, copy=False)


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"masks differ in size: {a.shape} vs {b.shape}; resize or pad one first")


def mask_area(mask: np.ndarray) -> int:
    """Number of foreground pixels."""
    return int(np.count_nonzero(_as_bool(mask)))


def region_similarity(pred: np.ndarray, gt: np.ndarray) -> float:
    """J: intersection over union; two empty masks count as a perfect 1.0 (DAVIS convention)."""
    pred, gt = _as_bool(pred), _as_bool(gt)
    _same_shape(pred, gt)
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(pred & gt) / union)


def seg_to_boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary map of a mask, as DAVIS's ``seg2bmap`` computes it (same size)."""
    seg = _as_bool(mask)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    bmap[-1, :] = seg[-1, :] ^ east[-1, :]
    bmap[:, -1] = seg[:, -1] ^ south[:, -1]
    bmap[-1, -1] = False
    return bmap


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def boundary_f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> float:
    """F: DAVIS boundary F-measure.

    Boundary pixels match when they lie within ``bound_th`` × the image diagonal (rounded up)
    of the other mask's boundary; ``bound_th >= 1`` is taken as a distance in pixels.
    Two empty masks score 1, one empty mask scores 0.
    """
    pred, gt = _as_bool(pred), _as_bool(gt)
    _same_shape(pred, gt)
    bound_pix = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*gt.shape))
    pred_b = seg_to_boundary(pred)
    gt_b = seg_to_boundary(gt)
    n_pred = np.count_nonzero(pred_b)
    n_gt = np.count_nonzero(gt_b)
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    kernel = _disk(int(bound_pix))
    pred_dil = cv2.dilate(pred_b.astype(np.uint8), kernel).astype(bool)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel).astype(bool)
    precision = np.count_nonzero(pred_b & gt_dil) / n_pred
    recall = np.count_nonzero(gt_b & pred_dil) / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def centroid(mask: np.ndarray) -> tuple[float, float] | None:
    """(x, y) centre of mass of the mask, or ``None`` when it is empty."""
    ys, xs = np.nonzero(_as_bool(mask))
    if xs.size == 0:
        return None
    return float(xs.mean()), float(ys.mean())


def area_jump(prev: np.ndarray, cur: np.ndarray) -> float:
    """Relative change of area between consecutive masks, in [0, 1].

    ``|a1 - a0| / max(a0, a1)``: 0 for equal areas, 0.5 when the area halves or doubles, 1 when
    one of them is empty; 0 when both are empty.
    """
    a0, a1 = mask_area(prev), mask_area(cur)
    if max(a0, a1) == 0:
        return 0.0
    return abs(a1 - a0) / max(a0, a1)


def centroid_jump(prev: np.ndarray, cur: np.ndarray) -> float:
    """Distance between the centroids of consecutive masks, as a fraction of the object's size.

    The size is the square root of the larger of the two areas, so a jump of 1.0 means the
    object moved by about its own width. 0 when either mask is empty (that is a "lost" case).
    """
    c0, c1 = centroid(prev), centroid(cur)
    if c0 is None or c1 is None:
        return 0.0
    size = math.sqrt(max(mask_area(prev), mask_area(cur)))
    return math.hypot(c1[0] - c0[0], c1[1] - c0[1]) / size


def is_lost(
    mask: np.ndarray,
    reference_area: float | None = None,
    min_fraction_of_frame: float = 0.0005,
    min_fraction_of_reference: float = 0.02,
) -> bool:
    """Empty or near-empty mask.

    Lost when the area is below ``min_fraction_of_frame`` of the frame, or below
    ``min_fraction_of_reference`` of ``reference_area`` (e.g. the anchor's area) when given.
    """
    area = mask_area(mask)
    limit = min_fraction_of_frame * mask.size
    if reference_area is not None:
        limit = max(limit, min_fraction_of_reference * reference_area)
    return area < limit


def is_whole_frame(mask: np.ndarray, max_fraction: float = 0.9) -> bool:
    """The mask covers (almost) the whole frame: a typical runaway of propagation."""
    return mask_area(mask) > max_fraction * mask.size


def is_low_confidence(confidence: float, threshold: float = 0.5) -> bool:
    """The engine's own confidence for the mask is below ``threshold``."""
    return confidence < threshold


def iou_disagreement(a: np.ndarray, b: np.ndarray) -> float:
    """1 − IoU between two masks of the same frame (0: identical, 1: disjoint)."""
    return 1.0 - region_similarity(a, b)


@dataclass(frozen=True)
class FlagThresholds:
    """Where each flag signal starts to count as a failure."""

    area_jump: float = 0.5
    centroid_jump: float = 0.5
    low_confidence: float = 0.5
    disagreement: float = 0.5
    whole_frame: float = 0.9
    lost_fraction_of_frame: float = 0.0005
    lost_fraction_of_reference: float = 0.02


def frame_flags(
    mask: np.ndarray,
    prev_mask: np.ndarray | None = None,
    confidence: float | None = None,
    reference_area: float | None = None,
    other_mask: np.ndarray | None = None,
    thresholds: FlagThresholds | None = None,
) -> list[str]:
    """Names of the flags one (object, frame) raises; an empty list when it looks fine.

    ``prev_mask`` is the same object's mask on the previous frame (for jumps), ``confidence`` the
    engine's confidence, ``reference_area`` the anchor's area (for "lost"), ``other_mask`` a
    second opinion on the same frame (for "disagreement"). Missing inputs skip their checks.
    Jumps are not reported when either mask is lost: "lost" says it already.
    """
    t = thresholds or FlagThresholds()
    mask = _as_bool(mask)
    flags: list[str] = []
    lost = is_lost(mask, reference_area, t.lost_fraction_of_frame, t.lost_fraction_of_reference)
    if lost:
        flags.append("lost")
    if is_whole_frame(mask, t.whole_frame):
        flags.append("whole_frame")
    if prev_mask is not None and not lost:
        prev_mask = _as_bool(prev_mask)
        _same_shape(prev_mask, mask)
        prev_lost = is_lost(
            prev_mask, reference_area, t.lost_fraction_of_frame, t.lost_fraction_of_reference
        )
        if not prev_lost:
            if area_jump(prev_mask, mask) > t.area_jump:
                flags.append("area_jump")
            if centroid_jump(prev_mask, mask) > t.centroid_jump:
                flags.append("centroid_jump")
    if confidence is not None and is_low_confidence(confidence, t.low_confidence):
        flags.append("low_confidence")
    if other_mask is not None and iou_disagreement(mask, _as_bool(other_mask)) > t.disagreement:
        flags.append("disagreement")
    return flags


def flagged_frames(flags_per_frame: Sequence[Sequence[str]]) -> list[int]:
    """Indices of the frames that raised at least one flag."""
    return [i for i, flags in enumerate(flags_per_frame) if flags]
