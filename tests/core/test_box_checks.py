"""Flags of a box track: a jump, a sudden size change and a tracked box that disagrees with
the interpolation are flagged on the frame that is not a person's keyframe; the check view's
list (``review_clips``) holds a clip for them, read from the real store file."""

from annotator.core.box_checks import box_flags
from annotator.core.box_tracks import box_track
from annotator.core.records import BoxRecord, VideoRecord
from annotator.core.store import Store
from annotator.pipeline.clips import review_clips
from annotator.pipeline.flags import flag_help, flag_label


def rec(frame, box, source="drawn"):
    return BoxRecord(frame, 1, frame, box, False, source, 0.0, 1, None)


def test_jumps_size_changes_and_disagreement_are_flagged():
    rows = [rec(0, (0, 0, 10, 10)), rec(10, (10, 0, 20, 10)),
            rec(3, (3, 0, 13, 10), "tracked"),      # on the interpolation: fine
            rec(4, (40, 0, 50, 10), "tracked"),     # jumps away, off the interpolation
            rec(5, (5, 0, 15, 10), "tracked"),      # jumps back
            rec(7, (7, 0, 30, 30), "tracked")]      # grows sixfold
    flags = box_flags(box_track(0, 10, rows), rows)
    assert flags[4] == ("box_jump", "box_disagree") and flags[5] == ("box_jump",)
    assert "box_size" in flags[7] and "box_size" in flags[8]  # and back to the interpolation
    assert set(flags) == {4, 5, 7, 8}
    assert box_flags(box_track(0, 10, rows[:2]), rows[:2]) == {}  # interpolation is smooth
    assert flag_label("box_disagree") == "track–interpolation disagreement"
    assert "keyframe" in flag_help("box_jump")


def test_the_check_list_has_a_clip_for_a_bad_box_track(tmp_path):
    s = Store(tmp_path / "p.avs", create=True)
    s.set_video(VideoRecord("/v.mp4", None, False, 1, "x", 40, 25.0, 64, 48, 1.6, False))
    car = s.add_object("car")
    s.add_segment(car, 0, 20)
    s.put_box(car, 0, (0, 0, 10, 10))
    s.put_box(car, 20, (20, 0, 30, 10))
    s.put_box(car, 9, (50, 30, 60, 40), source="tracked")
    (clip,) = review_clips(s)
    assert (clip.object_id, clip.worst_frame) == (car, 9) and clip.start <= 9 <= clip.end
    assert clip.flags["box_jump"] >= 1 and clip.flags["box_disagree"] == 1
    s.close()
