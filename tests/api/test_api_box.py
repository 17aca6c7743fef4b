"""``Prompt.box`` on the demo: a box dragged around the bell gives its mask (the real weight-free
segmenter, GrabCut with the box as its rectangle), points clicked after it join it, a second
box replaces the first, undo brings back each, and a box with no inside is refused. Real
SQLite file, the real demo video; nothing stands in."""

from __future__ import annotations

import numpy as np
import pytest

from annotator import api
from annotator.demo import FPS, H, W, _bell_center
from annotator.errors import UserError


def _bell_truth(frame: int) -> np.ndarray:
    cx, cy = _bell_center(frame / FPS)
    yy, xx = np.mgrid[:H, :W]
    return ((xx - cx) / 42) ** 2 + ((yy - cy) / 50) ** 2 <= 1


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_box_prompt_makes_the_mask_and_undo_covers_it(demo_dir):
    with api.open(demo_dir) as project:
        bell = next(o.id for o in project.objects() if o.name == "bell")
        f = project.segments(bell)[0].start
        cx, cy = (float(v) for v in _bell_center(f / FPS))
        truth = _bell_truth(f)
        with project.prompt(f, bell) as p:
            # corners given bottom-right first: the box is the same
            mask = p.box(cx + 52, cy + 60, cx - 52, cy - 60)
            assert mask.shape == (H, W) and _iou(mask, truth) > 0.7
            assert p.box_prompt == [cx - 52, cy - 60, cx + 52, cy + 60] and p.points == []
            assert not mask[: int(cy - 61)].any() and not mask[int(cy + 61):].any()  # inside
            assert project.store.mask(bell, f).source == "grabcut"  # no SAM weights here
            # a point clicked after the box joins it (the box stays in the prompt)
            p.click(cx, cy)
            assert p.points == [(cx, cy, True)] and p.box_prompt == [cx - 52, cy - 60,
                                                                     cx + 52, cy + 60]
            # a second box replaces the first and keeps the points; clipped to the frame
            wide = p.box(-30, -30, W + 30, H + 30)
            assert p.box_prompt == [0.0, 0.0, float(W), float(H)]
            assert p.points == [(cx, cy, True)] and wide[int(cy), int(cx)]
            with pytest.raises(UserError, match="at least 2 pixels"):
                p.box(cx, cy, cx + 1, cy + 40)
        labels = [op.label for op in project.store.history(3)]
        assert labels == [f"Box (0, 0)–({W}, {H})", f"Object point at ({cx:.0f}, {cy:.0f})",
                          f"Box ({cx - 52:.0f}, {cy - 60:.0f})–({cx + 52:.0f}, {cy + 60:.0f})"]
        assert project.undo() == labels[0]
        with project.prompt(f, bell) as p:
            assert p.box_prompt == [cx - 52, cy - 60, cx + 52, cy + 60]
        project.undo()
        project.undo()
        assert project.mask(bell, f) is None
        assert project.redo() == labels[2]
        assert _iou(project.mask(bell, f), truth) > 0.7
        # the prompt record keeps the box, also after the project is reopened
    with api.open(demo_dir) as project:
        with project.prompt(f, bell) as p:
            assert p.box_prompt == [cx - 52, cy - 60, cx + 52, cy + 60]
            p.accept()
        assert project.store.mask(bell, f).anchor
