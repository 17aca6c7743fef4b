"""What the check view lists and what the timeline draws, read from the store (Qt-free).

:func:`check_list` gathers, on a worker thread, the segments' review states
(:mod:`annotator.core.review`: what a reviewer asked for comes first — needs work, then
fixed since, then changed since approval — each at the frame its comment is pinned to), the
flagged clips worst first (the ranking ``annotator review`` prints), the flagged (frame,
object) pairs inside them and the segments a person marked failed; :func:`walk_order` is the order F / Shift+F visit them in;
:func:`frame_states` is one byte per frame of an object for the timeline's rows. One rule for
all of them: a frame is *flagged* when it lies in a clip — what the list counts, F visits and
the timeline marks are the same frames (a frame whose failure score only came near the bar, in
no clip, is not flagged anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NONE, PROPAGATED, FLAGGED, ANCHOR = 0, 1, 2, 3
BOX_KEY, BOX_LINE = 4, 5  # box-only annotation: a keyframe; an interpolated or tracked box


#: the review states listed in the check view, in the order they are listed
LISTED_REVIEWS = ("needs_work", "fixed", "changed")


@dataclass(frozen=True)
class CheckList:
    """The check view's rows: review requests first, then failed segments, then clips worst
    first."""

    clips: tuple = ()
    frames: tuple[tuple[int, int], ...] = ()  # flagged (frame, object), in frame order
    failed: tuple = ()  # segments marked failed
    order: tuple[tuple[int, int, int], ...] = field(default=())  # (frame, object, row) F visits
    reviews: tuple = ()  # every live segment's SegmentReview (annotator.core.review)

    @property
    def empty(self) -> bool:
        return not (self.clips or self.failed or self.listed_reviews)

    @property
    def listed_reviews(self) -> tuple:
        """The reviews the list shows first: needs work, fixed since, changed since approval
        (each in frame order)."""
        return listed(self.reviews)

    def review_of(self, segment_id: int | None) -> object | None:
        return next((r for r in self.reviews if r.segment_id == segment_id), None)

    @property
    def clip_frames(self) -> int:
        """How many frames the clips span."""
        return sum(c.end - c.start + 1 for c in self.clips)

    def flagged(self, n: int, object_id: int | None = None) -> np.ndarray:
        """Bool per frame (``n`` frames): inside a clip (of ``object_id``, or of any object)."""
        out = np.zeros(n, bool)
        for c in self.clips:
            if object_id is None or c.object_id == object_id:
                out[max(0, c.start):min(n, c.end + 1)] = True
        return out


def check_list(store: Any) -> CheckList:
    """Read the check view's rows from ``store`` (worker thread)."""
    from annotator.core.review import segment_reviews
    from annotator.pipeline.clips import review_clips

    clips = review_clips(store)
    spans: dict[int, list[tuple[int, int]]] = {}
    for c in clips:
        spans.setdefault(c.object_id, []).append((c.start, c.end))
    frames = sorted((m.frame, oid) for oid, runs in spans.items() for m in store.masks_of(oid)
                    if m.flags and not m.anchor and any(a <= m.frame <= b for a, b in runs))
    frames = sorted(set(frames) | {(c.worst_frame, c.object_id) for c in clips
                                   if c.worst_frame >= 0})
    failed = [s for s in store.segments() if s.status == "failed"]
    reviews = tuple(segment_reviews(store).values())
    return CheckList(tuple(clips), tuple(frames), tuple(failed),
                     tuple(walk_order(clips, frames, failed, listed(reviews))), reviews)


def listed(reviews: Iterable[Any]) -> tuple:
    """The reviews the check view lists, in its order (see :data:`LISTED_REVIEWS`)."""
    return tuple(sorted((r for r in reviews if r.state in LISTED_REVIEWS),
                        key=lambda r: (LISTED_REVIEWS.index(r.state), r.start, r.segment_id)))


def walk_order(clips: Iterable[Any], frames: list[tuple[int, int]],
               failed: Iterable[Any], reviews: Iterable[Any] = ()) -> list[tuple[int, int, int]]:
    """What F visits, in the list's order: ``(frame, object, row)`` — each listed review's
    frame (its comment's), then a failed segment's first frame, then each clip's flagged
    frames in frame order."""
    out: list[tuple[int, int, int]] = []
    seen: set[tuple[int, int]] = set()
    row = 0
    for r in reviews:
        frame = r.frame if r.frame is not None else r.start
        out.append((frame, r.object_id, row))
        seen.add((frame, r.object_id))
        row += 1
    for seg in failed:
        out.append((seg.start, seg.object_id, row))
        seen.add((seg.start, seg.object_id))
        row += 1
    for c in clips:
        for f, oid in frames:
            if oid == c.object_id and c.start <= f <= c.end and (f, oid) not in seen:
                out.append((f, oid, row))
                seen.add((f, oid))
        row += 1
    return out


def frame_states(store: Any, oid: int, n: int) -> np.ndarray:
    """One byte per frame of ``oid``: none / propagated / anchor, and on the frames of its
    box-only segments box keyframe / interpolated or tracked box (worker thread)."""
    from annotator.core.box_tracks import box_only, box_track

    out = np.zeros(n, np.uint8)
    for m in store.masks_of(oid):
        if 0 <= m.frame < n:
            out[m.frame] = mask_state(m)
    for s in store.segments(oid):
        if box_only(store, oid, s.start, s.end):
            for t in box_track(s.start, s.end, store.boxes_of(oid, s.start, s.end)):
                if t.box is not None and 0 <= t.frame < n:
                    out[t.frame] = BOX_KEY if t.keyframe else BOX_LINE
    return out


def mask_state(m: Any) -> int:
    """The timeline's state of one mask record (None: no mask): whether it is flagged is the
    check list's to say (:meth:`CheckList.flagged`), not the mask's own flags."""
    if m is None:
        return NONE
    return ANCHOR if m.anchor else PROPAGATED
