"""A weight-free point-prompt segmenter: GrabCut seeded by the clicks, zoomed in on the object.

Used when no SAM checkpoint is present, so the app always opens and works. Same interface as
``SamSegmenter`` (see ``segmenter.py``); its name says what it is wherever engines are shown.

How a click is answered (``predict`` with points p1 … pn):
1. The first click (no box, no mask yet) gives the object under it: GrabCut in a region around
   the positive click(s), where a square of half-side ``first_box`` × the frame's long side is
   probable object and a ring half as wide around it is background. Three sizes (× 1,
   ÷ ``first_spread``, × ``first_spread``) are the three candidates, in that order (as SAM's
   whole / part candidates; the window cycles them), each cut at ``first_work`` pixels.
2. A later click builds on the mask of p1 … p(n-1): the candidate whose logits came back as
   ``mask_logits`` (the best one without logits), remembered from the previous call, otherwise
   the ``mask_logits``' own mask, otherwise computed again click by click.
3. Zoom in: the region of interest is the box around that mask, all clicks and the prompt box,
   widened by half its size; it is cut out of the frame and scaled so its long side is at most
   ``work_size`` pixels (``box_work`` for a box without points). While the mask is still small
   (under 2 % of the frame) the region is the whole frame.
4. GrabCut (OpenCV) in that region: the previous mask is "probable object", the rest "probable
   background", a small disk at each click is fixed object / background, and the region's edge
   is background where it lies inside the frame. The last click, where it contradicts the
   mask, marks a larger disk as probable object / background, reaching ``click_reach`` of the
   way to the mask's edge (a click goes to the middle of what is wrong) and at most half way
   to a click of the other kind. Object parts not connected to a positive click are dropped;
   with ``monotone`` a negative click only takes away and a positive one only adds.
5. The soft result is scaled back to the frame's resolution with a guided filter on the full-
   resolution frame, so the edge follows the image, not the working grid.

After the first click the three candidates are the mask, a slightly shrunk and a slightly
grown version. Scores are a fixed preference order: the fallback has no quality estimator.
The parameters' defaults were chosen on DAVIS sequences by ``bench/click_bench.py``
(held-out figures in docs/benchmarks.md).
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
        work_size: int = 240,
        first_work: int = 240,
        box_work: int = 400,
        iterations: int = 3,
        memo_items: int = 64,
        first_box: float = 0.14,
        first_spread: float = 1.6,
        click_reach: float = 0.8,
        monotone: bool = True,
        roi_margin: float = 0.5,
        min_margin: float = 0.0,
        zoom_min_area: float = 0.02,
    ) -> None:
        self.name = FALLBACK_NAME
        self.roi_margin = float(roi_margin)
        self.zoom_min_area = float(zoom_min_area)
        self.min_margin = float(min_margin)
        self.first_box = float(first_box)
        self.first_spread = float(first_spread)
        self.click_reach = float(click_reach)
        self.monotone = bool(monotone)
        self.work_size = int(work_size)
        self.first_work = int(first_work)
        self.box_work = int(box_work)
        self.iterations = int(iterations)
        self.memo_items = int(memo_items)
        self._frame: np.ndarray | None = None
        self._bgr: np.ndarray | None = None
        self._gray: np.ndarray | None = None
        self._key: str | None = None
        self._memo: OrderedDict[bytes, np.ndarray] = OrderedDict()  # prompts → packed masks

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
        logits = None
        if mask_logits is not None:
            logits = np.asarray(mask_logits, np.float32).reshape(-1, LOW_RES, LOW_RES)[0]
        masks = self._masks(points, labels, box, logits)
        masks = masks if multimask else masks[:1]
        n = len(masks)
        scores = np.array([1.0, 0.9, 0.8][:n], np.float32) if masks[0].any() else np.zeros(n, np.float32)
        low = np.stack([_to_low_res(m) for m in masks])
        return SegmentResult(masks=masks, scores=scores, low_res_logits=low, engine=self.name)

    # -- the algorithm ---------------------------------------------------------------------------
    def _memo_key(self, points, labels, box) -> bytes:
        parts = [b"" if points is None else np.round(points, 1).tobytes(),
                 b"" if labels is None else labels.tobytes(),
                 b"" if box is None else np.round(box, 1).tobytes()]
        return b"|".join(parts)

    def _masks(self, points, labels, box, logits) -> np.ndarray:
        """The three candidate masks of these prompts, best first (remembered)."""
        assert self._frame is not None
        shape = self._frame.shape[:2]
        key = self._memo_key(points, labels, box)
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return np.unpackbits(hit, count=3 * shape[0] * shape[1]).reshape(3, *shape) > 0
        masks = self._step(self._previous(points, labels, box, logits), points, labels, box)
        if len(masks) == 1:  # a slightly shrunk and a slightly grown version
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
            m8 = masks[0].astype(np.uint8)
            masks = [masks[0], cv2.erode(m8, k) > 0, cv2.dilate(m8, k) > 0]
        out = np.stack(masks)
        self._memo[key] = np.packbits(out)
        while len(self._memo) > self.memo_items:
            self._memo.popitem(last=False)
        return out

    def _previous(self, points, labels, box, logits) -> np.ndarray | None:
        """The mask the last click builds on: the previous prompts' candidate whose logits came
        back (their best without logits; replayed click by click when not remembered), else
        the logits' own mask."""
        assert self._frame is not None
        n = 0 if points is None else len(points)
        if n > 1:
            before = (points[:-1], labels[:-1], box)
        elif n == 1 and box is not None:
            before = (None, None, box)
        else:
            before = None
        own = None if logits is None else _from_low_res(logits, self._frame.shape[:2]) > 0
        if before is None or (own is not None and self._memo_key(*before) not in self._memo):
            return own
        masks = self._masks(*before, None)
        if logits is None:
            return masks[0]
        for m in masks:  # the candidate shown when the click came (SAM's three, cycled)
            if np.array_equal(_to_low_res(m), logits):
                return m
        return own

    def _step(self, prev, points, labels, box) -> list[np.ndarray]:
        assert self._frame is not None and self._bgr is not None
        H, W = self._frame.shape[:2]
        pos_pts = [] if points is None else [p for p, lab in zip(points, labels) if lab > 0]
        if not pos_pts and box is None:
            return [np.zeros((H, W), bool)]
        if box is None and (prev is None or not prev.any()):
            r = self.first_box * max(H, W)  # the first click: the object around it, 3 sizes
            return [self._first(np.array(pos_pts), points, labels, r * f)
                    for f in (1.0, 1.0 / self.first_spread, self.first_spread)]

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
            x0, y0, x1, y1 = 0, 0, W, H  # small masks or a box: the whole frame
        else:
            x0, y0, x1, y1 = _widen(min(xs), min(ys), max(xs), max(ys), self.roi_margin,
                                    self.min_margin, W, H)
        small, s = self._crop(x0, y0, x1, y1, self.box_work if points is None else self.work_size)
        hs, ws = small.shape[:2]

        gcm = np.full((hs, ws), cv2.GC_PR_BGD, np.uint8)
        if prev is not None and prev.any():
            pm = cv2.resize(prev[y0:y1, x0:x1].astype(np.uint8), (ws, hs),
                            interpolation=cv2.INTER_NEAREST) > 0
            gcm[pm] = cv2.GC_PR_FGD
            if points is not None and self.click_reach > 0:
                self._reach(gcm, pm, points, labels, x0, y0, s)
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
            inside = _inside(gcm.shape, box, x0, y0, s)
            gcm[~inside] = cv2.GC_BGD
            if prev is None or not prev.any():
                gcm[inside] = cv2.GC_PR_FGD
        out = self._cut(small, gcm, (x0, y0, x1, y1), s, points, labels)
        if self.monotone and prev is not None and points is not None:
            # a negative click only takes away, a positive one only adds
            out = (out & prev) if labels[-1] <= 0 else (out | prev)
        return [out]

    def _reach(self, gcm, pm, points, labels, x0: int, y0: int, s: float) -> None:
        """A click that contradicts the previous mask speaks for the error region around it:
        probable object (background) in a disk reaching ``click_reach`` of the way from the click to the
        mask's edge (a click goes to the middle of what is wrong), and at most half way to a
        click of the other kind."""
        hs, ws = gcm.shape
        (px, py), label = points[-1], labels[-1]
        cx, cy = int(round((px - x0) * s)), int(round((py - y0) * s))
        if not (0 <= cx < ws and 0 <= cy < hs) or pm[cy, cx] == (label > 0):
            return
        wrong = ~pm if label > 0 else pm  # the side of the mask's edge the click is on
        dist = cv2.distanceTransform(wrong.astype(np.uint8), cv2.DIST_L2, 3)
        r = self.click_reach * float(dist[cy, cx])
        other = points[(labels > 0) != (label > 0)]
        if len(other):
            r = min(r, 0.5 * s * float(np.min(np.hypot(*(other - points[-1]).T))))
        if round(r) > 0:
            value = cv2.GC_PR_FGD if label > 0 else cv2.GC_PR_BGD
            cv2.circle(gcm, (cx, cy), int(round(r)), int(value), -1)

    def _first(self, pos: np.ndarray, points, labels, r: float) -> np.ndarray:
        """A first click's mask: GrabCut with the square of half-side ``r`` around the positive
        clicks as probable object and a ring half as wide as the square around it as background."""
        assert self._frame is not None
        H, W = self._frame.shape[:2]
        box = np.array([*(pos.min(0) - r), *(pos.max(0) + r)], np.float32)
        x0, y0, x1, y1 = _widen(*box, 0.5, 0.0, W, H)
        small, s = self._crop(x0, y0, x1, y1, self.first_work)
        gcm = np.full(small.shape[:2], cv2.GC_BGD, np.uint8)
        gcm[_inside(gcm.shape, box, x0, y0, s)] = cv2.GC_PR_FGD
        return self._cut(small, gcm, (x0, y0, x1, y1), s, points, labels)

    def _crop(self, x0: int, y0: int, x1: int, y1: int, size: int) -> tuple[np.ndarray, float]:
        """The frame's region, scaled so its long side is at most ``size``, and the scale."""
        assert self._bgr is not None
        crop = self._bgr[y0:y1, x0:x1]
        ch, cw = crop.shape[:2]
        s = min(1.0, size / max(ch, cw))
        ws, hs = max(1, round(cw * s)), max(1, round(ch * s))
        return (cv2.resize(crop, (ws, hs), interpolation=cv2.INTER_AREA) if s < 1 else crop), s

    def _cut(self, small, gcm, roi, s, points, labels) -> np.ndarray:
        """GrabCut in the region from the initial labels ``gcm`` (the clicks are added as fixed
        disks), kept where connected to a positive click, back at the frame's resolution."""
        assert self._frame is not None and self._gray is not None
        H, W = self._frame.shape[:2]
        x0, y0, x1, y1 = roi
        hs, ws = gcm.shape
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
            soft = cv2.resize(soft, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
            soft = _guided_filter(self._gray[y0:y1, x0:x1], soft, radius=max(2, round(1.5 / s)))
        out = np.zeros((H, W), bool)
        out[y0:y1, x0:x1] = soft >= 0.5
        if points is not None:  # the clicked pixels always answer as clicked
            for (x, y), lab in zip(points, labels):
                xi, yi = int(np.clip(round(x), 0, W - 1)), int(np.clip(round(y), 0, H - 1))
                out[yi, xi] = lab > 0
        return out


def _inside(shape: tuple[int, int], box, x0: int, y0: int, s: float) -> np.ndarray:
    """The pixels of a region (origin ``x0, y0``, scale ``s``) inside a frame box."""
    hs, ws = shape
    bx0, by0 = (box[0] - x0) * s, (box[1] - y0) * s
    bx1, by1 = (box[2] - x0) * s, (box[3] - y0) * s
    inside = np.zeros((hs, ws), bool)
    inside[max(0, int(by0)) : int(np.ceil(by1)) + 1, max(0, int(bx0)) : int(np.ceil(bx1)) + 1] = True
    return inside


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
