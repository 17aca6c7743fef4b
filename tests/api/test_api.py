"""``annotator.api`` on the demo: a project made from its video, objects and segments, clicks,
candidates, strokes, accept, propagation, masks, undo, export — and the errors, which are the
command line's. Real SQLite files, the real demo video, the real weight-free engines (no model
files here); nothing stands in."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools.coco import COCO

from annotator import api
from annotator.core.lock import ProjectLockedError
from annotator.demo import FPS, H, W, _bell_center
from annotator.errors import UserError


def _bell(frame: int) -> tuple[float, float]:
    x, y = _bell_center(frame / FPS)
    return float(x), float(y)


def _bell_truth(frame: int) -> np.ndarray:
    """The bell as the demo draws it (an ellipse around its centre)."""
    cx, cy = _bell(frame)
    yy, xx = np.mgrid[:H, :W]
    return ((xx - cx) / 42) ** 2 + ((yy - cy) / 50) ** 2 <= 1


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_create_click_accept_propagate_and_export(demo_video, tmp_path):
    with api.create(demo_video, tmp_path / "bell.avsproj") as project:
        assert project.objects() == [] and project.size == (H, W)
        bell = project.add_object("bell", category="percussion")
        seg = project.add_segment(bell, 10, 40)
        assert [(s.id, s.start, s.end, s.status) for s in project.segments(bell)] == [
            (seg, 10, 40, "todo")]
        x, y = _bell(10)
        with project.prompt(10, bell) as p:
            mask = p.click(x, y)
            assert mask.shape == (H, W) and mask.dtype == bool
            assert mask[int(y), int(x)] and _iou(mask, _bell_truth(10)) > 0.6
            assert p.points == [(x, y, True)] and p.candidate[1] == 3
            mask = p.click(40, 40, positive=False)
            assert mask[int(y), int(x)] and not mask[40, 40]
            assert np.array_equal(project.mask(bell, 10), mask)
            assert not project.store.mask(bell, 10).anchor  # not before accept
            anchor = p.accept()
        rec = project.store.mask(bell, 10)
        assert rec.anchor and np.array_equal(anchor, mask)
        assert project.segments(bell)[0].status == "annotated"
        assert project.store.prompts(bell, 10)[-1]["points"] == [(x, y, True), (40.0, 40.0, False)]

        seen = []
        results = project.propagate(segments=[seg], progress=seen.append)
        assert [(r.state, r.written) for r in results] == [("done", 30)]
        assert seen[-1].done == seen[-1].total == 30
        assert [s.done for s in seen] == sorted(s.done for s in seen)
        assert _iou(project.mask(bell, 40), _bell_truth(40)) > 0.5  # tracked, not copied
        assert project.mask(bell, 5) is None  # outside the segment: no mask
        again = project.propagate(segments=[seg])
        assert [r.state for r in again] == ["skipped"]  # same anchors, nothing to do

        out = project.export("coco", tmp_path / "bell.json")
        assert out.path == tmp_path / "bell.json" and "31 masks" in str(out)
    coco = COCO(str(tmp_path / "bell.json"))
    assert len(coco.getAnnIds()) == 31


def test_masks_reads_the_propagated_masks_of_a_range(demo_video, tmp_path):
    with api.create(demo_video, tmp_path / "bell.avsproj") as project:
        bell = project.add_object("bell")
        project.add_segment(bell, 10, 30)
        assert project.masks(bell) == {}
        with project.prompt(10, bell) as p:
            p.click(*_bell(10))
            p.accept()
        project.propagate(engine="fallback", refine="off")
        with project.prompt(20, bell) as p:
            p.delete()  # a deleted mask is no mask
        every = project.masks(bell)
        assert list(every) == [f for f in range(10, 31) if f != 20]
        for f, mask in every.items():
            assert mask.dtype == bool and np.array_equal(mask, project.mask(bell, f))
        assert list(project.masks(bell, 25)) == list(range(25, 31))
        assert list(project.masks(bell, 0, 12)) == [10, 11, 12]
        with pytest.raises(UserError, match="outside the video"):
            project.masks(bell, 0, project.frame_count)
        with pytest.raises(UserError, match="no object 99"):
            project.masks(99)


def test_candidates_points_strokes_delete_and_undo(demo_dir):
    with api.open(demo_dir) as project:
        bell = next(o.id for o in project.objects() if o.name == "bell")
        f = project.segments(bell)[0].start
        x, y = _bell(f)
        with project.prompt(f, bell) as p:
            p.click(x, y)
            k, n = p.candidate
            other = p.next_candidate()
            assert p.candidate == ((k + 1) % n, n) and len(p.points) == 1
            assert np.array_equal(project.mask(bell, f), other)
            p.click(40, 40, positive=False)
            assert len(p.points) == 2
            p.remove_last_point()
            assert p.points == [(x, y, True)]
            painted = p.stroke([(100, 300), (160, 300)], radius=6)
            assert painted[300, 130] and project.store.mask(bell, f).source == "brush"
            assert p.points == [(x, y, True)]  # the stroke keeps the clicked points
            erased = p.stroke([(130, 300)], radius=6, erase=True)
            assert not erased[300, 130] and erased[300, 105]
            assert p.remove_last_point() is None and p.mask is None  # no point left: no mask
        labels = [op.label for op in project.store.history(8)][:7]
        assert labels == ["Remove last point", "Erase stroke", "Brush stroke", "Remove last point",
                          "Background point at (40, 40)", "Next candidate mask",
                          f"Object point at ({x:.0f}, {y:.0f})"]  # the window's words
        assert project.undo() == "Remove last point"
        assert not project.mask(bell, f)[300, 130] and project.mask(bell, f)[300, 105]
        assert project.undo() == "Erase stroke" and project.mask(bell, f)[300, 130]
        assert project.redo() == "Erase stroke" and not project.mask(bell, f)[300, 130]
        with project.prompt(f, bell) as p:
            p.delete()
            assert p.mask is None
        assert project.undo() == "Delete mask" and project.mask(bell, f) is not None


def test_accept_refuses_a_suspicious_anchor_unless_forced(demo_dir):
    with api.open(demo_dir) as project:
        bell = next(o.id for o in project.objects() if o.name == "bell")
        f = project.segments(bell)[0].start
        with project.prompt(f, bell) as p:
            with pytest.raises(UserError, match="Nothing to accept on frame"):
                p.accept()
            p.click(*_bell(f))
            p.stroke([(W // 2, H // 2)], radius=W, erase=True)  # all gone: an empty mask
            with pytest.raises(UserError, match="is empty.*accept\\(force=True\\)"):
                p.accept()
            assert not project.store.mask(bell, f).anchor
            p.accept(force=True)
        assert project.store.mask(bell, f).anchor


def test_errors_are_the_command_lines(demo_dir, demo_video, tmp_path):
    with pytest.raises(UserError, match="not an AVS Annotator project"):
        api.open(tmp_path / "nothing")
    with pytest.raises(UserError, match="already holds a project"):
        api.create(demo_video, demo_dir)
    with api.open(demo_dir) as project:
        with pytest.raises(ProjectLockedError):
            api.open(demo_dir)
        bell = next(o.id for o in project.objects() if o.name == "bell")
        seg = project.segments(bell)[0]
        with pytest.raises(UserError, match="outside every audible segment of bell"):
            project.prompt(0, bell)
        with pytest.raises(UserError, match="no object 99"):
            project.prompt(seg.start, 99)
        with pytest.raises(UserError, match="outside the video"):
            project.mask(bell, 10 ** 6)
        with pytest.raises(UserError, match="Segment not added"):
            project.add_segment(bell, seg.start + 1, seg.end - 1)  # overlaps its own
        with pytest.raises(UserError, match="already exists"):
            project.add_object("bell")
        with pytest.raises(UserError, match="has no accepted mask yet"):
            project.propagate(segments=[seg.id])
        with pytest.raises(UserError, match="no segment 77"):
            project.propagate(segments=[77])
        with pytest.raises(UserError, match="not available"):
            project.propagate(engine="nonesuch")
        with pytest.raises(UserError, match="k=0"):
            project.propagate(refine="k=0")
        with pytest.raises(UserError, match="is not an anchor"):
            project.repropagate(bell, seg.start)
        with pytest.raises(UserError, match="subset= goes with format lu-avs or unav"):
            project.export("coco", tmp_path / "x.json", subset="val")
        with pytest.raises(UserError, match="unknown export format"):
            project.export("gif", tmp_path / "x.gif")
        with project.prompt(seg.start, bell) as p:
            with pytest.raises(UserError, match="No clicked points"):
                p.next_candidate()
            with pytest.raises(UserError, match="No clicked point to remove"):
                p.remove_last_point()
            with pytest.raises(UserError, match="No mask to delete"):
                p.delete()
    with api.open(demo_dir, readonly=True) as view:
        assert view.mask(bell, seg.start) is None and len(view.objects()) == 2
        for call in (lambda: view.add_object("cat"), lambda: view.prompt(seg.start, bell),
                     lambda: view.propagate(), lambda: view.undo()):
            with pytest.raises(UserError, match="read-only"):
                call()


def test_cancel_keeps_what_was_done_and_the_next_run_resumes(demo_dir):
    import threading

    from annotator.engines import registry

    with api.open(demo_dir, device="cpu") as project:
        assert registry.get().choice.device.type == "cpu"  # where the models would run
        bell = next(o.id for o in project.objects() if o.name == "bell")
        seg = project.segments(bell)[0]
        assert project.frame_count == 200
        with project.prompt(seg.start, bell) as p:
            p.click(*_bell(seg.start))
            p.accept()
        cancel = threading.Event()

        def progress(pr):
            if pr.done >= 10:
                cancel.set()  # as another thread would: stops after the frame in flight

        first = project.propagate(segments=[seg.id], progress=progress, cancel=cancel)
        assert [r.state for r in first] == ["cancelled"]
        kept = len(project.store.masks_of(bell, seg.start, seg.end))
        assert 11 <= kept < seg.length
        rest = project.propagate(segments=[seg.id])
        assert [r.state for r in rest] == ["done"]
        assert rest[0].written == seg.length - kept  # resumed: nothing done twice
        assert len(project.store.masks_of(bell, seg.start, seg.end)) == seg.length
