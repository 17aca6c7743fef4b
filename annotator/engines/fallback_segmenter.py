"""A weight-free point-prompt segmenter: GrabCut seeded by the clicks, zoomed in on the object.

Used when no SAM checkpoint is present, so the app always opens and works. Same interface as
``SamSegmenter`` (see ``segmenter.py``); its name says what it is wherever engines are shown.

How a click is answered (``predict`` with points p1 … pn):
1. Start from the mask of p1 … p(n-1) (remembered from the previous call; otherwise the
   ``mask_logits`` passed back, otherwise computed again click by click).
2. Zoom in: the region of interest is the box around that mask, all clicks and the prompt box,
   widened by half its size; it is cut out of the frame and scaled so its long side is at most
   ``work_size`` pixels. While the mask is still small (under 2 % of the frame), and for the
   first click, the region is the whole frame.
3. GrabCut (OpenCV) in that region: the previous mask is "probable object", the rest "probable
   background", a small disk at each click is fixed object / background, and the region's edge
   is background where it lies inside the frame. Object parts not connected to a positive click
   are dropped.
4. The soft result is scaled back to the frame's resolution with a guided filter on the full-
   resolution frame, so the edge follows the image, not the working grid.

``multimask`` gives three candidates: the mask, a slightly shrunk and a slightly grown version
(scores are a fixed preference order: the fallback has no quality estimator).
"""

from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np

from annotator.engines.checks import check_frame
from annotator.engines.segmenter import LOW_RES, SegmentResult, check_prompts, frame_key

FALLBACK_NAME = "Fallback segmenter (GrabCut, no SAM weights)"


class FallbackSegmenter:
    """Classical, weight-free segmenter with the ``Segmenter`` interface."""

    is_fallback = True
    source = "grabcut"  # what the store calls a mask clicked through it

    def __init__(
        self,
        work_size: int = 400,
        iterations: int = 3,
        memo_items: int = 64,
        first_click_prior: float = 0.0,
        roi_margin: float = 0.5,
        min_margin: float = 0.0,
        zoom_min_area: float = 0.02,
    ) -> None:
        self.name = FALLBACK_NAME
        self.roi_margin = float(roi_margin)
        self.zoom_min_area = float(zoom_min_area)
        self.min_margin = float(min_margin)
        self.first_click_prior = float(first_click_prior)
        self.work_size = int(work_size)
        self.iterations = int(iterations)
        self.memo_items = int(memo_items)
        self._frame: np.ndarray | None = None
        self._bgr: np.ndarray | None = None
        self._gray: np.ndarray | None = None
        self._key: str | None = None
        self._memo: OrderedDict[bytes, np.ndarray] = OrderedDict()

    # -- Segmenter interface -------------------------------------------------------------
    def embed(self, frame: np.ndarray, key: str | None = None) -> str:
        check_frame(frame)
        key = frame_key(frame)
        if key == self._key and self._frame is not None:
            return "memory"
        self._frame = frame
        self._bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        self._gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        self._key = key
        self._memo.clear()
        return "computed"

    def precompute(self, frame: np.ndarray, key: str | None = None, **_: object) -> bool:
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
        if self._frame is None:
            raise RuntimeError("call embed(frame) before predict")
        points, labels, box = check_prompts(points, labels, box)
        prior = None
        if mask_logits is not None:
            logits = np.asarray(mask_logits, np.float32).reshape(-1, LOW_RES, LOW_RES)[0]
            prior = _from_low_res(logits, self._frame.shape[:2]) > 0
        mask = self._mask(points, labels, box, prior)
        if multimask:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
            m8 = mask.astype(np.uint8)
            masks = np.stack([mask, cv2.erode(m8, k) > 0, cv2.dilate(m8, k) > 0])
        else:
            masks = mask[None]
        n = len(masks)
        scores = np.array([1.0, 0.9, 0.8][:n], np.float32) if mask.any() else np.zeros(n, np.float32)
        logits = np.stack([_to_low_res(m) for m in masks])
        return SegmentResult(masks=masks, scores=scores, low_res_logits=logits, engine=self.name)

    # -- the algorithm ---------------------------------------------------------------------------
    def _memo_key(self, points, labels, box) -> bytes:
        parts = [b"" if points is None else np.round(points, 1).tobytes(),
                 b"" if labels is None else labels.tobytes(),
                 b"" if box is None else np.round(box, 1).tobytes()]
        return b"|".join(parts)

    def _mask(self, points, labels, box, prior) -> np.ndarray:
        key = self._memo_key(points, labels, box)
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit
        n = 0 if points is None else len(points)
        if n > 1:
            prev_key = self._memo_key(points[:-1], labels[:-1], box)
            if prev_key in self._memo:
                prev = self._memo[prev_key]
            elif prior is not None:
                prev = prior
            else:  # replay click by click (each step is remembered)
                prev = self._mask(points[:-1], labels[:-1], box, None)
        elif n == 1 and box is not None:
            prev = self._mask(None, None, box, None)
        else:
            prev = prior
        out = self._step(prev, points, labels, box)
        self._memo[key] = out
        while len(self._memo) > self.memo_items:
            self._memo.popitem(last=False)
        return out

    def _step(self, prev, points, labels, box) -> np.ndarray:
        assert self._frame is not None and self._bgr is not None
        H, W = self._frame.shape[:2]
        pos_pts = [] if points is None else [p for p, lab in zip(points, labels) if lab > 0]
        if not pos_pts and box is None:
            return np.zeros((H, W), bool)

        # region of interest
        xs, ys = [], []
        if prev is not None and prev.any():
            yy, xx = np.nonzero(prev)
            xs += [xx.min(), xx.max()]
            ys += [yy.min(), yy.max()]
        if points is not None:
            xs += list(points[:, 0])
            ys += list(points[:, 1])
        if box is not None:
            xs += [box[0], box[2]]
            ys += [box[1], box[3]]
        if prev is None or prev.sum() < self.zoom_min_area * H * W:
            x0, y0, x1, y1 = 0, 0, W, H  # first clicks or a box: the whole frame
        else:
            x0, y0, x1, y1 = _widen(min(xs), min(ys), max(xs), max(ys), self.roi_margin,
                                    self.min_margin, W, H)
        crop = self._bgr[y0:y1, x0:x1]
        ch, cw = crop.shape[:2]
        s = min(1.0, self.work_size / max(ch, cw))
        ws, hs = max(1, round(cw * s)), max(1, round(ch * s))
        small = cv2.resize(crop, (ws, hs), interpolation=cv2.INTER_AREA) if s < 1 else crop

        gcm = np.full((hs, ws), cv2.GC_PR_BGD, np.uint8)
        if prev is not None and prev.any():
            pm = cv2.resize(prev[y0:y1, x0:x1].astype(np.uint8), (ws, hs),
                            interpolation=cv2.INTER_NEAREST) > 0
            gcm[pm] = cv2.GC_PR_FGD
        # the region's edge is background where it lies inside the frame
        if y0 > 0:
            gcm[0, :] = cv2.GC_BGD
        if y1 < H:
            gcm[-1, :] = cv2.GC_BGD
        if x0 > 0:
            gcm[:, 0] = cv2.GC_BGD
        if x1 < W:
            gcm[:, -1] = cv2.GC_BGD
        if box is not None:
            bx0, by0 = (box[0] - x0) * s, (box[1] - y0) * s
            bx1, by1 = (box[2] - x0) * s, (box[3] - y0) * s
            inside = np.zeros((hs, ws), bool)
            inside[max(0, int(by0)) : int(np.ceil(by1)) + 1, max(0, int(bx0)) : int(np.ceil(bx1)) + 1] = True
            gcm[~inside] = cv2.GC_BGD
            if prev is None or not prev.any():
                gcm[inside] = cv2.GC_PR_FGD
        elif (prev is None or not prev.any()) and self.first_click_prior > 0:
            # a first click: the object is probably around it
            r = max(2, round(self.first_click_prior * max(hs, ws)))
            for x, y in pos_pts:
                c = (int(round((x - x0) * s)), int(round((y - y0) * s)))
                cv2.circle(gcm, c, r, int(cv2.GC_PR_FGD), -1)
            if y0 == 0 and y1 == H and x0 == 0 and x1 == W:
                gcm[[0, -1], :] = cv2.GC_BGD
                gcm[:, [0, -1]] = cv2.GC_BGD
        radius = max(3, round(0.012 * max(hs, ws)))
        pos = np.zeros((hs, ws), np.uint8)
        neg = np.zeros((hs, ws), np.uint8)
        if points is not None:
            for (x, y), lab in zip(points, labels):
                c = (int(round((x - x0) * s)), int(round((y - y0) * s)))
                cv2.circle(pos if lab > 0 else neg, c, radius, 1, -1)
        gcm[neg > 0] = cv2.GC_BGD
        gcm[pos > 0] = cv2.GC_FGD

        fg_model = np.zeros((1, 65), np.float64)
        bg_model = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # GrabCut's k-means start: the same clicks give the same mask
        try:
            cv2.grabCut(small, gcm, None, bg_model, fg_model, self.iterations, cv2.GC_INIT_WITH_MASK)
            fg = (gcm == cv2.GC_FGD) | (gcm == cv2.GC_PR_FGD)
        except cv2.error:  # too few pixels of one kind for a colour model
            fg = (gcm == cv2.GC_FGD) | (gcm == cv2.GC_PR_FGD)
        if pos.any():
            fg = _connected_to(fg, pos > 0)

        # back to full resolution along the image's edges
        soft = fg.astype(np.float32)
        if s < 1:
            soft = cv2.resize(soft, (cw, ch), interpolation=cv2.INTER_LINEAR)
            soft = _guided_filter(self._gray[y0:y1, x0:x1], soft, radius=max(2, round(1.5 / s)))
        out = np.zeros((H, W), bool)
        out[y0:y1, x0:x1] = soft >= 0.5
        if points is not None:  # the clicked pixels always answer as clicked
            for (x, y), lab in zip(points, labels):
                xi, yi = int(np.clip(round(x), 0, W - 1)), int(np.clip(round(y), 0, H - 1))
                out[yi, xi] = lab > 0
        return out


def _widen(x0: float, y0: float, x1: float, y1: float, frac: float, least: float, W: int, H: int):
    """The box widened by ``frac`` of its size on each side, and by at least ``least`` of the
    frame's size (a tiny first mask must not shut the object out)."""
    w, h = x1 - x0, y1 - y0
    mx, my = max(frac * w, least * W, 24), max(frac * h, least * H, 24)
    return (int(max(0, np.floor(x0 - mx))), int(max(0, np.floor(y0 - my))),
            int(min(W, np.ceil(x1 + mx) + 1)), int(min(H, np.ceil(y1 + my) + 1)))


def _guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float = 1e-3) -> np.ndarray:
    """He et al.'s guided filter (grey guide), with OpenCV box filters."""
    k = (2 * radius + 1, 2 * radius + 1)

    def box(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, -1, k, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _connected_to(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that touch a seed pixel."""
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.unique(lab[seeds & mask])
    keep = keep[keep > 0]
    return np.isin(lab, keep)


def _to_low_res(mask: np.ndarray) -> np.ndarray:
    """A 256×256 pseudo-logit map of a mask (±8), laid out as SAM's low-res logits: the frame
    scaled so its long side is 256, padded at the bottom/right."""
    h, w = mask.shape
    s = LOW_RES / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = cv2.resize(mask.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.full((LOW_RES, LOW_RES), -8.0, np.float32)
    out[:nh, :nw] = (small - 0.5) * 16.0
    return out


def _from_low_res(logits: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """Inverse of ``_to_low_res``: crop the padding, resize to the frame's size."""
    h, w = frame_size
    s = LOW_RES / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    return cv2.resize(logits[:nh, :nw], (w, h), interpolation=cv2.INTER_LINEAR)
