"""The mask Propagator protocol, shared by the XMem engine and the weight-free fallback.

A propagator carries object masks from frame to frame. The caller feeds frames one at a time,
in the order it wants them processed (backward propagation just feeds them in reverse), and
says on each frame which masks are known there and which objects it wants back::

    prop.reset()                                   # new segment: forget everything
    r = prop.step(frame0, given={1: mask1})        # anchor on the first frame
    r = prop.step(frame1)                          # propagated: r.masks[1]
    r = prop.step(frame2, given={2: mask2})        # object 2 joins mid-run
    r = prop.step(frame3, active=[2])              # object 1's segment ended: forgotten

``step(frame, given=None, active=None) -> PropagationResult``

* ``frame``: H×W×3 ``uint8`` RGB. All frames of a run have the same size.
* ``given``: ``{object id: bool H×W}`` masks known on this frame — anchors (the first frame,
  objects joining mid-run, corrections). They are returned unchanged (an anchor is never
  overwritten) and the engine re-learns the object from them. Where two given masks overlap,
  the higher id keeps the pixel. A mask of another size is an error: the caller pads or resizes
  (e.g. an imported 853-pixel-wide mask on an 854-pixel video) and says so.
* ``active``: ids to output on this frame. ``None`` means every object the engine knows. An
  object left out is forgotten (its memory freed); it needs a new anchor to come back. Objects
  in ``given`` are always active.

The result holds, for each active object, a boolean mask (masks of different objects never
overlap: each pixel goes to the most probable of background and objects), a foreground
probability map (``float32``, possibly at a lower resolution than the frame, same aspect; use
:meth:`PropagationResult.prob_at`), and a confidence in [0, 1] that feeds the quality flags.

Every engine also has a ``name`` for the status bar (a model names the device its weights are
really on: ``XMem (cuda:0)``), a ``kind`` — its entry in the engine table
(:mod:`annotator.engines.engine_table`: ``xmem``, ``fallback``, ``flow-warp``) — and
``memory_bytes()``, the size of what it keeps between frames, which stays bounded however long
the run is.

An engine whose masks depend on how long the run is (SAM 2.1: its object pointers' temporal
encoding is scaled by ``min(run length, 16)``) also has ``set_run_length(n)``: the pipeline's
job calls it after each ``reset()`` with the number of frames the run will step through.

XMem's inference core (``vendor/xmem``) has the step protocol ``step(image, mask, valid_labels,
end) -> (1+N)×H×W probabilities, background first``; its adaptor maps ``given`` to ``mask`` /
``valid_labels`` and ids to channels. Engines are made by name by the process's registry
(:func:`annotator.engines.registry.make_propagator`; XMem's network is loaded there once per
process and each run gets its own propagator over it); which engines exist, and which can run
here, is the engine table's.

This module is a leaf of the engines: the protocol and the helpers every engine shares
(frames are checked by :func:`annotator.engines.checks.check_frame`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

__all__ = [
    "PropagationResult",
    "Propagator",
    "check_given",
    "exclusive_masks",
    "resolve_active",
]


@dataclass(frozen=True)
class PropagationResult:
    """Output of one :meth:`Propagator.step`: per object id, mask, probability and confidence."""

    masks: dict[int, np.ndarray]
    probs: dict[int, np.ndarray] = field(default_factory=dict)
    confidence: dict[int, float] = field(default_factory=dict)

    def prob_at(self, obj_id: int, shape: tuple[int, int]) -> np.ndarray:
        """Probability map of ``obj_id`` resized (bilinear) to ``shape`` = (H, W)."""
        prob = self.probs[obj_id]
        if prob.shape[:2] == tuple(shape):
            return prob
        return cv2.resize(prob, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)

    def label_map(self) -> np.ndarray:
        """H×W ``uint16`` image: 0 for background, the object id elsewhere."""
        if not self.masks:
            raise ValueError("no masks in this result")
        first = next(iter(self.masks.values()))
        labels = np.zeros(first.shape, np.uint16)
        for obj_id, mask in self.masks.items():
            labels[mask] = obj_id
        return labels


@runtime_checkable
class Propagator(Protocol):
    """What every propagation engine offers (see the module docstring for the semantics)."""

    name: str
    kind: str  # its entry in the engine table (annotator.engines.engine_table)

    def reset(self) -> None:
        """Forget all objects and frames (call between segments)."""
        ...

    def step(
        self,
        frame: np.ndarray,
        given: Mapping[int, np.ndarray] | None = None,
        active: Collection[int] | None = None,
    ) -> PropagationResult:
        """Process the next frame and return the active objects' masks on it."""
        ...

    def memory_bytes(self) -> int:
        """Bytes held between frames (bounded whatever the run's length)."""
        ...


# --- helpers shared by engines -------------------------------------------------------------


def check_given(
    given: Mapping[int, np.ndarray] | None, shape: tuple[int, int]
) -> dict[int, np.ndarray]:
    """Validate given masks against the frame ``shape`` and make them exclusive.

    Returns boolean copies; where masks overlap the higher id keeps the pixel.
    """
    if not given:
        return {}
    out: dict[int, np.ndarray] = {}
    taken = np.zeros(shape, bool)
    for obj_id in sorted(given, reverse=True):
        mask = np.asarray(given[obj_id])
        if mask.shape != tuple(shape):
            raise ValueError(
                f"mask of object {obj_id} is {mask.shape[1]}×{mask.shape[0]} but the frame is "
                f"{shape[1]}×{shape[0]}; pad, crop or resize the mask to the frame first"
            )
        mask = mask.astype(bool) & ~taken
        taken |= mask
        out[int(obj_id)] = mask
    return dict(sorted(out.items()))


def resolve_active(
    known: Collection[int], given: Mapping[int, Any], active: Collection[int] | None
) -> list[int]:
    """Sorted ids to output: ``active`` (default: all known) plus the given ones.

    Raises ``ValueError`` for an active id that has never been given a mask.
    """
    ids = set(known) if active is None else {int(i) for i in active}
    ids |= set(given)
    missing = ids - set(known) - set(given)
    if missing:
        raise ValueError(
            f"object(s) {sorted(missing)} have no mask yet: give an anchor mask on the "
            "frame where they first appear"
        )
    return sorted(ids)


def exclusive_masks(probs: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Mutually exclusive masks: each pixel goes to the argmax of background and objects.

    The background's probability is the product of ``1 - p`` over objects (as XMem aggregates
    independent object probabilities), so with one object the mask is ``p > 0.5``.
    """
    if not probs:
        return {}
    maps = {i: np.asarray(p, np.float32) for i, p in probs.items()}
    if len(maps) == 1:  # background = 1 - p
        return {i: p > 0.5 for i, p in maps.items()}
    best = np.ones(next(iter(maps.values())).shape, np.float32)
    for p in maps.values():
        best *= 1.0 - p  # background
    winner = np.zeros(best.shape, np.int32)
    for k, p in enumerate(maps.values(), start=1):
        better = p > best  # ties go to the earlier label, as argmax does
        winner[better] = k
        np.maximum(best, p, out=best)
    return {obj_id: winner == k for k, obj_id in enumerate(maps, start=1)}
