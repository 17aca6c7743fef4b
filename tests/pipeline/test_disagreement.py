"""Where two annotations disagree (annotator/pipeline/disagreement.py): runs of low-IoU frames
on hand-built IoUs and tracks, worked out by hand; then two real projects of a DAVIS sequence
(the ground truth as masks, one frame changed in the copy), an LU-AVS export of one of them,
and the sources that must be refused (another video, an export of another size or length, an
unreadable folder)."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

from annotator.core.project import Project
from annotator.core.tracks import Track
from annotator.errors import Cancelled, UserError
from annotator.pipeline.disagreement import compare, compare_sources, object_finder, runs
from annotator.pipeline.evaluate import evaluate

from .conftest import gt_mask


def square(y0, y1, x0, x1, shape=(20, 20)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


A = square(0, 4, 0, 4)   # 16 px
B = square(0, 4, 2, 6)   # 16 px, 8 shared with A: IoU 1/3


def track(start, end, masks, label="dog") -> Track:
    def mask(t):
        assert start <= t <= end
        return masks.get(t) if isinstance(masks, dict) else masks

    return Track("v", label, start, end, label, mask, lambda _t: None)


# -- runs ------------------------------------------------------------------------------------
def test_runs_hold_frames_under_the_bar_bridge_short_gaps_and_rank_worst_first():
    ious = [1, 1, 0.5, 0.95, 0.2, 1, 1, 1, 1, 0.3]
    got = runs(ious, 7, offset=100, kinds=["differ"] * 10)
    assert [(c.object_id, c.start, c.end) for c in got] == [(7, 102, 104), (7, 109, 109)]
    first = got[0]
    assert first.score == pytest.approx(0.5 + 0.05 + 0.8)  # 1 − IoU over the run, gap included
    assert (first.worst_frame, first.worst) == (104, pytest.approx(0.8))
    assert first.flags == {"differ": 2}  # frame 103 (0.95) is bridged, not disagreeing
    # a gap of 3 frames of agreement or more splits; IoU at the bar agrees
    assert [(c.start, c.end) for c in runs([0.5, 1, 1, 1, 0.5], 1)] == [(0, 0), (4, 4)]
    assert runs([0.9, 0.9, 1.0], 1) == []
    assert [(c.start, c.end) for c in runs([0.9, 0.899], 1)] == [(1, 1)]


# -- compare on hand-built tracks --------------------------------------------------------------
def test_compare_scores_what_evaluate_scores_and_lists_the_frames_that_differ():
    gt = [track(0, 9, A), track(20, 29, A, "cat")]
    dog = {t: A for t in range(10)} | {3: B, 4: None}  # IoU 1/3 on 3, a missing mask on 4
    pred = [track(0, 9, dog), track(20, 29, A, "cat"),
            track(12, 14, A),                       # a dog segment only the other side has
            track(40, 41, None, "bird")]            # one without masks: nothing to see
    ids = {"dog": 1, "cat": 2, "bird": 3}
    comp = compare(gt, pred, lambda t: ids[t.label])
    want = evaluate(gt, pred)
    assert comp.scores.overall == want.overall
    assert comp.scores.per_category == want.per_category
    clips = comp.checks.clips
    assert [(c.object_id, c.start, c.end) for c in clips] == [(1, 12, 14), (1, 3, 4)]
    assert clips[0].score == 3.0 and clips[0].flags == {"only_pred": 3}
    assert clips[1].score == pytest.approx(2 / 3 + 1)
    assert (clips[1].worst_frame, clips[1].flags) == (4, {"differ": 1, "only_gt": 1})
    assert comp.iou == {(1, 3): pytest.approx(1 / 3), (1, 4): 0.0, (1, 12): 0.0, (1, 13): 0.0,
                        (1, 14): 0.0}
    # F walks the rows worst first and, inside a row, its frames worst first
    assert comp.checks.order == ((12, 1, 0), (13, 1, 0), (14, 1, 0), (4, 1, 1), (3, 1, 1))
    assert comp.checks.failed == ()


def test_identical_sides_agree_everywhere():
    gt = [track(0, 4, A)]
    comp = compare(gt, [track(0, 4, A)])
    assert comp.scores.overall["m_tIoU"] == 1.0
    assert comp.checks.clips == () and comp.checks.order == () and comp.iou == {}


# -- real projects -----------------------------------------------------------------------------
SEQ = "dog-agility"  # 25 frames of 854×480


@pytest.fixture
def pair(make_project, tmp_path, shared):
    """A project of dog-agility with the ground truth on frames 0–24 (one segment), closed,
    and a copy of it whose frame 12 holds frame 0's mask instead."""
    folder = shared("data", "davis2016", SEQ)
    project = make_project(SEQ, anchors=range(25), segments=[(0, 24)], name="a.avsproj")
    project.close()
    a, b = tmp_path / "a.avsproj", tmp_path / "b.avsproj"
    shutil.copytree(a, b)
    with Project.open(b) as other:
        dog = other.store.object_by_name("dog").id
        other.store.put_mask(dog, 12, gt_mask(folder, 0), source="manual")
    return a, b


def _iou(x, y) -> float:
    return float((x & y).sum() / (x | y).sum())


def test_two_projects_of_one_video_are_scored_and_the_changed_frame_comes_first(pair, shared):
    from annotator.pipeline.track_sources import open_tracks

    a, b = pair
    seen = []
    comp, other = compare_sources(a, b, progress=lambda d, t: seen.append((d, t)))
    try:
        with open_tracks(a) as gt, open_tracks(b) as pred:
            want, swapped = evaluate(gt, pred), evaluate(pred, gt)
        assert comp.scores.overall == want.overall and comp.scores.n_segments == 1
        folder = shared("data", "davis2016", SEQ)
        expected = _iou(gt_mask(folder, 12), gt_mask(folder, 0))
        assert expected < 0.9  # the dog moved: the changed frame disagrees
        with Project.open(a, readonly=True) as p:
            dog = p.store.object_by_name("dog").id
        first = comp.checks.clips[0]
        assert (first.object_id, first.worst_frame) == (dog, 12)
        assert comp.iou[(dog, 12)] == pytest.approx(expected)
        assert comp.checks.order[0][:2] == (12, dog)
        assert seen[-1] == (25, 25)
        assert other.objects == [dog]
        (i, mask), = other.masks_at(12)
        assert i == 0 and np.array_equal(mask, gt_mask(folder, 0))
    finally:
        other.close()
    assert other.masks_at(12) == []  # closed: nothing more is read
    comp, other = compare_sources(a, b, reference="other")  # the other as ground truth
    other.close()
    assert comp.scores.overall == swapped.overall  # (the F-measure weights precision)
    assert comp.scores.overall["m_tF"] != want.overall["m_tF"]
    assert comp.checks.clips[0].worst_frame == 12


def test_an_export_of_the_same_video_is_compared_and_one_of_another_size_is_refused(pair):
    from annotator.core.lu_avs import export_lu_avs

    a, b = pair
    out = a.parent / "b-lu-avs"
    with Project.open(b, readonly=True) as p:
        export_lu_avs(p.store, out)
    comp, other = compare_sources(a, out)
    other.close()
    first = comp.checks.clips[0]
    assert first.worst_frame == 12 and other.kind == "lu-avs"
    # the same export with masks of another size
    (npy,) = out.glob("train/*/masks.npy")
    smaller = npy.with_name("smaller.npy")  # a new file in its place, as an export writes it
    np.save(smaller, np.zeros((25, 240, 427), bool))
    smaller.replace(npy)
    with pytest.raises(UserError, match=r"masks\.npy: masks of 427×240; this video is "
                                         r"854×480"):
        compare_sources(a, out)
    # an export whose segment runs past the video's end
    seg = out / "seg_train.json"
    data = json.loads(seg.read_text())
    vid = next(iter(data))
    data[vid]["annotations"][0]["segment"] = [0, 99]
    seg.write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"b-lu-avs: a segment of 'dog' ends at frame 99, past "
                                         r"the last frame \(24\)"):
        compare_sources(a, out)


def test_another_video_and_an_unreadable_source_are_refused_naming_them(pair, make_project,
                                                                         tmp_path):
    a, _b = pair
    bmx = make_project("bmx-bumps", anchors=(), name="bmx.avsproj")
    bmx.close()
    with pytest.raises(UserError, match=r"bmx\.avsproj: a project of another video \(90 frames "
                                         r"of 854×480; this video has 25 frames of 854×480\)"):
        compare_sources(a, tmp_path / "bmx.avsproj")
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    with pytest.raises(UserError, match=r"nothing: neither a project folder nor an LU-AVS"):
        compare_sources(a, nothing)
    damaged = tmp_path / "damaged.avsproj"
    damaged.mkdir()
    (damaged / "project.avs").write_bytes(b"not a database" * 100)
    with pytest.raises(UserError, match=r"damaged\.avsproj"):
        compare_sources(a, damaged)


def test_a_comparison_stops_when_cancelled(pair):
    a, b = pair
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        compare_sources(a, b, cancel=stop)


def test_object_finder_names_the_object_of_a_track(make_project):
    project = make_project(SEQ, anchors=(), segments=[(0, 9), (15, 24)])
    store = project.store
    dog = store.object_by_name("dog").id
    find = object_finder(store)
    label = store.objects()[0].category
    assert find(track(0, 9, None, label)) == dog           # a segment of the project
    assert find(track(5, 18, None, label)) == dog          # overlapping its segments
    assert find(track(11, 13, None, label)) == dog         # that category, no overlap
    assert find(track(0, 9, None, "a category it lacks")) is None
