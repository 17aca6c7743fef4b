"""An audible segment as a benchmark sees it: a label over a closed frame range, with a mask
(and its box) per frame — what the LU-AVS layout stores and what ``annotator evaluate`` scores.

A :class:`Track` is read lazily: ``mask(frame)`` decodes one frame when asked, so scoring a
3,000-frame segment holds one frame of each side in memory. Tracks come from a project
(:func:`annotator.core.lu_avs.project_tracks`) or from an LU-AVS export or release
(:func:`annotator.core.lu_avs.release_tracks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MaskOf = Callable[[int], "np.ndarray | None"]
BoxOf = Callable[[int], "np.ndarray | None"]


@dataclass(frozen=True)
class Track:
    """One audible segment: ``label`` sounds over frames ``start``–``end`` (both inclusive)
    of ``video``. ``mask(frame)``: H×W bool, or None where nothing is annotated on that frame
    (scored as an empty mask: the object not visible); ``box(frame)``: ``[x0, y0, x1, y1]``
    float in pixels, or None where there is no box. ``name``: the object(s) the segment is of
    (a project's object names joined with ", "; the label where the source has none)."""

    video: str
    label: str
    start: int
    end: int
    name: str
    mask: MaskOf
    box: BoxOf
    label_id: int | None = None

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def __contains__(self, frame: int) -> bool:
        return self.start <= frame <= self.end


def box_of(mask: np.ndarray | None) -> np.ndarray | None:
    """The tight box ``[x0, y0, x1, y1]`` (float32, pixel edges: COCO's x, y, x + w, y + h) of
    a mask; None for no mask or an empty one."""
    if mask is None:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)
