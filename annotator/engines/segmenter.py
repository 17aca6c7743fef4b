"""The point-prompt segmenter protocol and its result.

Shaped like ``segment_anything.SamPredictor``: ``embed(frame)`` once per frame, then any number
of cheap ``predict(points, labels, ...)`` calls. Two engines implement it: ``SamSegmenter``
(``sam.py``) and the weight-free ``FallbackSegmenter`` (``fallback_segmenter.py``).

SAM is loaded once per process by :mod:`annotator.engines.registry`, on the chosen device; each
user (the window's session, a propagation's refiner) gets its own :meth:`SamSegmenter.share`,
and ``SamSegmenter.device`` says where the weights really are.

Coordinates are pixels of the frame, ``(x, y)``; labels are 1 (object) and 0 (background).
Frames are ``H×W×3`` uint8 RGB arrays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

LOW_RES = 256  # side of SAM's low-resolution logits; the fallback uses the same size


@dataclass(frozen=True)
class SegmentResult:
    """What ``predict`` returns.

    masks: ``K×H×W`` bool at the frame's size (K = 3 with ``multimask``, else 1).
    scores: ``K`` float32, the engine's own quality estimate of each mask (SAM: predicted IoU).
    low_res_logits: ``K×256×256`` float32; pass one of them (``[i]``, or ``[i:i+1]``) back as
        ``mask_logits`` with the next click, as SAM's own interactive loop does.
    engine: the name of the engine that made the masks (shown wherever masks are shown).
    """

    masks: np.ndarray
    scores: np.ndarray
    low_res_logits: np.ndarray
    engine: str

    @property
    def best_index(self) -> int:
        """Index of the mask with the highest score."""
        return int(np.argmax(self.scores))

    @property
    def best_mask(self) -> np.ndarray:
        """The ``H×W`` bool mask with the highest score."""
        return self.masks[self.best_index]

    @property
    def best_logits(self) -> np.ndarray:
        """The ``1×256×256`` logits of the best mask, ready to pass back as ``mask_logits``."""
        i = self.best_index
        return self.low_res_logits[i : i + 1]


@runtime_checkable
class Segmenter(Protocol):
    """A point-prompt segmenter. Not thread-safe for ``embed``/``predict``: one caller (the GUI
    or one pipeline job) drives it; ``precompute`` may run on a background thread."""

    #: Human-readable engine name, e.g. ``"SAM vit_b (cpu)"`` or
    #: ``"Fallback segmenter (GrabCut, no SAM weights)"``.
    name: str
    #: True for the weight-free fallback, so the GUI can say so.
    is_fallback: bool
    #: the store's source of a mask made with it (``"sam"``, ``"grabcut"``)
    source: str

    def embed(self, frame: np.ndarray, key: str | None = None) -> str:
        """Make ``frame`` the current frame. Returns where its embedding came from:
        ``"memory"``, ``"disk"`` or ``"computed"``."""
        ...

    def predict(
        self,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None = None,
        mask_logits: np.ndarray | None = None,
        multimask: bool = True,
    ) -> SegmentResult:
        """Masks for the current frame from points (``N×2`` x, y), labels (``N``, 1/0), an
        optional box (``x0, y0, x1, y1``) and the previous low-resolution logits."""
        ...

    def precompute(self, frame: np.ndarray, key: str | None = None) -> bool:
        """Compute and cache ``frame``'s embedding without changing the current frame (safe on
        a background thread). Returns False when it was already cached."""
        ...


def frame_key(frame: np.ndarray) -> str:
    """A content key for a frame: BLAKE2b of its shape, dtype and pixels (32 hex chars)."""
    arr = np.ascontiguousarray(frame)
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((arr.shape, arr.dtype.str)).encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def check_prompts(
    points: np.ndarray | None,
    labels: np.ndarray | None,
    box: np.ndarray | None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Normalise prompts to float32 ``N×2`` points, int32 ``N`` labels, float32 ``4`` box."""
    if points is not None and len(points) == 0:
        points = None
        labels = None
    if points is not None:
        points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        if labels is None:
            raise ValueError("labels are required with points")
        labels = np.asarray(labels, dtype=np.int32).reshape(-1)
        if len(labels) != len(points):
            raise ValueError(f"{len(points)} points but {len(labels)} labels")
    if box is not None:
        box = np.asarray(box, dtype=np.float32).reshape(4)
    if points is None and box is None:
        raise ValueError("predict needs at least one point or a box")
    return points, labels, box
