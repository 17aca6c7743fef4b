"""Colour appearance model of one object against its surroundings (weight-free, bounded).

An object is described by two normalised joint colour histograms (quantised YCrCb, a fixed
number of bins): one of its own pixels and one of the background in a band around it. The
log-ratio of the two at a pixel's colour says how much more object-like than surrounding-like
that colour is. The model keeps the histograms of the last anchor and a running average of
confident propagated frames and mixes the two, so it adapts to lighting changes without
drifting away from what the annotator gave. :meth:`ColourModel.likeness` compares a whole
region's colour mix with the anchor's (Bhattacharyya coefficient): the check that a mask is
still on the object, or that a blob found while the object was lost is the object. Its size
never depends on the run's length.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["ColourModel", "colour_index", "local_band"]

BITS = 4  # bins per channel = 2**BITS


def colour_index(rgb: np.ndarray, bits: int = BITS) -> np.ndarray:
    """Joint histogram bin (int32, H×W) of every pixel's quantised YCrCb colour."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    q = (ycc >> (8 - bits)).astype(np.int32)
    return (q[..., 0] << (2 * bits)) | (q[..., 1] << bits) | q[..., 2]


def local_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of ``mask`` but outside it (bool)."""
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    return (outside > 0) & (outside <= max(1.0, width))


def _histogram(index: np.ndarray, n_bins: int) -> np.ndarray:
    """Normalised histogram of bin indices (float32, sums to 1 unless empty)."""
    hist = np.bincount(index.ravel(), minlength=n_bins).astype(np.float32)
    return hist / max(hist.sum(), 1.0)


class ColourModel:
    """Object-vs-surroundings colour histograms; see the module docstring."""

    def __init__(self, bits: int = BITS, adapt: float = 0.2, anchor_weight: float = 0.5) -> None:
        self.bits = bits
        self.n_bins = 1 << (3 * bits)
        self.adapt = adapt
        self.anchor_weight = anchor_weight
        self._anchor: tuple[np.ndarray, np.ndarray] | None = None
        self._running: tuple[np.ndarray, np.ndarray] | None = None
        self._ratio: np.ndarray | None = None
        self._anchor_coarse: np.ndarray | None = None  # anchor's colours, coarser bins

    def nbytes(self) -> int:
        arrays = [*(self._anchor or ()), *(self._running or ())]
        arrays += [a for a in (self._ratio, self._anchor_coarse) if a is not None]
        return sum(a.nbytes for a in arrays)

    def _measure(
        self, index: np.ndarray, mask: np.ndarray, band: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if not mask.any() or not band.any():
            return None
        return _histogram(index[mask], self.n_bins), _histogram(index[band], self.n_bins)

    def learn_anchor(self, index: np.ndarray, mask: np.ndarray, band: np.ndarray) -> None:
        """Start again from an anchor mask (``band``: the surroundings to contrast with)."""
        measured = self._measure(index, mask, band)
        if measured is None:
            return
        self._anchor = measured
        self._running = measured
        self._update_ratio()
        self._anchor_coarse = self._coarse(index, mask)

    def update(self, index: np.ndarray, mask: np.ndarray, band: np.ndarray) -> None:
        """Blend in a confidently propagated frame."""
        if self._running is None:
            return self.learn_anchor(index, mask, band)
        measured = self._measure(index, mask, band)
        if measured is None:
            return
        a = self.adapt
        self._running = tuple((1 - a) * r + a * m for r, m in zip(self._running, measured))
        self._update_ratio()

    def _update_ratio(self) -> None:
        assert self._anchor is not None and self._running is not None
        w = self.anchor_weight
        fg, bg = ((w * a + (1 - w) * r) for a, r in zip(self._anchor, self._running))
        self._ratio = self._log_ratio(fg, bg)

    def _log_ratio(self, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
        eps = 0.1 / self.n_bins
        return np.log((fg + eps) / (bg + eps)).astype(np.float32)

    def _coarse(self, index: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b = self.bits
        coarse_bits = b - 1
        idx = index[mask]
        y, cr, cb = idx >> (2 * b), (idx >> b) & ((1 << b) - 1), idx & ((1 << b) - 1)
        coarse = ((y >> 1) << (2 * coarse_bits)) | ((cr >> 1) << coarse_bits) | (cb >> 1)
        return _histogram(coarse, 1 << (3 * coarse_bits))

    def likeness(self, index: np.ndarray, mask: np.ndarray) -> float:
        """Bhattacharyya coefficient of ``mask``'s colour distribution and the anchor's, in [0, 1].

        It asks whether the region has the anchor's *mix* of colours, not merely object-like
        colours: a red banner is not a rider in a red helmet. Compared on coarser bins (one bit
        less per channel) so that small regions are not penalised for sparse histograms.
        """
        if self._anchor_coarse is None or not mask.any():
            return 0.0
        return float(np.sum(np.sqrt(self._coarse(index, mask) * self._anchor_coarse)))

    def log_ratio(self, index: np.ndarray) -> np.ndarray:
        """Per-pixel log(P(colour | object) / P(colour | surroundings)), float32."""
        if self._ratio is None:
            return np.zeros(index.shape, np.float32)
        return self._ratio[index]
