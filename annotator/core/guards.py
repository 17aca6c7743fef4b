"""Checks before a mask becomes an anchor: an anchor drives propagation, so a mask that is
wrong there spreads its mistake over every frame up to the next anchor.

:func:`anchor_concern` answers in words what looks wrong (``None`` when nothing does); the
window asks the person before accepting such a mask, the API refuses it unless forced. Each
check applies to any anchor — a first mask, which has no neighbours to be compared with, is
what the last three are for:

* **empty** — the mask has no pixels;
* **frame** — it covers more than :attr:`GuardBars.frame_share` of the frame (default half):
  sounding objects rarely do; a mask that does took the background;
* **leak** — it reaches far past the points clicked on the object: more than
  :attr:`GuardBars.leak_share` of its pixels (default a quarter) lie farther than the *reach*
  from every positive click. One click says where the object is, not how big it is, and the
  mask's own size cannot be the yardstick (a mask that leaked onto the road has the road's
  size), so the reach is a quarter of the frame's diagonal (:data:`LEAK_REACH`), or the clicks'
  spread (the largest distance between two positive clicks) where they span more: a large
  object clicked once at one end is questioned, and a second click at its other end answers
  the question. Masks without clicks (drawn, imported) are not measured;
* **score** — SAM's own estimate of the mask's quality (its predicted IoU, stored as the
  mask's ``score``) is under :attr:`GuardBars.sam_score` (default 0.7; SAM's automatic mask
  generator keeps masks from 0.88). The weight-free segmenter's scores are only an order of
  preference among its candidates, so its masks are not measured;
* **neighbours** — it is :attr:`GuardBars.area_factor` times larger or smaller than the
  object's masks on the nearest frames before and after it (the setting
  ``guards.area_factor``).

The bars are product choices, settings of their own (``guards.*``); ``bench/guards_bench.py``
counts how many of the DAVIS-2016 first frames' ground-truth masks would be questioned. Pure
store reads and NumPy/OpenCV, no Qt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from annotator.core.store import Store

#: how far past the positive clicks a mask may reach, as a share of the frame's diagonal (or the
#: clicks' spread, where larger)
LEAK_REACH = 0.25


@dataclass(frozen=True)
class GuardBars:
    """Where each check starts to ask (the settings ``guards.*``)."""

    area_factor: float = 3.0
    frame_share: float = 0.5
    leak_share: float = 0.25
    sam_score: float = 0.7


@dataclass(frozen=True)
class Leak:
    """How far a mask reaches past its positive clicks."""

    share: float  # of the mask's pixels farther than ``reach`` from every positive click
    reach: float  # pixels: max(LEAK_REACH × the frame's diagonal, the clicks' spread)
    clicks: int


def leak(mask: np.ndarray, points: Sequence[tuple[float, float, bool]]) -> Leak | None:
    """How far ``mask`` reaches past the positive ``points`` (x, y, positive); None without a
    positive point or a mask pixel."""
    m = np.ascontiguousarray(mask, dtype=bool)
    h, w = m.shape
    pos = [(min(max(int(round(x)), 0), w - 1), min(max(int(round(y)), 0), h - 1))
           for x, y, positive in points if positive]
    area = int(np.count_nonzero(m))
    if not pos or area == 0:
        return None
    spread = max((math.dist(a, b) for a in pos for b in pos), default=0.0)
    reach = max(LEAK_REACH * math.hypot(h, w), spread)
    seeds = np.ones((h, w), np.uint8)
    for x, y in pos:
        seeds[y, x] = 0
    dist = cv2.distanceTransform(seeds, cv2.DIST_L2, 5)  # to the nearest positive click
    return Leak(float(np.count_nonzero(dist[m] > reach) / area), reach, len(pos))


def _points(store: Store, rec) -> list[tuple[float, float, bool]]:
    """The clicked points of the mask revision ``rec`` (its prompt's), none if nobody clicked."""
    for p in reversed(store.prompts(rec.object_id, rec.frame)):
        if p["mask_rev_id"] == rec.rev_id:
            return [tuple(x) for x in p["points"]]
    return []


def anchor_concern(store: Store, object_id: int, frame: int, factor: float | None = None,
                   bars: GuardBars | None = None) -> str | None:
    """What is suspicious about making the current mask of (object, frame) an anchor, in
    words (several findings: one paragraph each); None when nothing is. ``bars``: where the
    checks ask (default :class:`GuardBars`); ``factor`` overrides its ``area_factor``."""
    bars = bars or GuardBars()
    if factor is not None:
        bars = GuardBars(factor, bars.frame_share, bars.leak_share, bars.sam_score)
    rec = store.mask(object_id, frame)
    name = store.object(object_id).name
    if rec is None or rec.rle is None:
        return None  # nothing to accept: the accept itself says so
    if rec.area == 0:
        return (f"The mask of {name} on frame {frame} is empty. As an anchor it tells "
                f"propagation that {name} is not visible here, and every frame up to the next "
                "anchor will follow it.")
    found = [c for c in (_frame_share(store, rec, name, bars), _leak(store, rec, name, bars),
                         _score(rec, name, bars), _neighbours(store, rec, name, bars)) if c]
    return "\n\n".join(found) or None


def _frame_share(store: Store, rec, name: str, bars: GuardBars) -> str | None:
    h, w = store.size_hw
    share = rec.area / float(h * w)
    if share <= bars.frame_share:
        return None
    return (f"The mask of {name} on frame {rec.frame} covers {share:.0%} of the frame (more "
            f"than {bars.frame_share:.0%}): it has probably taken the background too. "
            "Right-click the background it took (or erase it), then press Enter again; accept "
            f"anyway only if {name} really fills the frame.")


def _leak(store: Store, rec, name: str, bars: GuardBars) -> str | None:
    points = _points(store, rec)
    if not points:
        return None
    found = leak(rec.decode(), points)
    if found is None or found.share <= bars.leak_share:
        return None
    where = "the point" if found.clicks == 1 else "every point"
    return (f"The mask of {name} on frame {rec.frame} reaches far past the points you clicked "
            f"on it: {found.share:.0%} of it lies more than {found.reach:.0f} px from {where} "
            "you clicked, so it has probably run into other things or the background. "
            "Right-click where it does not belong (or erase there), or click the object "
            "there too if it really reaches that far.")


def _score(rec, name: str, bars: GuardBars) -> str | None:
    if rec.source != "sam" or rec.score is None or rec.score >= bars.sam_score:
        return None
    return (f"SAM rates its mask of {name} on frame {rec.frame} at {rec.score:.2f} (its "
            f"predicted IoU; under {bars.sam_score:.2f}): it is unsure what you meant. Add "
            "points on the object and on the background, or press Tab for another candidate.")


def _neighbours(store: Store, rec, name: str, bars: GuardBars) -> str | None:
    frame = rec.frame
    segs = [s for s in store.segments(rec.object_id) if frame in s]
    lo, hi = (segs[0].start, segs[0].end) if segs else (0, store.frame_count - 1)
    others = [m for m in store.masks_of(rec.object_id, lo, hi) if m.frame != frame and m.area > 0]
    near = [m for m in others if m.frame < frame][-1:] + [m for m in others if m.frame > frame][:1]
    if not near:
        return None
    ref = sum(m.area for m in near) / len(near)
    ratio = rec.area / ref
    if 1.0 / bars.area_factor <= ratio <= bars.area_factor:
        return None
    where = " and ".join(f"frame {m.frame} ({m.area:,} px)" for m in near)
    word = "larger" if ratio > 1 else "smaller"
    times = ratio if ratio > 1 else 1.0 / ratio
    return (f"The mask of {name} on frame {frame} has {rec.area:,} pixels, {times:.1f}× "
            f"{word} than its neighbours on {where}.")
