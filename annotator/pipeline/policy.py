"""When to refine a propagated frame with SAM: ``auto``, ``every``, ``k=N``, ``uncertain``, ``off``.

SAM's image encoder costs about 16 s a frame on a 2-core CPU (vit_b) and under a second on a
GPU, XMem about 1.3 s and 10 ms: the policy sets the price of a propagation. ``every`` refines
all propagated frames (the LU-AVS seed's choice), ``k=N`` every N-th frame of a run,
``uncertain`` a frame when the propagator is unsure of it — low confidence, or a flag (lost,
jump, whole frame) on the raw mask — plus every :data:`UNCERTAIN_EVERY`-th frame, ``off`` none.

``auto`` (the default) is what ``bench/policy_bench.py`` found gives the most *finished* masks
per minute — frames over machine time plus the annotator's time to fix the masks that are not
good — even with a refiner that answered with the ground truth (the upper bound of SAM): where
SAM runs on a GPU, ``every`` (a refinement costs less than the fixes it saves once a fix takes
the annotator ≥ 5 s); on the CPU, ``off`` (a 16 s refinement saves a fix less than half of the
time, so it pays only if a fix took over 40 s). :meth:`RefinePolicy.resolve` makes the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from annotator.core.quality import FlagThresholds
from annotator.errors import UserError

UNCERTAIN_EVERY = 10
UNCERTAIN_CONFIDENCE = 0.7


@dataclass(frozen=True)
class RefinePolicy:
    mode: str = "auto"  # auto | off | every | k | uncertain
    k: int = UNCERTAIN_EVERY

    @classmethod
    def parse(cls, text: str | RefinePolicy | None) -> RefinePolicy:
        """``auto``, ``every``, ``k=N``, ``uncertain``, ``off`` (None: the default, auto)."""
        if isinstance(text, RefinePolicy):
            return text
        if text is None:
            return cls()
        t = text.strip().lower()
        if t in ("auto", "off", "every", "uncertain"):
            return cls(t)
        if t.startswith("k="):
            try:
                k = int(t[2:])
            except ValueError:
                k = 0
            if k >= 1:
                return cls("k", k)
        raise UserError(f"--refine {text!r}: expected auto, every, k=N (N ≥ 1), uncertain or off")

    def __str__(self) -> str:
        return f"k={self.k}" if self.mode == "k" else self.mode

    def resolve(self, device_type: str | None) -> RefinePolicy:
        """The policy to run with SAM on ``device_type`` (``cpu``, ``cuda``, ``mps``; None:
        no SAM): ``auto`` becomes ``every`` on a GPU and ``off`` on the CPU (see the module
        docstring); without SAM every policy is ``off``; others stay as they are."""
        if device_type is None:
            return RefinePolicy("off")
        if self.mode == "auto":
            return RefinePolicy("off" if device_type == "cpu" else "every")
        return self

    def for_refiner(self, refiner) -> RefinePolicy:  # noqa: ANN001
        """:meth:`resolve` for the device ``refiner``'s segmenter really runs on (asked of the
        loaded model, not of the preference; None: no refiner)."""
        if refiner is None:
            return RefinePolicy("off")
        seg = getattr(refiner, "segmenter", None)
        device = getattr(seg, "device", None)  # where the loaded weights are
        if device is None:  # a segmenter that only knows its choice
            device = getattr(getattr(seg, "device_choice", None), "device", None)
        kind = str(getattr(device, "type", device)).split(":")[0] if device is not None else "cpu"
        return self.resolve(kind)

    def wants_frame(self, index_in_run: int, mask: np.ndarray, prev: np.ndarray | None,
                    confidence: float | None, reference_area: float | None) -> bool:
        """:meth:`wants` for a raw propagated mask; the flags it needs are only measured for
        ``uncertain`` (and cheaply: image moments, not the full quality pass)."""
        if self.mode != "uncertain":
            return self.wants(index_in_run, confidence, ())
        return self.wants(index_in_run, confidence, quick_flags(mask, prev, reference_area))

    def wants(self, index_in_run: int, confidence: float | None, flags: tuple[str, ...]) -> bool:
        """Refine the ``index_in_run``-th propagated frame (1 = next to the anchor)?
        (``auto`` must be resolved first; unresolved it refines nothing.)"""
        if self.mode in ("off", "auto"):
            return False
        if self.mode == "every":
            return True
        if self.mode == "k":
            return index_in_run % self.k == 0
        if flags or (confidence is not None and confidence < UNCERTAIN_CONFIDENCE):
            return True
        return index_in_run % self.k == 0


STRIDE = 4  # the trigger looks at every 4th pixel each way: 1/16 of the work, same decisions


def _moments(mask: np.ndarray) -> tuple[float, float, float]:
    """(area, x, y) of the mask in full-size pixels, measured on a strided sample."""
    small = np.ascontiguousarray(mask[::STRIDE, ::STRIDE]).view(np.uint8)
    m = cv2.moments(small, binaryImage=True)
    if m["m00"] == 0:
        return 0.0, 0.0, 0.0
    s = STRIDE
    return m["m00"] * s * s, m["m10"] / m["m00"] * s, m["m01"] / m["m00"] * s


def quick_flags(mask: np.ndarray, prev: np.ndarray | None, reference_area: float | None,
                t: FlagThresholds | None = None) -> tuple[str, ...]:
    """The failure flags of :func:`annotator.core.quality.frame_flags` that need no second
    opinion (lost, whole frame, area and centroid jumps), from the moments of a strided
    sample: a fraction of a millisecond on a 480p mask, so the model thread can afford it on
    every frame (the full measures run on the commit thread)."""
    t = t or FlagThresholds()
    area, cx, cy = _moments(mask)
    limit = t.lost_fraction_of_frame * mask.size
    if reference_area is not None:
        limit = max(limit, t.lost_fraction_of_reference * reference_area)
    if area < limit:
        return ("lost",)
    flags = ["whole_frame"] if area > t.whole_frame * mask.size else []
    if prev is not None:
        a0, x0, y0 = _moments(prev)
        if a0 >= limit:
            if abs(area - a0) / max(area, a0) > t.area_jump:
                flags.append("area_jump")
            if math.hypot(cx - x0, cy - y0) / math.sqrt(max(area, a0)) > t.centroid_jump:
                flags.append("centroid_jump")
    return tuple(flags)
