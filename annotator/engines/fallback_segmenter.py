"""A weight-free point-prompt segmenter: marker watershed + GrabCut, seeded by the clicks.

Used when no SAM checkpoint is present, so the app always opens and works. Same interface as
``SamSegmenter`` (see ``segmenter.py``); its name says what it is wherever engines are shown.

How it segments (on a copy of the frame whose long side is at most ``work_size``):
1. Markers: a small disk at each positive click is object, at each negative click background;
   the frame's outer ring (outside the box, when one is given) is background.
2. A marker-controlled watershed (OpenCV) floods the frame from those markers: every pixel goes
   to the marker it reaches across the weakest edges. Each new click at the middle of a wrong
   region therefore claims that region up to its edges — clicks always make progress.
3. GrabCut (OpenCV) then refines the watershed result with colour models and a smoothness term:
   the watershed's object pixels start as "probable object", the rest as "probable background",
   the click disks are fixed. GrabCut's result is kept only where it stays close to the
   watershed, and object parts not connected to a positive click are dropped.
4. The mask is scaled back to the frame's size along a smooth edge.

The three candidates of ``multimask`` are: the refined mask, the watershed mask and the GrabCut
mask; scores are a fixed preference order (the fallback has no quality estimator).
"""

from __future__ import annotations

import cv2
import numpy as np

from annotator.engines.segmenter import (
    LOW_RES,
    SegmentResult,
    check_frame,
    check_prompts,
    frame_key,
)

FALLBACK_NAME = "Fallback segmenter (watershed + GrabCut, no SAM weights)"


class FallbackSegmenter:
    """Classical, weight-free segmenter with the ``Segmenter`` interface."""

    is_fallback = True

    def __init__(self, work_size: int = 480, grabcut_iterations: int = 2) -> None:
        self.name = FALLBACK_NAME
        self.work_size = int(work_size)
        self.grabcut_iterations = int(grabcut_iterations)
        self._frame: np.ndarray | None = None
        self._key: str | None = None
        self._work: np.ndarray | None = None  # smoothed BGR frame at working size
        self._scale = 1.0

    # -- Segmenter interface -------------------------------------------------------------
    def embed(self, frame: np.ndarray, key: str | None = None) -> str:
        check_frame(frame)
        key = key or frame_key(frame)
        if key == self._key and self._work is not None:
            return "memory"
        h, w = frame.shape[:2]
        self._scale = min(1.0, self.work_size / max(h, w))
        size = (max(1, round(w * self._scale)), max(1, round(h * self._scale)))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if self._scale < 1 else frame
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        # Edge-preserving smoothing removes texture the watershed would otherwise stop at.
        self._work = cv2.bilateralFilter(bgr, 5, 40, 5)
        self._frame = frame
        self._key = key
        return "computed"

    def precompute(self, frame: np.ndarray, key: str | None = None) -> bool:
        """Nothing to precompute: ``embed`` takes a few milliseconds."""
        return False

    def predict(
        self,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None = None,
        mask_logits: np.ndarray | None = None,
        multimask: bool = True,
    ) -> SegmentResult:
        if self._work is None or self._frame is None:
            raise RuntimeError("call embed(frame) before predict")
        points, labels, box = check_prompts(points, labels, box)
        work = self._work
        hw, ww = work.shape[:2]
        H, W = self._frame.shape[:2]
        s = self._scale

        markers = np.zeros((hw, ww), np.int32)
        radius = max(2, round(0.006 * max(hw, ww)))
        outside = np.zeros((hw, ww), bool)
        if box is not None:
            x0, y0, x1, y1 = (np.asarray(box, np.float64) * s).round().astype(int)
            x0, x1 = sorted((np.clip(x0, 0, ww - 1), np.clip(x1, 0, ww - 1)))
            y0, y1 = sorted((np.clip(y0, 0, hw - 1), np.clip(y1, 0, hw - 1)))
            outside[:] = True
            outside[y0 : y1 + 1, x0 : x1 + 1] = False
            ring = np.zeros((hw, ww), bool)
            ring[max(0, y0 - 1) : y1 + 2, max(0, x0 - 1) : x1 + 2] = True
            ring[y0 : y1 + 1, x0 : x1 + 1] = False
            markers[outside] = 1
            if points is None or not (labels > 0).any():
                cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
                cv2.circle(markers, (int(cx), int(cy)), radius, 2, -1)
        else:
            markers[0, :] = markers[-1, :] = 1
            markers[:, 0] = markers[:, -1] = 1
        prior = None
        if mask_logits is not None:
            logits = np.asarray(mask_logits, np.float32).reshape(-1, LOW_RES, LOW_RES)[0]
            prior = _from_low_res(logits, (hw, ww), self._frame.shape[:2]) > 0
        pos_disks = np.zeros((hw, ww), np.uint8)
        neg_disks = np.zeros((hw, ww), np.uint8)
        if points is not None:
            for (x, y), lab in zip(points * s, labels):
                c = (int(np.clip(round(x), 0, ww - 1)), int(np.clip(round(y), 0, hw - 1)))
                cv2.circle(pos_disks if lab > 0 else neg_disks, c, radius, 1, -1)
        markers[neg_disks > 0] = 1
        markers[pos_disks > 0] = 2
        if not (markers == 2).any():
            empty = np.zeros((1, H, W), bool)
            return self._result(empty, multimask)

        ws = markers.copy()
        cv2.watershed(work, ws)
        ws_fg = ws == 2
        # watershed marks the lines between regions with -1: give them to their majority
        lines = ws == -1
        if lines.any():
            dil = cv2.dilate(ws_fg.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            ws_fg = ws_fg | (lines & dil & _majority(ws_fg))

        gc = self._grabcut(work, ws_fg, pos_disks, neg_disks, outside, prior)
        # keep GrabCut where it refines the watershed's edges, not where it leaks away
        band = _band(ws_fg, max(3, 3 * radius))
        refined = np.where(band, gc, ws_fg)
        refined = _connected_to(refined, pos_disks > 0)
        refined[neg_disks > 0] = False
        refined[pos_disks > 0] = True
        refined[outside] = False

        cands = [refined, ws_fg, _connected_to(gc, pos_disks > 0)]
        full = np.stack([_upscale(c, (H, W)) for c in cands])
        return self._result(full, multimask)

    # -- helpers -----------------------------------------------------------------------------
    def _grabcut(
        self,
        work: np.ndarray,
        ws_fg: np.ndarray,
        pos: np.ndarray,
        neg: np.ndarray,
        outside: np.ndarray,
        prior: np.ndarray | None,
    ) -> np.ndarray:
        if self.grabcut_iterations <= 0 or ws_fg.all() or not ws_fg.any():
            return ws_fg.copy()
        gcm = np.where(ws_fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        if prior is not None:
            gcm[prior & ~ws_fg] = cv2.GC_PR_FGD
        gcm[outside] = cv2.GC_BGD
        gcm[neg > 0] = cv2.GC_BGD
        gcm[pos > 0] = cv2.GC_FGD
        bgd = np.zeros((1, 65), np.float64)
        fgd = np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(work, gcm, None, bgd, fgd, self.grabcut_iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:  # degenerate colour models (e.g. a flat frame)
            return ws_fg.copy()
        return (gcm == cv2.GC_FGD) | (gcm == cv2.GC_PR_FGD)

    def _result(self, masks: np.ndarray, multimask: bool) -> SegmentResult:
        if not multimask:
            masks = masks[:1]
        k = len(masks)
        scores = np.linspace(1.0, 0.8, num=3, dtype=np.float32)[:k] if k > 1 else np.ones(1, np.float32)
        if not masks[0].any():
            scores = np.zeros(k, np.float32)
        logits = np.stack([_to_low_res(m) for m in masks])
        return SegmentResult(masks=masks, scores=scores, low_res_logits=logits, engine=self.name)


def _majority(fg: np.ndarray) -> np.ndarray:
    """Pixels where most of the 3×3 neighbourhood is object."""
    return cv2.blur(fg.astype(np.float32), (3, 3)) >= 0.5


def _band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of the mask's boundary."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    m = mask.astype(np.uint8)
    return (cv2.dilate(m, k) - cv2.erode(m, k)) > 0


def _connected_to(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that touch a seed pixel."""
    if not seeds.any():
        return mask
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.unique(lab[seeds & mask])
    keep = keep[keep > 0]
    return np.isin(lab, keep)


def _upscale(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    H, W = size
    if mask.shape == (H, W):
        return mask.copy()
    soft = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)
    return cv2.resize(soft, (W, H), interpolation=cv2.INTER_LINEAR) >= 0.5


def _to_low_res(mask: np.ndarray) -> np.ndarray:
    """A 256×256 pseudo-logit map of a mask (±8 saturated), laid out as SAM's low-res logits:
    the frame scaled so its long side is 256, padded at the bottom/right."""
    h, w = mask.shape
    s = LOW_RES / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = cv2.resize(mask.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.full((LOW_RES, LOW_RES), -8.0, np.float32)
    out[:nh, :nw] = (small - 0.5) * 16.0
    return out


def _from_low_res(logits: np.ndarray, size: tuple[int, int], frame_size: tuple[int, int]) -> np.ndarray:
    """Inverse of ``_to_low_res``: crop the padding, resize to ``size``."""
    h, w = frame_size
    s = LOW_RES / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    crop = logits[:nh, :nw]
    return cv2.resize(crop, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
