"""Checks of a box track, for the check view: where a box-only segment's boxes likely went
wrong. Three flags, each on the frame that is not a person's keyframe:

* ``box_jump``: the box's centre moved by more than :data:`JUMP` × the previous box's diagonal
  in one frame;
* ``box_size``: its area changed by more than :data:`SIZE` of the larger area in one frame;
* ``box_disagree``: a tracked box and the interpolation between the keyframes disagreed (an
  IoU under :data:`annotator.core.box_tracks.RULE` ``.agree``), so the track shows the
  interpolation there (the track or the keyframes are off).

The jump and size bounds are fixed, round values (not fitted to data); the disagreement bound
is the track rule's, chosen held out (``bench/box_rule_bench.py``).
"""

from __future__ import annotations

from annotator.core.box_tracks import Box, TrackBox

JUMP = 0.5
SIZE = 0.5


def _area(b: Box) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def box_flags(track: list[TrackBox]) -> dict[int, tuple]:
    """``frame -> flags`` of a box track (:func:`annotator.core.box_tracks.box_track`, which
    says where a tracked box was overruled by the interpolation)."""
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
    for t in visible:
        if t.overruled:
            out.setdefault(t.frame, []).append("box_disagree")
    return {f: tuple(v) for f, v in sorted(out.items())}
