"""The simulated annotator of the interactive-segmentation benchmarks (the NoC protocol).

Each click goes to the interior-most point — the largest distance to the region's border —
of the largest error region of the mask shown, against the ground truth: a positive click in
a missed region (object not in the mask), a negative one in a false region (mask not on the
object). Regions are the 8-connected components of each error; the frame's edge counts as a
border (the region is padded before its distance transform), so a click never lands on the
frame's edge when the region reaches it. The clicks stop at IoU ≥ ``target`` (0.85 in the
literature's NoC@85) or after ``max_clicks`` (20).

``bench/click_bench.py`` (NoC of a segmenter) and ``bench/effort_bench.py`` (clicks for a
whole sequence, through :mod:`annotator.api`) both click with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from annotator.core.quality import region_similarity

TARGET = 0.85
MAX_CLICKS = 20


@dataclass(frozen=True)
class Click:
    x: int
    y: int
    positive: bool  # True: on missed object; False: on false object (a background point)


def next_click(pred: np.ndarray | None, gt: np.ndarray) -> Click | None:
    """The next click on ``pred`` (None: no mask yet) towards ``gt``; None when they agree.
    Ties (two regions of the same area) go to the missed one; within a region, to the first
    interior-most pixel in raster order."""
    gt = np.asarray(gt, bool)
    pred = np.zeros_like(gt) if pred is None else np.asarray(pred, bool)
    best: tuple[int, Click] | None = None
    for err, positive in ((gt & ~pred, True), (pred & ~gt, False)):
        if not err.any():
            continue
        _, labels, stats, _ = cv2.connectedComponentsWithStats(err.astype(np.uint8),
                                                               connectivity=8)
        i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[i, cv2.CC_STAT_AREA])
        if best is not None and area <= best[0]:
            continue
        region = np.pad(labels == i, 1).astype(np.uint8)  # the frame's edge is a border too
        dist = cv2.distanceTransform(region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        best = (area, Click(int(x), int(y), positive))
    return None if best is None else best[1]


class Clickable(Protocol):
    """What :func:`click_to` drives: :class:`annotator.api.Prompt` (``mask``, ``click``)."""

    @property
    def mask(self) -> np.ndarray | None: ...

    def click(self, x: float, y: float, positive: bool = True) -> np.ndarray: ...


@dataclass
class Clicked:
    """What :func:`click_to` did on one frame: the IoU before the first click and after each
    click, and the seconds each click took (the segmenter's answer and its write)."""

    start: float
    ious: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    accepted: bool = False  # set by whoever accepts the mask

    @property
    def clicks(self) -> int:
        return len(self.ious)

    @property
    def final(self) -> float:
        return self.ious[-1] if self.ious else self.start


def click_to(prompt: Clickable, gt: np.ndarray, target: float = TARGET,
             max_clicks: int = MAX_CLICKS) -> Clicked:
    """Click ``prompt``'s frame, starting from the mask it shows, until IoU ≥ ``target``
    or ``max_clicks`` clicks (none when it already reaches ``target``)."""
    gt = np.asarray(gt, bool)
    mask = prompt.mask
    done = Clicked(region_similarity(np.zeros_like(gt) if mask is None else mask, gt))
    while done.final < target and done.clicks < max_clicks:
        click = next_click(mask, gt)
        if click is None:
            break
        t0 = time.perf_counter()
        mask = prompt.click(click.x, click.y, positive=click.positive)
        done.seconds.append(time.perf_counter() - t0)
        done.ious.append(region_similarity(mask, gt))
    return done
