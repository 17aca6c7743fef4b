"""The box calls of the API on the demo: keyframes set, moved into an outside one and deleted
(each one undo step), ``project.box`` the window's box on any frame (keyframe, interpolated,
tracked, the mask's), box tracking that keeps a person's box and resumes after a cancel, and
masks from boxes then propagation. The real SQLite file, the demo video, the real
weight-free engines; nothing stands in."""

from __future__ import annotations

import threading

import pytest

from annotator import api
from annotator.core.box_tracks import interpolate
from annotator.demo import FPS, _bell_center
from annotator.errors import UserError


def bell_box(f: int) -> tuple[float, float, float, float]:
    cx, cy = (float(v) for v in _bell_center(f / FPS))
    return cx - 44, cy - 52, cx + 44, cy + 52


def _bell(project):
    bell = next(o.id for o in project.objects() if o.name == "bell")
    return bell, project.segments(bell)[0]


def test_keyframes_set_read_outside_delete_and_undo(demo_dir):
    with api.open(demo_dir) as project:
        bell, seg = _bell(project)
        f0, f1 = seg.start, seg.start + 10
        assert project.box(bell, f0) is None  # nothing drawn yet
        a = project.set_box(bell, f0, *bell_box(f0))
        assert a.keyframe and a.source == "drawn" and a.box == pytest.approx(bell_box(f0))
        x0, y0, x1, y1 = bell_box(f1)
        b = project.set_box(bell, f1, x1, y1, x0, y0)  # corners in any order
        assert b.box == pytest.approx(bell_box(f1))
        mid = project.box(bell, f0 + 4)
        assert mid.source == "interpolated" and not mid.keyframe
        assert mid.box == pytest.approx(interpolate(a.box, b.box, 0.4), abs=1e-6)
        assert project.box(bell, seg.end).box == b.box  # held after the last keyframe
        assert [t.frame for t in project.boxes(bell, seg.id)] == list(range(f0, seg.end + 1))
        project.set_outside(bell, f0 + 12)
        hidden = project.box(bell, f0 + 12)
        assert hidden.outside and hidden.box is None and project.box(bell, f0 + 13) is None
        project.delete_box(bell, f0 + 12)
        assert project.box(bell, f0 + 13).source == "interpolated"
        with pytest.raises(UserError, match="no box keyframe on frame"):
            project.delete_box(bell, f0 + 5)
        with pytest.raises(UserError, match="outside every audible segment"):
            project.set_box(bell, seg.end + 5, 0, 0, 50, 50)
        assert project.undo() == f"Delete box keyframe on frame {f0 + 12}"
        assert project.undo() == f"Not visible from frame {f0 + 12}"
        assert project.undo() == f"Box keyframe on frame {f1}"
        assert project.box(bell, f1).source == "interpolated"  # the first box, held


def test_track_boxes_keeps_a_persons_box_resumes_and_masks_from_boxes(demo_dir):
    with api.open(demo_dir) as project:
        bell, seg = _bell(project)
        f0 = seg.start
        for f in (f0, f0 + 10, f0 + 20):
            project.set_box(bell, f, *bell_box(f))
        with pytest.raises(UserError, match="box-only"):
            project.propagate([seg.id])  # no anchor: it says what to call instead
        cancel, seen = threading.Event(), []

        def progress(pr):
            seen.append(pr.frame)
            if pr.done == 5:
                cancel.set()

        (r,) = project.track_boxes([seg.id], engine="fallback", progress=progress,
                                   cancel=cancel)
        assert r.state == "cancelled" and r.written + r.lost == 5 and seen[:5] == [
            f0 + 1, f0 + 2, f0 + 3, f0 + 4, f0 + 5]
        (r2,) = project.track_boxes([seg.id], engine="fallback")
        assert r2.state == "done" and r2.op_id == r.op_id and r2.replayed == 5
        assert r2.written + r2.lost == seg.length - 3 - 5
        t = project.box(bell, f0 + 3)
        assert t.source in ("tracked", "interpolated") and not t.keyframe
        assert project.box(bell, f0 + 10).source == "drawn"  # a person's box stays
        assert project.box(bell, f0 + 10).box == pytest.approx(bell_box(f0 + 10))
        (r3,) = project.track_boxes(engine="fallback")
        assert r3.state == "already"
        assert project.masks_from_boxes(seg.id) == 3
        assert project.store.anchors(bell, seg.start, seg.end) == [f0, f0 + 10, f0 + 20]
        (res,) = project.propagate([seg.id], engine="fallback")
        assert res.state == "done" and len(project.masks(bell, seg.start, seg.end)) == \
            seg.length
        assert project.box(bell, f0 + 3).source == "mask"  # a masked segment: its masks' boxes
        assert project.box(bell, f0 + 10).source == "drawn"
        with pytest.raises(UserError, match="not box-only"):
            project.masks_from_boxes(seg.id)  # it has masks now
        with pytest.raises(UserError, match="not box-only"):
            project.track_boxes([seg.id])
