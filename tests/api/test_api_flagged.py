"""``annotator.api`` where propagation failed (DAVIS breakdance-flare, the weight-free engine):
the review list is the check view's and ``annotator review``'s, a click on a propagated mask
starts from it, and a fix re-propagates as the window's does. Real SQLite files, real frames,
the real weight-free engines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from annotator import api
from annotator.core.project import Project
from annotator.pipeline.check_list import check_list


def _clip_rows(clips) -> list[tuple]:
    return [(c.object_id, c.start, c.end, c.worst_frame, round(c.score, 3)) for c in clips]


def test_review_lists_the_check_views_clips_in_the_same_order(flagged):
    project, oid = flagged
    clips = project.review()
    assert len(clips) >= 2  # the engine loses the dancer in both segments
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)
    assert all(c.start <= c.worst_frame <= c.end and c.object_id == oid for c in clips)
    assert _clip_rows(clips) == _clip_rows(check_list(project.store).clips)  # the check view
    project.close()
    r = subprocess.run([sys.executable, "-m", "annotator.cli", "review", str(project.dir),
                        "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    printed = [(c["object_id"], c["start"], c["end"], c["worst_frame"], c["score"])
               for c in json.loads(r.stdout)]
    assert printed == _clip_rows(clips)  # annotator review


def test_a_click_on_a_propagated_mask_starts_from_that_mask(flagged):
    project, oid = flagged
    f = 20
    rec = project.store.mask(oid, f)
    assert rec.source == "propagated" and rec.area > 0
    x, y, w, h = rec.bbox
    ys, xs = np.nonzero(rec.decode())
    inside = (float(xs[len(xs) // 2]), float(ys[len(ys) // 2]))
    with project.prompt(f, oid) as p:
        assert p.points == []  # nobody clicked it
        mask = p.click(*inside)
        assert mask[int(inside[1]), int(inside[0])]
    prompt = project.store.prompts(oid, f)[-1]
    assert prompt["box"] == [x, y, x + w, y + h]  # the propagated mask's box, as in the window
    assert prompt["points"] == [(*inside, True)]


def test_a_fix_re_propagates_to_the_neighbouring_anchors_as_the_windows_does(flagged, tmp_path):
    project, oid = flagged
    store = project.store
    worst = project.review()[0]
    f = worst.worst_frame
    start, end = next((s.start, s.end) for s in project.segments(oid) if f in s)
    before = {(m.object_id, m.frame): m.rev_id for m in store.iter_masks()}
    ys, xs = np.nonzero(store.mask(oid, f).decode())
    with project.prompt(f, oid) as p:  # the fix: a click on the flagged frame, then Enter
        p.click(float(xs.mean()), float(ys.mean()))
        p.accept(force=True)
    fixed = {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()}
    project.close()
    twin = tmp_path / "twin.avsproj"
    shutil.copytree(project.dir, twin)  # the same fixed project, for the window's job

    project = api.open(project.dir)
    seen = []
    result = project.repropagate(oid, f, progress=seen.append)
    store = project.store
    assert result.state == "done" and result.written > 0 and seen
    after = {(m.object_id, m.frame): m.rev_id for m in store.iter_masks()}
    changed = {frame for (o, frame), rev in after.items() if rev != before.get((o, frame))}
    changed.discard(f)  # the fix itself
    assert changed and all(start < g <= end for g in changed)  # only this segment
    assert all(abs(g - f) <= abs(g - start) for g in changed)  # nearest to the fix
    assert set(range(f + 1, end + 1)) <= changed  # forward to the segment's end
    assert store.mask(oid, f).anchor and store.mask(oid, start).anchor  # anchors stay
    redone = {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()}

    # the window's Re-propagate runs gui.jobs.repropagate on its job thread; here on this one,
    # with a plain stand-in for the job worker's context (progress, frames, cancel)
    from annotator.gui import jobs

    ctx = SimpleNamespace(progress=lambda *a: None, frames=lambda keys: None,
                          cancel_event=threading.Event())
    with Project.open(twin) as window_project:
        outcome = jobs.repropagate(window_project, oid, f, ctx)
        assert outcome.frames == result.written
        window = {(m.object_id, m.frame): m.rle["counts"]
                  for m in window_project.store.iter_masks()}
    assert window == redone

    label = project.undo()  # the whole re-propagation is one undo step
    assert label.startswith("Re-propagate dancer from frame")
    assert {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()} == fixed
    project.close()


def test_repropagate_asks_before_replacing_a_reviewed_segment(flagged):
    project, oid = flagged
    store = project.store
    seg = next(s for s in project.segments(oid) if s.start == 0)
    store.update_segment(seg.id, status="done")  # the person marked it done
    with project.prompt(25, oid) as p:
        ys, xs = np.nonzero(store.mask(oid, 25).decode())
        p.click(float(xs.mean()), float(ys.mean()))
        p.accept(force=True)
    kept = {m.frame: m.rev_id for m in store.masks_of(oid)}
    with pytest.raises(api.UserError, match="in a segment marked done.*replace_reviewed=True"):
        project.repropagate(oid, 25)
    assert {m.frame: m.rev_id for m in store.masks_of(oid)} == kept
    assert project.repropagate(oid, 25, replace_reviewed=True).state == "done"


def test_repropagate_forward_only(flagged):
    project, oid = flagged
    store = project.store
    with project.prompt(15, oid) as p:
        ys, xs = np.nonzero(store.mask(oid, 15).decode())
        p.click(float(xs.mean()), float(ys.mean()))
        p.accept(force=True)
    before = {m.frame: m.rev_id for m in store.masks_of(oid)}
    project.repropagate(oid, 15, directions=("forward",))
    changed = {m.frame for m in store.masks_of(oid) if m.rev_id != before[m.frame]}
    assert changed == set(range(16, 31))  # up to the segment's end, nothing before the fix


def test_a_click_on_the_object_outside_a_lost_masks_box_starts_afresh(flagged, shared):
    """Where propagation lost the object, a click on it lies outside the propagated mask's box:
    that box would hold the fix to the wrong place, so the prompt has no box and the mask is the
    object under the click. The lost mask is written here as the propagation writes one (a
    stand-in: on this sequence the weight-free engine drifts but keeps part of the dancer)."""
    import cv2

    from tests.api.conftest import gt

    project, oid = flagged
    store = project.store
    f = 20
    truth = gt(shared, f)
    h, w = truth.shape
    ys, xs = np.nonzero(truth)
    lost = np.zeros_like(truth)
    corner_x = 0 if xs.mean() > w / 2 else w - w // 6  # the corner farthest from the dancer
    corner_y = 0 if ys.mean() > h / 2 else h - h // 6
    lost[corner_y:corner_y + h // 6, corner_x:corner_x + w // 6] = True
    assert not (lost & truth).any()
    store.put_mask(oid, f, lost, source="propagated", anchor=False,
                   op=store.new_op("propagate", "a lost mask"))
    depth = cv2.distanceTransform(truth.astype(np.uint8), cv2.DIST_L2, 5)
    cy, cx = np.unravel_index(int(np.argmax(depth)), depth.shape)  # the dancer's deepest pixel
    with project.prompt(f, oid) as p:
        mask = p.click(float(cx), float(cy))
    assert mask[cy, cx] and not (mask & lost).any()
    assert store.prompts(oid, f)[-1]["box"] is None
    # a click inside the propagated box still starts from it (the test above)
