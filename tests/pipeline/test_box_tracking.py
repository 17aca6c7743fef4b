"""Box tracking on a real DAVIS sequence with the real weight-free engines (GrabCut from the
keyframe box, the fallback propagator): tracked boxes between and around the keyframes, a box a
person drew kept, outside spans left alone, undo of the whole run; and ``annotator propagate``
killed with SIGKILL mid-track loses nothing a person drew. Nothing stands in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from annotator import api
from annotator.core.box_tracks import segment_track
from annotator.engines.fallback_propagator import FallbackPropagator
from annotator.engines.fallback_segmenter import FallbackSegmenter
from annotator.pipeline.box_tracking import stretches, track_box_segments
from annotator.pipeline.evaluate import box_iou

SEQ = "dog-agility"


def tight(shared, frame: int) -> tuple[float, float, float, float]:
    gt = np.array(Image.open(shared("data", "davis2016", SEQ, "Annotations",
                                    f"{frame:05d}.png"))) > 0
    ys, xs = np.nonzero(gt)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def test_stretches_run_from_each_keyframe_to_the_next():
    from annotator.core.records import BoxRecord

    def k(f, outside=False):
        return BoxRecord(f, 1, f, (0, 0, 1, 1), outside, "drawn", 0, 1, None)

    got = stretches(0, 20, [k(5), k(9), k(12, outside=True), k(15)])
    assert got[0][1] == [4, 3, 2, 1, 0] and got[1][1] == [6, 7, 8]
    assert got[2][1] == [10, 11] and got[3][1] == [16, 17, 18, 19, 20]
    assert len(got) == 4  # nothing from the outside keyframe


def test_tracked_boxes_fill_the_segment_and_never_replace_a_persons(shared, tmp_path):
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "dog.avsproj")
    try:
        dog = p.add_object("dog", category="dog")
        seg = p.add_segment(dog, 0, 24)
        p.store.put_box(dog, 4, tight(shared, 4))
        p.store.put_box(dog, 20, tight(shared, 20))
        drawn = (100.0, 100.0, 300.0, 300.0)  # a person's box, off on purpose
        p.store.put_box(dog, 12, drawn)
        p.store.put_box(dog, 22, (0, 0, 10, 10), outside=True)
        results = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
        (r,) = results
        assert r.segment_id == seg and r.state == "done"
        assert r.written + r.lost == 19 and r.kept == 0  # 0–3, 5–11, 13–19, 21
        assert p.store.box(dog, 12).box == drawn and p.store.box(dog, 12).source == "drawn"
        track = {t.frame: t for t in segment_track(p.store, dog, 0, 24)}
        assert track[4].source == "drawn" and track[22].outside
        assert 23 not in track and 24 not in track  # inside the outside span
        stored = [b.frame for b in p.store.boxes_of(dog) if b.source == "tracked"]
        assert len(stored) == r.written and 0 in stored and 21 in stored
        # shown: each tracked box, or the interpolation where the track disagreed with it
        # (towards the person's off box on frame 12, mostly)
        tracked = [f for f, t in track.items() if t.source == "tracked"]
        assert sorted(tracked + [f for f, t in track.items() if t.overruled]) == stored
        ious = [box_iou(np.array(track[f].box), np.array(tight(shared, f))) for f in tracked
                if f < 12]
        assert 0 in tracked and np.mean(ious) > 0.6  # the dog is followed
        assert p.undo().startswith("Track boxes of dog")
        assert {t.source for t in segment_track(p.store, dog, 0, 24)} <= {"drawn",
                                                                           "interpolated"}
    finally:
        p.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_kill_during_box_tracking_loses_nothing_a_person_drew(shared, tmp_path):
    p = api.create(shared("data", "davis2016", "bmx-bumps", "JPEGImages"),
                   tmp_path / "bmx.avsproj")
    rider = p.add_object("rider", category="person")
    p.add_segment(rider, 0, 89)
    keys = {0: (200.0, 50.0, 500.0, 400.0), 45: (250.0, 60.0, 520.0, 420.0),
            89: (300.0, 80.0, 560.0, 440.0)}
    for f, b in keys.items():
        p.store.put_box(rider, f, b)
    directory = p.project.dir
    p.close()
    child = subprocess.Popen([sys.executable, "-m", "annotator.cli", "propagate",
                              str(directory), "--engine", "fallback"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 240
        with api.open(directory, readonly=True) as view:
            while time.time() < deadline:  # wait until some tracked boxes are committed
                if len(view.store.boxes_of(rider)) >= len(keys) + 5:
                    break
                time.sleep(0.5)
        assert child.poll() is None, child.stdout.read()  # killed mid-run, not after it
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    with api.open(directory) as q:
        assert q.store.integrity_check() == "ok"
        rows = {r.frame: r for r in q.store.boxes_of(rider)}
        assert {f: rows[f].box for f in keys} == keys  # every keyframe as drawn
        assert all(rows[f].source == "drawn" for f in keys)
        tracked = sum(r.source == "tracked" for r in rows.values())
        assert 5 <= tracked < 87  # some of the 87 frames to track landed, not all
        # the rerun finishes the job and still keeps the keyframes
        again = track_box_segments(q.project, FallbackPropagator(), FallbackSegmenter())
        assert again[0].state == "done" and again[0].kept == 0
        assert {f: q.store.box(rider, f).box for f in keys} == keys


def test_annotator_propagate_tracks_box_only_segments(shared, tmp_path):
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "dog.avsproj")
    dog = p.add_object("dog", category="dog")
    p.add_segment(dog, 0, 24)
    p.store.put_box(dog, 0, tight(shared, 0))
    directory = p.project.dir
    p.close()
    r = subprocess.run([sys.executable, "-m", "annotator.cli", "propagate", str(directory),
                        "--engine", "fallback"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "dog frames 0–24 (box-only): done, 24 boxes tracked" in r.stdout, r.stdout
    assert "nothing to propagate" not in r.stdout
    with api.open(directory) as q:
        assert sum(b.source == "tracked" for b in q.store.boxes_of(dog)) == 24


def test_masks_from_boxes_then_propagation_gives_masks_and_keeps_the_boxes(shared, tmp_path):
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "dog.avsproj")
    dog = p.add_object("dog", category="dog")
    p.add_segment(dog, 0, 24)
    p.store.put_box(dog, 0, tight(shared, 0))
    p.store.put_box(dog, 20, tight(shared, 20))
    directory = p.project.dir
    p.close()
    r = subprocess.run([sys.executable, "-m", "annotator.cli", "propagate", str(directory),
                        "--engine", "fallback", "--masks-from-boxes"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "dog frames 0–24: 2 anchor masks from its box keyframes" in r.stdout, r.stdout
    assert "(box-only)" not in r.stdout  # it has masks now: propagated, not box-tracked
    with api.open(directory) as q:
        assert q.store.anchors(dog) == [0, 20]
        assert len(q.store.masks_of(dog)) == 25  # propagated between and after the anchors
        x0, y0, x1, y1 = (int(v) for v in tight(shared, 0))
        m = q.mask(dog, 0)  # inside its box (GrabCut's working scale: up to 3 pixels over)
        assert m.any() and not m[:, :x0 - 3].any() and not m[:, x1 + 3:].any()
        assert not m[:y0 - 3].any() and not m[y1 + 3:].any()
        m = q.store.mask(dog, 0)
        assert m.source == "grabcut" and [b.frame for b in q.store.boxes_of(dog)] == [0, 20]
        track = segment_track(q.store, dog, 0, 24)  # the masked segment's boxes: its masks'
        assert {t.source for t in track} == {"drawn", "mask"}


def test_a_cancelled_box_tracking_resumes_where_it_stopped(shared, tmp_path):
    """Cancel after 7 frames, run again: the job goes on in the same operation, replays the
    stretch's committed frames without writing, and ends with the boxes an uninterrupted run
    writes; a third run has nothing to do. Real engines, a real store file."""
    import threading

    def project(name):
        p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / name)
        dog = p.add_object("dog", category="dog")
        p.add_segment(dog, 0, 24)
        p.store.put_box(dog, 4, tight(shared, 4))
        p.store.put_box(dog, 20, tight(shared, 20))
        return p, dog

    whole, dog = project("whole.avsproj")
    try:
        track_box_segments(whole.project, FallbackPropagator(), FallbackSegmenter())
        expected = {b.frame: b.box for b in whole.store.boxes_of(dog)}
    finally:
        whole.close()
    p, dog = project("cut.avsproj")
    try:
        cancel, seen = threading.Event(), []

        def progress(done, total, frame):
            seen.append(frame)
            if done == 7:
                cancel.set()

        (r,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter(),
                                  progress=progress, cancel=cancel)
        assert r.state == "cancelled" and r.written == 7  # 3, 2, 1, 0, then 5, 6, 7
        assert seen == [3, 2, 1, 0, 5, 6, 7]
        (again,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
        assert again.state == "done" and again.op_id == r.op_id  # one undo step in all
        assert again.written + again.lost == 25 - 2 - 7  # the rest, none twice
        assert again.replayed == 3  # frames 5–7 again in the engine, not written
        got = {b.frame: b.box for b in p.store.boxes_of(dog)}
        assert got.keys() == expected.keys()
        for f in got:
            assert got[f] == pytest.approx(expected[f], abs=1e-6)
        (third,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
        assert third.state == "already" and third.written == 0
        p.store.put_box(dog, 12, tight(shared, 12))  # a new keyframe: a new run
        (fourth,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
        assert fourth.state == "done" and fourth.op_id != r.op_id
    finally:
        p.close()


def test_a_resume_replays_from_the_engines_checkpoint(shared, tmp_path, monkeypatch):
    """With a checkpoint every 8 steps, a run cancelled after 21 frames of a stretch resumes
    from the checkpoint of step 16 (5 frames replayed, not 21) and ends with the boxes of an
    uninterrupted run; the finished job leaves no checkpoint behind."""
    import threading

    from annotator.pipeline import box_tracking

    monkeypatch.setattr(box_tracking, "CHECKPOINT_EVERY", 8)

    def project(name):
        p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / name)
        dog = p.add_object("dog", category="dog")
        p.add_segment(dog, 0, 24)
        p.store.put_box(dog, 0, tight(shared, 0))
        return p, dog

    whole, dog = project("whole.avsproj")
    try:
        track_box_segments(whole.project, FallbackPropagator(), FallbackSegmenter())
        expected = {b.frame: b.box for b in whole.store.boxes_of(dog)}
    finally:
        whole.close()
    p, dog = project("cut.avsproj")
    try:
        cancel = threading.Event()
        (r,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter(),
                                  progress=lambda d, t, f: d == 21 and cancel.set(),
                                  cancel=cancel)
        assert r.state == "cancelled" and r.written + r.lost == 21
        folder = p.project.cache_dir / "jobs"
        assert sorted(f.name for f in folder.glob("*.ckpt")) == ["track_boxes_1.s0.16.ckpt"]
        (again,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
        assert again.state == "done" and again.replayed == 21 - 16
        got = {b.frame: b.box for b in p.store.boxes_of(dog)}
        assert got.keys() == expected.keys()
        for f in got:
            assert got[f] == pytest.approx(expected[f], abs=1e-6)
        assert not list(folder.glob("*.ckpt"))
    finally:
        p.close()
