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
            rec(3, (3, 0, 13, 10), "tracked"),      # on the interpolation: shown, fine
            rec(4, (40, 0, 50, 10), "tracked"),     # off the interpolation: overruled
            rec(12, (12, 0, 22, 10), "tracked"),    # after the last keyframe the track holds
            rec(13, (40, 0, 50, 10), "tracked"),    # jumps away
            rec(14, (14, 0, 24, 10), "tracked"),    # jumps back
            rec(16, (16, 0, 40, 30), "tracked")]    # grows sevenfold from the held box
    track = box_track(0, 17, rows)
    by = {t.frame: t for t in track}
    assert by[3].source == "tracked" and by[4].source == "interpolated" and by[4].overruled
    assert by[4].box == (4, 0, 14, 10) and by[13].source == "tracked"
    flags = box_flags(track)
    assert flags[4] == ("box_disagree",)  # the interpolation shown: no jump there
    assert flags[13] == ("box_jump",) and flags[14] == ("box_jump",)
    assert "box_size" in flags[16] and "box_size" in flags[17]  # and back to the held box
    assert set(flags) == {4, 13, 14, 16, 17}
    assert box_flags(box_track(0, 10, rows[:2])) == {}  # interpolation is smooth
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
    assert clip.flags["box_disagree"] == 1  # the interpolation is shown there: no jump
    s.close()
