"""Colour guided filter (He, Sun & Tang, 2010): edge-aware smoothing of a map by an image.

Filtering a warped mask with the current frame as the guide pulls its soft edges onto the
frame's colour edges — the "snap to the object's outline" step of the fallback propagator.
Box filters only, so it costs a few passes over the image whatever the radius.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["guided_filter"]


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Filter ``src`` (H×W float32) guided by ``guide`` (H×W×3 float32 in [0, 1]).

    ``radius``: window half-size in pixels; ``eps``: regularisation (larger → smoother, less
    edge-following; ~1e-3..1e-2 for colours in [0, 1]).
    """
    guide = guide.astype(np.float32, copy=False)
    src = src.astype(np.float32, copy=False)
    mean_i = _box(guide, radius)
    mean_p = _box(src, radius)
    cov_ip = _box(guide * src[..., None], radius) - mean_i * mean_p[..., None]
    var = {}
    for a in range(3):
        for b in range(a, 3):
            var[a, b] = (
                _box(guide[..., a] * guide[..., b], radius) - mean_i[..., a] * mean_i[..., b]
            )
            if a == b:
                var[a, b] += eps
    # Inverse of the symmetric 3×3 covariance by cofactors (much faster than a batched solve).
    c00 = var[1, 1] * var[2, 2] - var[1, 2] ** 2
    c01 = var[0, 2] * var[1, 2] - var[0, 1] * var[2, 2]
    c02 = var[0, 1] * var[1, 2] - var[0, 2] * var[1, 1]
    c11 = var[0, 0] * var[2, 2] - var[0, 2] ** 2
    c12 = var[0, 1] * var[0, 2] - var[0, 0] * var[1, 2]
    c22 = var[0, 0] * var[1, 1] - var[0, 1] ** 2
    det = var[0, 0] * c00 + var[0, 1] * c01 + var[0, 2] * c02
    x, y, z = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    coef = (
        np.stack(
            [c00 * x + c01 * y + c02 * z, c01 * x + c11 * y + c12 * z, c02 * x + c12 * y + c22 * z],
            axis=-1,
        )
        / det[..., None]
    )
    offset = mean_p - np.einsum("hwc,hwc->hw", coef, mean_i)
    return np.einsum("hwc,hwc->hw", _box(coef, radius), guide) + _box(offset, radius)
