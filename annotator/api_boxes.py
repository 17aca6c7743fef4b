"""The box calls of :class:`annotator.api.Project`: box keyframes (set, outside, delete), the
box on a frame, box tracking and masks from boxes — what the window's Keyframe box tool (K,
Shift+K, Shift+Del), P on a box-only segment and Propagate ▸ Masks from boxes do, and what
``annotator propagate`` (``--masks-from-boxes``) runs. docs/api.md has the details.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from annotator.core.box_tracks import TrackBox, box_only, segment_track
from annotator.errors import UserError
from annotator.pipeline import prompting
from annotator.pipeline.box_tracking import BoxTrackResult
from annotator.pipeline.job import Progress


class BoxCalls:
    """Mixed into :class:`annotator.api.Project` (needs ``store``, ``project``, ``dir``,
    ``_object``, ``_frame``, ``_writable``, ``_apply``)."""

    store: Any
    project: Any
    dir: Any
    _object: Callable[[int], Any]
    _frame: Callable[[int], int]
    _writable: Callable[[], None]
    _apply: Callable[[str, str, Callable[[int], Any]], Any]
    _make_segmenter: Callable[[], Any]

    def _segment_at(self, obj: int, frame: int) -> Any:
        o = self._object(obj)
        frame = self._frame(frame)
        seg = next((s for s in self.store.segments(o.id) if frame in s), None)
        if seg is None:
            raise UserError(f"{self.dir}: {prompting.outside_segments(o.name, frame)} Boxes "
                            "exist only where the object sounds: add a segment holding it "
                            "first (project.add_segment(obj, start, end)).")
        return seg

    # -- reading -----------------------------------------------------------------------------
    def box(self, obj: int, frame: int) -> TrackBox | None:
        """``obj``'s box on ``frame`` as the window shows it (``box`` ``(x0, y0, x1, y1)``,
        ``source`` drawn / imported / tracked / interpolated / mask, ``keyframe``,
        ``outside``, ``overruled``), or None where it has none (outside its segments, before
        its first keyframe, inside an outside span)."""
        self._object(obj)
        frame = self._frame(frame)
        seg = next((s for s in self.store.segments(obj) if frame in s), None)
        if seg is None:
            return None
        return next((t for t in segment_track(self.store, obj, seg.start, seg.end)
                     if t.frame == frame), None)

    def boxes(self, obj: int, segment: int | None = None) -> list[TrackBox]:
        """The box track of ``obj`` over one of its segments (an id; None: every segment),
        frame by frame (frames with no box left out, outside keyframes listed)."""
        self._object(obj)
        segs = [s for s in self.store.segments(obj) if segment in (None, s.id)]
        if segment is not None and not segs:
            raise UserError(f"{self.dir}: segment {segment} is not one of object {obj}'s")
        return [t for s in segs for t in segment_track(self.store, obj, s.start, s.end)]

    # -- keyframes ---------------------------------------------------------------------------
    def set_box(self, obj: int, frame: int, x0: float, y0: float, x1: float,
                y1: float) -> TrackBox:
        """A box keyframe of ``obj`` on ``frame`` (any two opposite corners, in pixels,
        clipped to the frame), as the Keyframe box tool draws one: one undo step; boxes
        between keyframes are interpolated. Returns the frame's box."""
        self._writable()
        self._segment_at(obj, frame)
        box = prompting.clip_box((x0, y0, x1, y1), self.store.size_hw)
        self._apply(f"Box keyframe on frame {frame}", "box",
                    lambda op: self.store.put_box(obj, int(frame), box, op=op))
        return self.box(obj, frame)  # type: ignore[return-value] - just written

    def set_outside(self, obj: int, frame: int) -> None:
        """An outside keyframe (Shift+K): ``obj`` is not visible from ``frame`` until its next
        keyframe (the box shown there, if any, is kept with it). One undo step."""
        self._writable()
        self._segment_at(obj, frame)
        shown = self.box(obj, frame)
        h, w = self.store.size_hw
        box = shown.box if shown is not None and shown.box is not None else (0.0, 0.0, w, h)
        self._apply(f"Not visible from frame {frame}", "box",
                    lambda op: self.store.put_box(obj, int(frame), box, outside=True, op=op))

    def delete_box(self, obj: int, frame: int) -> None:
        """Delete ``obj``'s box keyframe on ``frame`` (Shift+Del; interpolation takes its
        place). One undo step; a frame with no keyframe is a ``UserError``."""
        self._writable()
        self._segment_at(obj, frame)
        shown = self.box(obj, frame)
        if shown is None or not shown.keyframe:
            raise UserError(f"{self.dir}: object {obj} has no box keyframe on frame {frame}")
        self._apply(f"Delete box keyframe on frame {frame}", "delete_box",
                    lambda op: self.store.delete_box(obj, int(frame), op=op))

    # -- jobs --------------------------------------------------------------------------------
    def track_boxes(self, segments: list[int] | None = None, *, engine: str = "auto",
                    progress: Callable[[Progress], None] | None = None,
                    cancel: threading.Event | None = None) -> list[BoxTrackResult]:
        """Box tracking of the box-only segments (ids; None: all), as ``annotator
        propagate`` runs it, blocking until done: one result per segment (``state`` done,
        cancelled, already — tracked from the same keyframes —, skipped — no visible
        keyframe —; ``written``, ``kept``, ``lost``, ``replayed``). A person's box is never
        replaced; ``cancel`` stops after the frame in flight and the next call resumes."""
        from annotator.pipeline.box_tracking import track_box_segments
        from annotator.pipeline.queue import choose_engine

        self._writable()
        if segments is not None:
            segments = [int(s) for s in segments]
            for sid in segments:
                seg = self.store.segment(sid)  # an unknown id: the store's error
                if not box_only(self.store, seg.object_id, seg.start, seg.end):
                    raise UserError(f"{self.dir}: segment {sid} is not box-only (it has "
                                    "masks, or no box keyframe): project.propagate tracks "
                                    "masks; project.set_box draws a box keyframe")
        started = time.monotonic()

        def report(done: int, total: int, frame: int) -> None:
            if progress is not None:
                progress(Progress("boxes", done, total, frame, time.monotonic() - started))

        return track_box_segments(self.project, choose_engine(engine), segments=segments,
                                  progress=report, cancel=cancel)

    def masks_from_boxes(self, segment: int) -> int:
        """A box-only segment's keyframe boxes become anchor masks (the segmenter's: SAM, or
        GrabCut in the box), one undo step; the boxes stay. ``project.propagate([segment])``
        then fills the frames between. Returns the number of anchors made."""
        from annotator.pipeline.box_tracking import masks_from_boxes

        self._writable()
        seg = self.store.segment(int(segment))
        if not box_only(self.store, seg.object_id, seg.start, seg.end):
            raise UserError(f"{self.dir}: segment {segment} is not box-only (it has masks, "
                            "or no box keyframe): masks are made from the boxes of a segment "
                            "with box keyframes and no mask")
        return masks_from_boxes(self.project, seg, self._make_segmenter())
