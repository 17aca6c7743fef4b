"""The box track of a segment: keyframes, outside spans, tracked boxes, masks' boxes, and
linear interpolation exact to 1e-6 (float64, never rounded)."""

from fractions import Fraction

import pytest

from annotator.core.box_tracks import box_track, interpolate
from annotator.core.records import BoxRecord


def rec(frame, box, source="drawn", outside=False):
    return BoxRecord(frame, 1, frame, box, outside, source, 0.0, 1, None)


def exact(a, b, fa, fb, f):
    """The interpolated box in exact rational arithmetic."""
    t = Fraction(f - fa, fb - fa)
    return [float(Fraction(p) + (Fraction(q) - Fraction(p)) * t) for p, q in zip(a, b)]


def test_interpolation_between_keyframes_is_exact():
    a, b = (10.25, 20.5, 110.75, 220.125), (31.5, 7.0, 170.0, 300.0625)
    track = box_track(3, 13, [rec(3, a), rec(13, b)])
    assert [t.frame for t in track] == list(range(3, 14))
    assert track[0].box == a and track[-1].box == b
    assert track[0].keyframe and track[-1].keyframe and track[0].source == "drawn"
    for t in track[1:-1]:
        assert t.source == "interpolated" and not t.keyframe
        assert t.box == pytest.approx(exact(a, b, 3, 13, t.frame), abs=1e-6)
    # three keyframes over a long span: each stretch from its own two keyframes
    c = (0.0, 0.0, 1.0, 1.0)
    track = box_track(0, 3000, [rec(0, a), rec(1000, b), rec(3000, c)])
    assert track[500].box == pytest.approx(exact(a, b, 0, 1000, 500), abs=1e-6)
    assert track[2999].box == pytest.approx(exact(b, c, 1000, 3000, 2999), abs=1e-6)
    assert interpolate(a, b, 0.0) == a and interpolate(a, b, 1.0) == b


def test_outside_spans_tracked_boxes_masks_and_the_ends():
    a, b, c = (0, 0, 10, 10), (10, 10, 30, 30), (50, 50, 60, 60)
    rows = [rec(2, a), rec(6, b, outside=True), rec(9, c), rec(4, (5, 5, 20, 21), "tracked"),
            rec(7, (5, 5, 6, 6), "tracked")]  # a tracked box inside an outside span
    masks = {3: (2, 2, 12, 12), 1: (0, 0, 3, 3)}
    track = {t.frame: t for t in box_track(0, 11, rows, masks)}
    assert 0 not in track  # before the first keyframe, nothing known
    assert track[1].source == "mask" and track[1].box == (0, 0, 3, 3)
    assert track[3].source == "mask" and track[4].source == "tracked"
    assert track[5].source == "interpolated"  # towards where the object left
    assert track[5].box == pytest.approx(exact(a, b, 2, 6, 5))
    assert track[6].outside and track[6].box is None and track[6].keyframe
    assert 7 not in track and 8 not in track  # not visible until the next keyframe
    assert track[9].box == c and track[10].box == c == track[11].box  # held to the end
    assert track[10].source == "interpolated"
    # a deleted box (no coordinates) and rows outside the range are no keyframes
    assert box_track(0, 4, [rec(2, None), rec(8, a)]) == []


def test_a_tracked_box_that_disagrees_with_the_interpolation_gives_way():
    """The track rule: between keyframes a tracked box under RULE.agree IoU with the
    interpolation is overruled (flagged as such); before the first keyframe and after the
    last one (RULE.held False) the track is kept whatever it says."""
    from annotator.core.box_tracks import RULE, TrackRule, iou

    a, b = (0.0, 0.0, 10.0, 10.0), (10.0, 0.0, 20.0, 10.0)
    off, near = (40.0, 0.0, 50.0, 10.0), (5.0, 0.0, 15.0, 10.5)
    rows = [rec(2, a), rec(12, b), rec(0, off, "tracked"), rec(5, off, "tracked"),
            rec(7, near, "tracked"), rec(14, off, "tracked")]
    track = {t.frame: t for t in box_track(0, 14, rows)}
    assert track[0].source == "tracked" and track[0].box == off  # no interpolation there
    assert track[5].source == "interpolated" and track[5].overruled
    assert track[5].box == pytest.approx(interpolate(a, b, 0.3))
    assert iou(near, interpolate(a, b, 0.5)) >= RULE.agree
    assert track[7].source == "tracked" and not track[7].overruled
    assert track[14].source == "tracked"  # after the last keyframe: held is no interpolation
    held = {t.frame: t for t in box_track(0, 14, rows, rule=TrackRule(RULE.agree, True))}
    assert held[14].overruled and held[14].box == b
    never = {t.frame: t for t in box_track(0, 14, rows, rule=TrackRule(0.0, False))}
    assert never[5].source == "tracked"  # agree 0: the track always wins


def test_one_frame_is_the_tracks_frame():
    from annotator.core.box_tracks import box_at

    rows = [rec(2, (0, 0, 10, 10)), rec(6, (10, 10, 30, 30), outside=True),
            rec(9, (50, 50, 60, 60)), rec(4, (1, 1, 2, 2), "tracked"), rec(1, (0, 0, 3, 3),
                                                                          "tracked")]
    track = {t.frame: t for t in box_track(0, 12, rows)}
    for f in range(-1, 14):
        assert box_at(f, 0, 12, rows) == track.get(f), f
