"""What every engine checks of the frames it is handed (both protocols: the point-prompt
Segmenter and the mask Propagator). A leaf: it imports nothing of the engines."""

from __future__ import annotations

import numpy as np

__all__ = ["check_frame"]


def check_frame(frame: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Validate an H×W×3 uint8 RGB frame, and its size against ``shape`` (H, W) when given
    (a run's frames all have one size). A bad frame is a programming error: ValueError."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(
            f"a frame must be an H×W×3 uint8 RGB image, got shape {frame.shape} {frame.dtype}"
        )
    if shape is not None and frame.shape[:2] != tuple(shape):
        raise ValueError(
            f"frame size {frame.shape[1]}×{frame.shape[0]} differs from the run's "
            f"{shape[1]}×{shape[0]}; call reset() before a video of another size"
        )
    return frame
