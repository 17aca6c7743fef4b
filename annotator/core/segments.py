"""The segment rule, written once: what frame ranges may be an object's audible segment.

A segment ``[start, end]`` of an object lies inside the video's frames, does not start after it
ends, and does not overlap another segment of the same object (which anchor would a frame in
both use?). Segments of different objects may overlap. Spans that touch (one ends on frame 9,
the next starts on 10) do not overlap.

The store enforces the rule on every add and change (:meth:`Store.add_segment`,
:meth:`Store.update_segment`); the importers, proposals, the timeline and the planner ask
:func:`segment_problem` for the words of their own messages.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any


def span_words(start: int, end: int) -> str:
    """``"frames 10–65"``: how a span is named to a person."""
    return f"frames {start}–{end}"


def first_overlap(segments: Iterable[Any], object_id: Hashable, start: int, end: int, *,
                  ignore: Hashable | None = None) -> Any | None:
    """The first of ``segments`` (records with ``.id``, ``.object_id``, ``.start``, ``.end``)
    of ``object_id`` that shares a frame with ``[start, end]``; the one whose id is
    ``ignore`` (the segment being changed) is skipped. None when none does."""
    for s in segments:
        if (s.object_id == object_id and (ignore is None or s.id != ignore)
                and start <= s.end and s.start <= end):
            return s
    return None


def segment_problem(segments: Iterable[Any], object_id: Hashable, start: int, end: int,
                    frame_count: int, *, ignore: Hashable | None = None,
                    name: str | None = None) -> str | None:
    """Why ``[start, end]`` cannot be a segment of ``object_id``, in one sentence without a
    final stop (None when it can). ``segments``: the segments it must not overlap (any
    records with ``.id``, ``.object_id``, ``.start``, ``.end``; those of other objects are
    passed over); ``frame_count``: the video's frames; ``ignore``: the id of the segment being
    changed; ``name``: the object's name, for the overlap sentence ("bell's segment 10–65").
    """
    if start > end:
        return f"{span_words(start, end)} would start after they end"
    if start < 0 or end >= frame_count:
        return f"{span_words(start, end)} are outside the video (frames 0–{frame_count - 1})"
    other = first_overlap(segments, object_id, start, end, ignore=ignore)
    if other is not None:
        whose = f"{name}'s" if name else "the object's"
        return (f"{span_words(start, end)} overlap {whose} segment "
                f"{other.start}–{other.end}")
    return None
