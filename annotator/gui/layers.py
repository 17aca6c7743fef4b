"""Pixels for the canvas, made off the GUI thread: the frame and one overlay per mask.

A mask overlay is cropped to the mask's bounding box (a small image plus its offset), so big
frames stay cheap to paint, in two versions: the fill at the opacity the person chose with the
outline opaque on top, and the outline alone (the canvas draws one of them, as it is: the
opacity is baked in here, off the GUI thread, not blended at every paint).
``QImage`` (unlike ``QPixmap``) may be built on any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PySide6.QtGui import QImage


@dataclass
class Layer:
    """A mask's images (filled, outline only) and where their top-left corner goes."""

    image: QImage
    outline: QImage
    x: int
    y: int
    box: tuple[int, int, int, int] | None = None  # the mask's tight box, x0 y0 x1 y1


@dataclass
class FrameView:
    """Everything the canvas needs to show one frame (built by a worker)."""

    index: int
    image: QImage
    layers: dict[int, Layer] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)
    anchors: set[int] = field(default_factory=set)
    flags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    boxes: dict[int, Any] = field(default_factory=dict)  # object -> (TrackBox, colour) here


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    if len(c) != 6:
        return (255, 0, 255)
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def frame_image(rgb: np.ndarray) -> QImage:
    """A deep copy of an H×W×3 uint8 RGB frame as a QImage."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def mask_layer(mask: np.ndarray, color: str, *, opacity: float = 0.43,
               dashed: bool = False) -> Layer | None:
    """Overlay for one bool mask (None when the mask is empty)."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if len(ys) == 0:
        return None
    y0, y1 = max(0, ys[0] - 2), min(mask.shape[0], ys[-1] + 3)
    x0, x1 = max(0, xs[0] - 2), min(mask.shape[1], xs[-1] + 3)
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1]).astype(np.uint8)
    r, g, b = hex_rgb(color)
    k = np.ones((3, 3), np.uint8)
    edge = cv2.morphologyEx(crop, cv2.MORPH_GRADIENT, k).astype(bool)
    if dashed:
        yy, xx = np.nonzero(edge)
        keep = ((xx + yy) // 6) % 2 == 0
        edge = np.zeros_like(edge)
        edge[yy[keep], xx[keep]] = True
    filled = np.zeros(crop.shape + (4,), np.uint8)
    filled[crop.astype(bool)] = (r, g, b, int(round(255 * max(0.0, min(1.0, opacity)))))
    filled[edge] = (r, g, b, 255)
    outline = np.zeros(crop.shape + (4,), np.uint8)
    outline[edge] = (r, g, b, 255)
    return Layer(_qimage(filled), _qimage(outline), int(x0), int(y0),
                 (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1))


def _qimage(rgba: np.ndarray) -> QImage:
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
