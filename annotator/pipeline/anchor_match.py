"""The anchor found again: where the object's own features from the anchor frame are now.

A failure signal that asks neither the propagator nor the mask's history: ORB keypoints of the
object on the anchor frame (inside the mask a person gave) are matched in the whole of a later
frame (Lowe's ratio test), a similarity transform (shift, rotation, scale) is fitted to the
matches with RANSAC, and the anchor's mask carried by it is compared with the propagated mask:
``1 − IoU``. A mask that leaked into a reflection, slid onto a look-alike neighbour or kept
only part of the object disagrees with where the object's features say it is, however sure the
propagator was. Where too few of the features are found (the object turned, deformed, is
hidden, or has no texture) there is no answer: the signal is then 0, no evidence either way.

All from OpenCV (``ORB``, ``BFMatcher``, ``estimateAffinePartial2D``), on the frame at the
failure signals' working resolution; about 4 CPU milliseconds per frame measured (the failure
score measures it on every third frame: :data:`annotator.pipeline.failure.REDETECT_EVERY`).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["AnchorKeypoints", "MIN_INLIERS"]

MIN_INLIERS = 12  # matches that agree with the fitted transform; fewer: no answer
ANCHOR_FEATURES = 300  # keypoints kept inside the anchor's mask
#: keypoints looked for in each later frame (the whole frame): 300 gives the bench's figures of
#: 500 for less (200 with a 4-level pyramid: recall down to 0.85)
FRAME_FEATURES = 300
RATIO = 0.8  # Lowe's ratio test
RANSAC_PX = 4.0  # reprojection error (working-resolution pixels) of an agreeing match


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


class AnchorKeypoints:
    """The anchor's keypoints and mask; :meth:`disagreement` with a later frame's mask."""

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        """``image`` (RGB) and ``mask`` (bool) of the anchor, both at working resolution."""
        self.mask = np.ascontiguousarray(mask, dtype=np.uint8)
        self._frame_orb = cv2.ORB_create(nfeatures=FRAME_FEATURES, fastThreshold=10)
        orb = cv2.ORB_create(nfeatures=ANCHOR_FEATURES, fastThreshold=10)
        keys, desc = orb.detectAndCompute(_grey(image), self.mask) if self.mask.any() else ((), None)
        self._points = np.float32([k.pt for k in keys]).reshape(-1, 2)
        self._desc = desc
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)

    def transform(self, image: np.ndarray) -> np.ndarray | None:
        """The 2×3 similarity carrying the anchor frame onto ``image`` (RGB, working
        resolution), or None when fewer than :data:`MIN_INLIERS` matches agree on one."""
        if self._desc is None or len(self._points) < MIN_INLIERS:
            return None
        keys, desc = self._frame_orb.detectAndCompute(_grey(image), None)
        if desc is None or len(keys) < 2:
            return None
        good = [p[0] for p in self._matcher.knnMatch(self._desc, desc, k=2)
                if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
        if len(good) < MIN_INLIERS:
            return None
        src = self._points[[m.queryIdx for m in good]]
        dst = np.float32([keys[m.trainIdx].pt for m in good])
        affine, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                      ransacReprojThreshold=RANSAC_PX)
        if affine is None or int(inliers.sum()) < MIN_INLIERS:
            return None
        return affine

    def disagreement(self, image: np.ndarray, mask: np.ndarray) -> float:
        """1 − IoU of ``mask`` and the anchor's mask carried onto ``image`` (both at working
        resolution); 0 when the anchor's features are not found there."""
        affine = self.transform(image)
        if affine is None:
            return 0.0
        h, w = mask.shape
        carried = cv2.warpAffine(self.mask, affine, (w, h), flags=cv2.INTER_NEAREST).view(bool)
        mask = np.asarray(mask, bool)
        union = np.count_nonzero(carried | mask)
        return 1.0 - np.count_nonzero(carried & mask) / union if union else 0.0
