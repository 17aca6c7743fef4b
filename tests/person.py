"""How a person clicks a mask right, for tests on real frames with ground truth: each click
goes to the interior-most pixel of the largest error — positive on the part of the object the
mask misses, negative on what it took that is not the object (the usual protocol of the
interactive-segmentation benchmarks) — until the mask is good enough or the person gives up.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b) / union)


def _clicker():
    """bench/clicker.py, the one implementation of the protocol (the benches click with it)."""
    import importlib.util
    import sys
    from pathlib import Path

    if "clicker" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "clicker", Path(__file__).resolve().parents[1] / "bench" / "clicker.py")
        sys.modules["clicker"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["clicker"]


def next_click(mask: np.ndarray | None, truth: np.ndarray) -> tuple[float, float, bool]:
    """Where the person clicks next on ``mask`` (None: nothing yet) to make it ``truth``."""
    c = _clicker().next_click(mask, truth)
    if c is None:
        raise AssertionError("the mask is the truth already: no click to make")
    return float(c.x), float(c.y), bool(c.positive)


def click_until(click: Callable[[float, float, bool], np.ndarray | None], truth: np.ndarray,
                good: float = 0.8, most: int = 10) -> tuple[np.ndarray | None, int]:
    """Click (``click(x, y, positive)`` returns the mask after it) until the mask's IoU with
    ``truth`` reaches ``good``, at most ``most`` times; returns (mask, clicks)."""
    mask = None
    for n in range(1, most + 1):
        mask = click(*next_click(mask, truth))
        if mask is not None and iou(mask, truth) >= good:
            return mask, n
    return mask, most


def strokes_over(polygon, shape: tuple[int, int], radius: int) -> list[list[tuple[float, float]]]:
    """Brush strokes (each a list of (x, y)) a person drags to paint ``polygon`` (x, y
    vertices) on a frame of ``shape`` (h, w) with a brush of ``radius`` pixels: one stroke
    along each run of the polygon's pixels on every ``radius``-th row."""
    area = np.zeros(shape, np.uint8)
    cv2.fillPoly(area, [np.array(polygon, np.int32)], 1)
    strokes = []
    rows = np.nonzero(area.any(axis=1))[0]
    for y in range(int(rows[0]) + radius // 2, int(rows[-1]) + 1, radius):
        line = np.concatenate([[0], area[y], [0]])
        starts = np.nonzero(np.diff(line) == 1)[0]
        ends = np.nonzero(np.diff(line) == -1)[0] - 1
        # pressed a little inside the frame's edge (a press on the edge is off the frame)
        strokes += [[(float(max(a, 2)), float(y)), (float(min(b, shape[1] - 3)), float(y))]
                    for a, b in zip(starts, ends)]
    return strokes
