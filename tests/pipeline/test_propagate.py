"""Propagation jobs on real frames with the real weight-free engine and a real store file."""

import threading

import numpy as np
import pytest
from PIL import Image

from annotator.core.importers import import_png_masks
from annotator.core.project import Project
from annotator.core.quality import region_similarity
from annotator.errors import UserError
from annotator.pipeline.job import PropagationJob
from annotator.pipeline.plan import plan_passes
from annotator.pipeline.queue import choose_engine, propagate_project, repropagate


def gt(seq_dir, frame):
    return np.array(Image.open(seq_dir / "Annotations" / f"{frame:05d}.png")) > 0


def current(store):
    return {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()}


def test_judo_objects_join_mid_run_and_exclude_each_other(tmp_path, shared):
    judo = shared("data", "multi", "judo")
    with Project.create(tmp_path / "judo", judo / "JPEGImages") as project:
        store = project.store
        import_png_masks(store, judo / "Annotations", fit="pad-crop")  # one mask is 853 px wide
        anchors = {o.id: store.anchors(o.id) for o in store.objects()}
        assert sorted(f for a in anchors.values() for f in a) == [0, 5, 8, 13]
        anchor_revs = {(o, f): store.mask(o, f).rev_id for o, fs in anchors.items() for f in fs}
        (plan,) = plan_passes(store)  # no segments: one pass, objects join at their anchor
        assert len(plan.object_ids) == 4
        (result,) = propagate_project(project, engine="fallback")
        assert result.state == "done" and result.written == 15 + 10 + 7 + 2
        for oid, (first,) in anchors.items():
            frames = [m.frame for m in store.masks_of(oid)]
            assert frames == list(range(first, 16))  # from its first anchor to the end, not before
        for f in range(16):
            masks = store.frame_masks(f)
            stack = np.stack([m.decode() for m in masks.values()])
            assert stack.sum(axis=0).max() <= 1  # objects never share a pixel
            assert all(m.area > 0 for m in masks.values())
        for (o, f), rev in anchor_revs.items():
            assert store.mask(o, f).rev_id == rev  # anchors untouched
        assert store.integrity_check() == "ok"


def test_backward_runs_and_anchors_never_overwritten(make_project, shared):
    seq = shared("data", "davis2016", "dog-agility")
    project = make_project(anchors=(6, 14), segments=[(0, 20)])
    store = project.store
    revs = {f: store.mask(1, f).rev_id for f in (6, 14)}
    (result,) = propagate_project(project, engine="fallback", refine="off")
    assert result.state == "done" and result.written == 19
    assert [m.frame for m in store.masks_of(1)] == list(range(21))  # nothing outside the segment
    assert {f: store.mask(1, f).rev_id for f in (6, 14)} == revs
    engine = choose_engine("fallback")  # the same engine run by hand from frame 6 backward
    with project.open_video() as video:
        engine.step(video[6], given={1: gt(seq, 6)})
        by_hand = {f: engine.step(video[f]).masks[1] for f in range(5, -1, -1)}
    for f in range(6):  # before the first anchor: propagated backward from frame 6
        m = store.mask(1, f)
        assert m.source == "propagated" and not m.anchor
        assert m.quality["area"] == m.area and "confidence" in m.quality
        assert np.array_equal(m.decode(), by_hand[f])
    assert region_similarity(store.mask(1, 5).decode(), gt(seq, 5)) > 0.5
    assert store.segment(1).status in ("propagated", "review")


def test_cancel_keeps_frames_and_resume_equals_uninterrupted(make_project):
    whole = make_project(anchors=(0, 16), segments=[(0, 20)], name="whole")
    (ref,) = propagate_project(whole, engine="fallback")
    expected = current(whole.store)

    project = make_project(anchors=(0, 16), segments=[(0, 20)], name="cut")
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done >= 5:
            cancel.set()

    (first,) = propagate_project(project, engine="fallback", cancel=cancel, on_progress=progress)
    assert first.state == "cancelled" and 5 <= first.done < ref.total
    job = project.store.job("propagate:seg:1")
    assert job["state"] == "cancelled" and job["done"] == first.done
    assert len(current(project.store)) == 2 + first.done  # every reported frame is in the store
    (second,) = propagate_project(project, engine="fallback")
    assert second.state == "done" and second.written == ref.total - first.done
    assert second.replayed > 0
    assert current(project.store) == expected
    assert project.store.job("propagate:seg:1")["state"] == "done"
    (third,) = propagate_project(project, engine="fallback")
    assert third.state == "skipped"


def test_undo_and_redo_a_whole_propagation(make_project):
    project = make_project(anchors=(0,), segments=[(0, 10)])
    store = project.store
    propagate_project(project, engine="fallback")
    assert store.mask_count() == 11 and store.segment(1).status != "todo"
    op = store.undo()
    assert op.kind == "propagate"
    name = store.object(store.segment(1).object_id).name
    assert op.label == f"Propagate {name} (frames 0–10)"  # what the undo history shows
    assert store.mask_count() == 1 and store.segment(1).status == "todo"
    store.redo()
    assert store.mask_count() == 11
    store.undo()
    (again,) = propagate_project(project, engine="fallback")  # an undone job runs again
    assert again.state == "done" and store.mask_count() == 11


def test_repropagate_touches_only_the_frames_nearest_the_fix(make_project, shared):
    seq = shared("data", "davis2016", "dog-agility")
    project = make_project(anchors=(0, 20), segments=[(0, 24)])
    store = project.store
    propagate_project(project, engine="fallback")
    before = current(store)
    store.put_mask(1, 10, gt(seq, 10), source="manual")  # the annotator fixes frame 10
    result = repropagate(project, 1, 10, engine="fallback")
    after = current(store)
    changed = sorted(f for (o, f) in after if after[(o, f)] != before.get((o, f)))
    assert result.state == "done" and result.written == 9
    # it wrote frames 6–15 (nearest to the fix); beside them (5, 16), where its runs meet the
    # runs from the other anchors, only the seam's score may have changed: the same mask
    wrote = {f for _, f in project.store.op_frames(result.op)}
    assert set(range(6, 16)) - {10} <= wrote <= set(range(5, 17)) - {10}
    for f in wrote - set(range(6, 16)):
        old, new = store.revisions(1, f)[-2:]
        assert new.rle == old.rle and new.op_id == result.op
        assert ("seam" in new.flags) != ("seam" in old.flags) or new.quality != old.quality
    assert set(changed) <= set(range(6, 16)) and 10 in changed and len(changed) >= 6
    assert len(store.revisions(1, 12)) == 2  # the replaced mask is kept as a revision
    assert store.undo().kind == "propagate"
    restored = current(store)
    assert {k: v for k, v in restored.items() if k != (1, 10)} == \
        {k: v for k, v in before.items() if k != (1, 10)}


def test_many_projects_in_one_queue(make_project):
    from annotator.pipeline.queue import propagate_projects

    a = make_project(anchors=(0,), segments=[(0, 5)], name="a")
    b = make_project(anchors=(3,), segments=[(0, 6)], name="b")
    dirs = [a.dir, b.dir]
    a.close()
    b.close()
    out = propagate_projects(dirs, engine="fallback")
    assert [[r.written for r in rs] for rs in out.values()] == [[5], [6]]


def test_job_reports_progress_for_every_committed_frame(make_project):
    project = make_project(anchors=(3,), segments=[(0, 8)])
    (plan,) = plan_passes(project.store)
    seen = []
    with project.open_video() as video:
        job = PropagationJob(project, plan, choose_engine("fallback"), video=video,
                             on_progress=seen.append)
        result = job.run()
    assert [p.done for p in seen] == list(range(1, 9)) and seen[-1].total == 8
    assert all(p.objects == (1,) for p in seen)
    assert sorted(p.frame for p in seen) == [0, 1, 2, 4, 5, 6, 7, 8]
    assert result.model_s > 0 and 0 <= result.non_model_share < 1


def test_overlapping_segments_of_one_object_are_refused_with_a_clear_message(make_project):
    """The store refuses a second segment that overlaps the object's first; a project kept
    from before that rule (the row written straight into the file, as that store did) is
    refused by the propagation, in words, before a mask is written."""
    import sqlite3

    project = make_project(anchors=(0,), segments=[(0, 10)])
    with pytest.raises(UserError, match="overlap"):
        project.store.add_segment(project.store.objects()[0].id, 5, 12)
    folder, db_path = project.dir, project.store.path
    project.close()
    db = sqlite3.connect(db_path)
    db.execute("INSERT INTO segments(object_id, start_frame, end_frame, status, created) "
               "VALUES (1, 5, 12, 'todo', 0)")
    db.commit()
    db.close()
    with Project.open(folder) as project:
        with pytest.raises(UserError, match="segments 1 .* and 2 .* overlap"):
            propagate_project(project, engine="fallback")
        assert project.store.mask_count() == 1
