"""How far a dataset's videos are, from the rows of :func:`annotator.core.dataset_summary.status_rows`.

A video's *masks done* share is the frames of its audible segments that have a mask, over all
of its segments' frames; the dataset's is the same over every video. A video is *finished*
when it has segments, every segment frame has a mask and no reviewer asks for work on it.
:func:`next_video` is what the window's *Next* opens: the person's unfinished videos, those a
reviewer sent back first, then in the rows' order (by video id).
"""

from __future__ import annotations

NEEDS_WORK = ("needs work", "needs_work")  # a video's (a segment's) review asking for work


def masks_done(row: dict) -> float | None:
    """The share of the video's segment frames with a mask (None: no segments, or unread)."""
    frames, todo = row.get("segment_frames"), row.get("todo_frames")
    if not frames or todo is None:
        return None
    return (frames - todo) / frames


def dataset_done(rows: list[dict]) -> tuple[int, int]:
    """``(segment frames with a mask, segment frames)`` over every readable video."""
    frames = sum(r.get("segment_frames") or 0 for r in rows if "error" not in r)
    todo = sum(r.get("todo_frames") or 0 for r in rows if "error" not in r)
    return frames - todo, frames


def needs_work(row: dict) -> bool:
    return str(row.get("review") or "none") in NEEDS_WORK


def finished(row: dict) -> bool:
    return ("error" not in row and bool(row.get("segments")) and row.get("todo_frames") == 0
            and not needs_work(row))


def next_video(rows: list[dict], person: str, current: str | None = None) -> dict | None:
    """The next unfinished video assigned to ``person`` other than ``current`` (a video id):
    needs work first, then by video id; None when there is none."""
    mine = [r for r in rows if r.get("assignee") == person and r["video_id"] != current
            and "error" not in r and not finished(r)]
    mine.sort(key=lambda r: (not needs_work(r), r["video_id"]))
    return mine[0] if mine else None
