"""What the project store hands out: one frozen record per kind of row, the words the rows use
(mask sources, segment and proposal states), and the error the store raises.

Plain data, no database: the store (:mod:`annotator.core.store`), its history and proposals,
the importers, exporters and the pipeline all read these without importing the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annotator.core import masks as M
from annotator.errors import DamagedError, UserError

#: where a mask came from: drawn, clicked through SAM or through the weight-free GrabCut
#: segmenter, propagated, refined by SAM, imported, painted with the brush
SOURCES = ("manual", "sam", "grabcut", "propagated", "refined", "imported", "brush")
ANCHOR_SOURCES = frozenset({"manual", "sam", "grabcut", "imported", "brush"})
#: the sources of masks a person made: a job never overwrites them (nor an anchor)
HUMAN_SOURCES = ANCHOR_SOURCES
#: where a stored box came from: drawn by a person (a keyframe), imported (a keyframe), tracked
#: (from propagated masks). Boxes a track shows but the store does not hold are ``interpolated``
#: (between keyframes) and ``mask`` (a mask's tight box): see :mod:`annotator.core.box_tracks`.
BOX_SOURCES = ("drawn", "imported", "tracked")
#: the boxes a person made: keyframes, never overwritten by a job
KEYFRAME_SOURCES = frozenset({"drawn", "imported"})
SEGMENT_STATUSES = ("todo", "annotated", "propagated", "review", "done", "failed")
PROPOSAL_STATES = ("open", "accepted", "rejected")
#: what a reviewer says of an audible segment (a review event; see annotator.core.review)
REVIEW_VERDICTS = ("approved", "needs_work")


class StoreError(UserError):
    """The project database cannot be used as asked."""


class DamagedStoreError(StoreError, DamagedError):
    """The file is not a readable project database (damaged, empty, another program's)."""


@dataclass(frozen=True)
class VideoRecord:
    path: str
    rel_path: str | None
    is_folder: bool
    size_bytes: int | None
    fingerprint: str | None
    frame_count: int
    fps: float
    width: int
    height: int
    duration: float | None
    has_audio: bool
    frame_index: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ObjectRecord:
    id: int
    name: str
    category: str
    category_id: int
    color: str


@dataclass(frozen=True)
class SegmentRecord:
    """An audible segment: the closed frame range ``[start, end]`` of one object."""

    id: int
    object_id: int
    start: int
    end: int
    status: str
    note: str | None

    def __contains__(self, frame: int) -> bool:
        return self.start <= frame <= self.end

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class MaskRecord:
    """One revision of the mask of (object, frame); ``rle`` None marks a deletion."""

    rev_id: int
    object_id: int
    frame: int
    rle: M.RLE | None
    area: int
    bbox: tuple[float, float, float, float] | None
    source: str
    anchor: bool
    quality: dict | None
    flags: tuple[str, ...]
    score: float | None
    model: str | None
    created: float
    op_id: int
    prev_id: int | None

    def decode(self) -> np.ndarray:
        if self.rle is None:
            raise ValueError("a deleted mask has no pixels")
        return M.decode(self.rle)


@dataclass(frozen=True)
class BoxRecord:
    """One revision of the box of (object, frame): ``box`` is ``(x0, y0, x1, y1)`` in pixels
    (None marks a deletion); ``outside``: from this keyframe on, the object is not visible
    until the next keyframe (its box is kept for tools that want one)."""

    rev_id: int
    object_id: int
    frame: int
    box: tuple[float, float, float, float] | None
    outside: bool
    source: str
    created: float
    op_id: int
    prev_id: int | None

    @property
    def keyframe(self) -> bool:
        return self.source in KEYFRAME_SOURCES


@dataclass(frozen=True)
class ProposalRecord:
    """A span the sound-activity detector proposed (see :mod:`annotator.core.proposals`)."""

    id: int
    start: int  # first frame
    end: int  # last frame (inclusive)
    score: float | None
    state: str  # 'open' | 'accepted' | 'rejected'
    segment_id: int | None  # the segment an accepted proposal became

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Operation:
    """One undo unit (a row of ``ops``; see :mod:`annotator.core.history`)."""

    id: int
    kind: str
    label: str
    created: float
    undone: bool
    seq: int = 0  # position in the order of writes (see annotator.core.history)
    author: str | None = None  # who made it (None: made before the store recorded people)


@dataclass(frozen=True)
class ReviewEvent:
    """What a reviewer said of a segment, and what the segment held then (a row of
    ``review_events``; see :mod:`annotator.core.review`)."""

    id: int
    segment_id: int
    object_id: int
    start: int  # the segment's frames when it was reviewed
    end: int
    state: str  # 'approved' | 'needs_work'
    author: str
    comment: str | None
    frame: int | None  # the frame the comment is pinned to
    created: float
    content: str | None  # digest of the segment's current revisions then
