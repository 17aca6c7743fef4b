"""The refiner (LU-AVS stage 3): XMem's memory prototypes become SAM point prompts.

For each propagated (object, frame):

1. **Positive points** — where XMem's memory is surest the pixel is the object: the query
   positions whose best-matching memory element was confidently the object when memorised
   (:meth:`xmem.MemoryVote.points`), kept inside the (eroded) XMem mask and spread out by
   farthest-point sampling, strongest first. Without a vote (an engine other than XMem) the
   confident pixels of the propagator's probability map stand in.
2. **Negative points** — confident background near the object (background memory elements, or
   low probability, in a band around the mask's box but outside the mask), plus one point inside
   each other object's mask that falls in that band: SAM must not take their pixels.
3. SAM gets those points and the XMem mask's box; among its three candidates the one with the
   best ``IoU(candidate, XMem mask) × SAM score`` is chosen.
4. **Decision** by the IoU between the XMem and the chosen SAM mask: at least ``accept_iou`` →
   the refined mask is accepted; below that the XMem mask is kept, and below ``flag_iou`` the
   frame is also flagged (``disagreement``, raised by the quality checks). Both masks are stored
   (the other as a revision), so the check view can toggle them.

``write_back`` (the ``refine.write_back`` setting, off by default) asks the propagator to
memorise the accepted refined masks instead of its own, through ``replace_last(masks)`` (the
XMem adaptor has it; an engine without it just keeps its own masks).

Whether a job refines at all, and with which SAM, is the pipeline's decision
(:func:`annotator.pipeline.queue.make_refiner`, by the refine policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from annotator.core.quality import region_similarity
from annotator.engines.propagator import PropagationResult

__all__ = ["PrototypeRefiner", "Refinement", "farthest_points"]


@dataclass
class Refinement:
    """The refiner's answer for one object on one frame."""

    mask: np.ndarray  # SAM's chosen mask (exclusive of the other objects)
    accepted: bool
    quality: dict = field(default_factory=dict)  # iou, sam_score, decision, points


def farthest_points(candidates: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` of ``candidates`` (N×2, best first) spread by farthest-point sampling,
    starting from the best one."""
    if len(candidates) == 0 or k <= 0:
        return candidates[:0]
    chosen = [0]
    dist = np.linalg.norm(candidates - candidates[0], axis=1)
    while len(chosen) < min(k, len(candidates)):
        i = int(np.argmax(dist))
        if dist[i] <= 0:
            break
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(candidates - candidates[i], axis=1))
    return candidates[chosen]


class PrototypeRefiner:
    """Refine propagated masks with a point-prompt ``segmenter`` (see the module docstring)."""

    def __init__(self, segmenter, propagator=None, *, positives: int = 5, negatives: int = 5,
                 accept_iou: float = 0.7, flag_iou: float = 0.5, confidence: float = 0.9,
                 write_back: bool = False) -> None:
        self.segmenter = segmenter
        self.propagator = propagator
        self.positives = positives
        self.negatives = negatives
        self.accept_iou = accept_iou
        self.flag_iou = flag_iou
        self.confidence = confidence
        self.write_back = bool(write_back) and hasattr(propagator, "replace_last")
        self.name = f"{segmenter.name} refiner" + (" (written back)" if self.write_back else "")
        if propagator is not None and hasattr(propagator, "want_vote"):
            propagator.want_vote = True
        if self.write_back:
            propagator.keep_for_write_back = True

    def refine(self, frame: np.ndarray, masks: dict[int, np.ndarray], result: PropagationResult,
               others: dict[int, np.ndarray] | None = None) -> dict[int, Refinement]:
        """Refine ``masks`` (object → propagated mask) on ``frame``; ``others``: every mask of
        the frame (the objects' own included) — what a refined mask may not take."""
        others = others or masks
        out: dict[int, Refinement] = {}
        todo = {o: m for o, m in masks.items() if m.any()}
        if not todo:
            return out
        self.segmenter.embed(frame)
        vote = getattr(self.propagator, "last_vote", None)
        scale = float(getattr(self.propagator, "vote_scale", 1.0))
        for o, mask in todo.items():
            taken = np.zeros(mask.shape, bool)
            for q, m in others.items():
                if q != o:
                    taken |= m
            out[o] = self._one(o, mask, taken, others, result, vote, scale)
        if self.write_back:
            self.propagator.replace_last({o: r.mask for o, r in out.items() if r.accepted})
        return out

    # -- one object ------------------------------------------------------------------------
    def _one(self, o, mask, taken, others, result, vote, scale) -> Refinement:
        h, w = mask.shape
        box = _box(mask)
        band = _band(box, h, w)
        inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if not inner.any():
            inner = mask
        pos, neg = self._vote_points(o, vote, scale, inner, mask, band)
        if len(pos) == 0 or len(neg) == 0:
            p2, n2 = self._prob_points(o, result, inner, mask, band)
            pos = pos if len(pos) else p2
            neg = neg if len(neg) else n2
        pos = farthest_points(pos, self.positives)
        neg = farthest_points(neg, self.negatives)
        for q, m in others.items():  # other objects' pixels near this one are negatives
            if q != o:
                inside = m & band
                if inside.any():
                    neg = np.vstack([neg, _interior_point(inside)[None]])
        points = np.vstack([pos, neg]).astype(np.float32)
        labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.int32)
        res = self.segmenter.predict(points, labels, box=np.asarray(box, np.float32),
                                     multimask=True)
        cands = [m & ~taken for m in res.masks]
        ious = [region_similarity(c, mask) for c in cands]
        best = int(np.argmax([iou * float(s) for iou, s in zip(ious, res.scores)]))
        iou = ious[best]
        accepted = iou >= self.accept_iou
        decision = "refined" if accepted else ("kept" if iou >= self.flag_iou else "flagged")
        return Refinement(cands[best], accepted, {
            "refine": decision, "refine_iou": round(iou, 4),
            "sam_score": round(float(res.scores[best]), 4),
            "points": [len(pos), len(neg)]})

    def _vote_points(self, o, vote, scale, inner, mask, band):
        empty = np.zeros((0, 2), np.float32)
        if vote is None or o not in getattr(vote, "objects", ()):
            return empty, empty
        xy, _ = vote.points(o, confidence=self.confidence, positive=True)
        pos = _keep(xy.cpu().numpy() * scale, inner)
        xy, _ = vote.points(o, confidence=self.confidence, positive=False)
        neg = _keep(xy.cpu().numpy() * scale, band & ~mask)
        return pos, neg

    def _prob_points(self, o, result, inner, mask, band):
        prob = result.prob_at(o, mask.shape) if o in result.probs else mask.astype(np.float32)
        dist = cv2.distanceTransform(inner.astype(np.uint8), cv2.DIST_L2, 3)
        score = np.where(inner, dist * prob, -1)
        pos = _ranked(score, inner & (prob >= 0.5))
        bg = band & ~cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        neg = _ranked(np.where(bg, 1.0 - prob, -1), bg & (prob <= 0.5))
        return pos, neg


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _band(box, h: int, w: int, grow: float = 0.25) -> np.ndarray:
    x0, y0, x1, y1 = box
    dx, dy = max(8, int(grow * (x1 - x0))), max(8, int(grow * (y1 - y0)))
    band = np.zeros((h, w), bool)
    band[max(0, y0 - dy):min(h, y1 + dy + 1), max(0, x0 - dx):min(w, x1 + dx + 1)] = True
    return band


def _keep(xy: np.ndarray, region: np.ndarray) -> np.ndarray:
    if len(xy) == 0:
        return xy.reshape(0, 2).astype(np.float32)
    xi = np.clip(xy[:, 0].round().astype(int), 0, region.shape[1] - 1)
    yi = np.clip(xy[:, 1].round().astype(int), 0, region.shape[0] - 1)
    return xy[region[yi, xi]].astype(np.float32)


def _ranked(score: np.ndarray, allowed: np.ndarray, limit: int = 400) -> np.ndarray:
    """Pixels of ``allowed`` as (x, y), highest ``score`` first (subsampled to ``limit``)."""
    ys, xs = np.nonzero(allowed)
    if len(xs) == 0:
        return np.zeros((0, 2), np.float32)
    order = np.argsort(-score[ys, xs], kind="stable")
    order = order[: max(1, int(0.3 * len(order)))]  # the confident third, then spread out
    order = order[:: max(1, len(order) // limit)][:limit]
    return np.stack([xs[order], ys[order]], 1).astype(np.float32)


def _interior_point(mask: np.ndarray) -> np.ndarray:
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return np.array([x, y], np.float32)
