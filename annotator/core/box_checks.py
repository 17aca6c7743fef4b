"""Checks of a box track, for the check view: where a box-only segment's boxes likely went
wrong. Three flags, each on the frame that is not a person's keyframe:

* ``box_jump``: the box's centre moved by more than :data:`JUMP` × the previous box's diagonal
  in one frame;
* ``box_size``: its area changed by more than :data:`SIZE` of the larger area in one frame;
* ``box_disagree``: a tracked box and the interpolation between the keyframes overlap with an
  IoU under :data:`DISAGREE` (the track or the keyframes are off).

The bounds are fixed, round values (not fitted to data).
"""

from __future__ import annotations

from collections.abc import Iterable

from annotator.core.box_tracks import Box, TrackBox, box_track
from annotator.core.records import BoxRecord

JUMP = 0.5
SIZE = 0.5
DISAGREE = 0.5


def iou(a: Box, b: Box) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes (1 for two empty boxes at one place)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 1.0 if union <= 0 else inter / union


def _area(b: Box) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def box_flags(track: list[TrackBox], rows: Iterable[BoxRecord] = ()) -> dict[int, tuple]:
    """``frame -> flags`` of a box track (:func:`annotator.core.box_tracks.box_track`);
    ``rows``: the stored boxes it was made from (their keyframes give the interpolation a
    tracked box is compared with)."""
    out: dict[int, list[str]] = {}
    visible = [t for t in track if t.box is not None]
    for a, b in zip(visible, visible[1:]):
        if b.frame != a.frame + 1:
            continue
        at = b if not b.keyframe else a if not a.keyframe else None
        if at is None:
            continue
        diag = ((a.box[2] - a.box[0]) ** 2 + (a.box[3] - a.box[1]) ** 2) ** 0.5
        dx = (b.box[0] + b.box[2] - a.box[0] - a.box[2]) / 2
        dy = (b.box[1] + b.box[3] - a.box[1] - a.box[3]) / 2
        if (dx * dx + dy * dy) ** 0.5 > JUMP * max(diag, 1.0):
            out.setdefault(at.frame, []).append("box_jump")
        big = max(_area(a.box), _area(b.box))
        if big > 0 and abs(_area(a.box) - _area(b.box)) > SIZE * big:
            out.setdefault(at.frame, []).append("box_size")
    keys = [r for r in rows if r.keyframe]
    if keys and track:
        interp = {t.frame: t.box for t in box_track(track[0].frame, track[-1].frame, keys)}
        for t in visible:
            if t.source == "tracked" and interp.get(t.frame) is not None \
                    and iou(t.box, interp[t.frame]) < DISAGREE:
                out.setdefault(t.frame, []).append("box_disagree")
    return {f: tuple(v) for f, v in sorted(out.items())}
