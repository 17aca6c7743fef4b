"""Optical-flow propagation: the shared frame loop of the weight-free engines, and the plain
flow-warping baseline.

:class:`FlowEngine` implements the :class:`~annotator.engines.propagator.Propagator` protocol's
book-keeping once: frame and mask checks, the working resolution (frames are processed at a
reduced size and probabilities upsampled), dense DIS optical flow from the current frame back to
the previous one, exclusive masks, and forgetting inactive objects. Subclasses say how an object
is predicted on a new frame (``_predict``), how it is learnt from an anchor (``_learn``) and what
is kept once the frame's masks are final (``_commit``).

:class:`FlowWarpPropagator` is the baseline: the previous mask is carried along the flow and
nothing else — what the fallback engine must beat.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from annotator.engines.checks import check_frame
from annotator.engines.propagator import (
    PropagationResult,
    check_given,
    exclusive_masks,
    resolve_active,
)

__all__ = ["FlowEngine", "FlowWarpPropagator", "FrameContext", "warp"]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (previous frame) at ``x + flow(x)``: backward warping, zeros outside."""
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        image,
        grid_x + flow[..., 0],
        grid_y + flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


@dataclass
class FrameContext:
    """What one step knows about the current frame, at the working resolution."""

    rgb: np.ndarray  # h×w×3 uint8, working resolution
    gray: np.ndarray  # h×w uint8
    flow: np.ndarray | None  # h×w×2 float32 backward flow (current → previous), None on 1st frame
    full_shape: tuple[int, int]
    index: int  # frames processed since reset(), 0-based


class FlowEngine:
    """Shared frame loop of flow-based engines (see the module docstring)."""

    name = "flow engine"

    def __init__(self, work_long_side: int | None = 480, flow_preset: int = 2) -> None:
        """``work_long_side``: long side of the working resolution (None: full size);
        ``flow_preset``: DIS preset (0 ultrafast, 1 fast, 2 medium)."""
        self.work_long_side = work_long_side
        self._dis = cv2.DISOpticalFlow_create(flow_preset)
        self.reset()

    # -- protocol --------------------------------------------------------------------------
    def reset(self) -> None:
        self._shape: tuple[int, int] | None = None
        self._work_size: tuple[int, int] | None = None  # (w, h) for cv2
        self._prev_gray: np.ndarray | None = None
        self._objects: set[int] = set()
        self._index = 0
        self._forget_all()

    def memory_bytes(self) -> int:
        held = 0 if self._prev_gray is None else self._prev_gray.nbytes
        return held + self._state_bytes()

    def step(
        self,
        frame: np.ndarray,
        given: Mapping[int, np.ndarray] | None = None,
        active: Collection[int] | None = None,
    ) -> PropagationResult:
        frame = check_frame(frame, self._shape)
        if self._shape is None:
            self._start(frame.shape[:2])
        assert self._shape is not None and self._work_size is not None
        anchors = check_given(given, self._shape)
        ids = resolve_active(self._objects, anchors, active)
        for obj_id in self._objects - set(ids):
            self._forget(obj_id)
        self._objects = set(ids)

        rgb = frame
        if self._work_size != (self._shape[1], self._shape[0]):
            rgb = cv2.resize(frame, self._work_size, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        flow = None
        if self._prev_gray is not None and any(i not in anchors for i in ids):
            flow = self._dis.calc(gray, self._prev_gray, None)
        ctx = FrameContext(rgb, gray, flow, self._shape, self._index)

        work_probs: dict[int, np.ndarray] = {}
        for obj_id in ids:
            if obj_id in anchors:
                work_probs[obj_id] = self._to_work(anchors[obj_id].astype(np.float32))
                self._learn(obj_id, ctx, anchors[obj_id], work_probs[obj_id])
            else:
                work_probs[obj_id] = self._predict(obj_id, ctx)
        full_probs = {i: self._to_full(p) for i, p in work_probs.items()}
        full_probs.update({i: m.astype(np.float32) for i, m in anchors.items()})
        masks = exclusive_masks(full_probs)
        taken = np.zeros(self._shape, bool)
        for mask in anchors.values():
            taken |= mask
        for obj_id in ids:
            masks[obj_id] = anchors[obj_id] if obj_id in anchors else masks[obj_id] & ~taken
        confidence = {
            i: 1.0 if i in anchors else self._commit(i, ctx, work_probs[i], masks[i]) for i in ids
        }
        self._prev_gray = gray
        self._index += 1
        return PropagationResult(masks=masks, probs=work_probs, confidence=confidence)

    # -- resolution ------------------------------------------------------------------------
    def _start(self, shape: tuple[int, int]) -> None:
        self._shape = (int(shape[0]), int(shape[1]))
        h, w = self._shape
        scale = 1.0
        if self.work_long_side is not None and max(h, w) > self.work_long_side:
            scale = self.work_long_side / max(h, w)
        self._work_size = (max(1, round(w * scale)), max(1, round(h * scale)))

    def _to_work(self, image: np.ndarray) -> np.ndarray:
        assert self._work_size is not None
        if image.shape[1::-1] == self._work_size:
            return image
        return cv2.resize(image, self._work_size, interpolation=cv2.INTER_AREA)

    def _to_full(self, image: np.ndarray) -> np.ndarray:
        assert self._shape is not None
        if image.shape[:2] == self._shape:
            return image
        return cv2.resize(image, self._shape[::-1], interpolation=cv2.INTER_LINEAR)

    # -- hooks for subclasses --------------------------------------------------------------
    def _forget_all(self) -> None:
        raise NotImplementedError

    def _forget(self, obj_id: int) -> None:
        raise NotImplementedError

    def _state_bytes(self) -> int:
        raise NotImplementedError

    def _learn(self, obj_id: int, ctx: FrameContext, mask: np.ndarray, prob: np.ndarray) -> None:
        """An anchor ``mask`` (full size, final; ``prob``: it at the working size) is known."""
        raise NotImplementedError

    def _predict(self, obj_id: int, ctx: FrameContext) -> np.ndarray:
        """Foreground probability of ``obj_id`` on this frame, at the working size."""
        raise NotImplementedError

    def _commit(self, obj_id: int, ctx: FrameContext, prob: np.ndarray, mask: np.ndarray) -> float:
        """The frame's final (exclusive, full-size) ``mask`` is known: update, return confidence."""
        raise NotImplementedError


class FlowWarpPropagator(FlowEngine):
    """Baseline: the previous frame's mask warped along dense optical flow, nothing more."""

    name = "plain flow warping"
    kind = "flow-warp"

    def __init__(self, work_long_side: int | None = None, flow_preset: int = 2) -> None:
        """Full resolution and DIS's medium preset by default: the strongest plain warping."""
        super().__init__(work_long_side, flow_preset)

    def _forget_all(self) -> None:
        self._prev: dict[int, np.ndarray] = {}

    def _forget(self, obj_id: int) -> None:
        self._prev.pop(obj_id, None)

    def _state_bytes(self) -> int:
        return sum(p.nbytes for p in self._prev.values())

    def _learn(self, obj_id: int, ctx: FrameContext, mask: np.ndarray, prob: np.ndarray) -> None:
        self._prev[obj_id] = prob

    def _predict(self, obj_id: int, ctx: FrameContext) -> np.ndarray:
        assert ctx.flow is not None
        return warp(self._prev[obj_id], ctx.flow)

    def _commit(self, obj_id: int, ctx: FrameContext, prob: np.ndarray, mask: np.ndarray) -> float:
        self._prev[obj_id] = self._to_work(mask.astype(np.float32))
        inside = prob[prob > 0.5]
        # Sharpness of the warped mask: 1 when it stays crisp, lower as it blurs out.
        return float(np.mean(2 * inside - 1)) if inside.size else 0.0
