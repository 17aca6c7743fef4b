"""A fix whose re-propagation leaves a bad frame: ``api.repropagate`` then ``api.review`` list it
(issue 25). DAVIS mallard-fly, the ground truth of frame 0 as the first anchor, the real
weight-free engines (propagator and segmenter), the real failure score and flag code.

The weight-free propagator loses the bird from frame 38 on. The person fixes frame 50, inside
the listed clip, by clicks (the fix is good: IoU >= 0.8 with the ground truth). The
re-propagation then runs backward from 50 to 26 and loses the bird again on the way: frame 26
is wrong, and each frame of that run is scored against the fix and its own run only, where
nothing looks amiss. Frame 25, beside the re-propagated range, is still the good mask of the
run from frame 0. Where the two runs meet (25 | 26) the mask jumps: the seam flags both frames,
and the review lists them. Without the seam score (each frame's own run's ``p_run``) no clip
covers frame 26."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from annotator import api
from annotator.core import quality as Q
from annotator.pipeline.failure import DEFAULT_MODEL
from annotator.pipeline.seams import clips_without_seams
from tests.person import click_until, iou

SEQ = "mallard-fly"
FIX = 50
SEAM = (FIX // 2, FIX // 2 + 1)  # the run forward from 0 ends at 25, the one back from 50 at 26


def _truth(shared, frame: int) -> np.ndarray:
    return np.array(Image.open(shared("data", "davis2016", SEQ, "Annotations",
                                      f"{frame:05d}.png"))) > 0


def _covered(clips, frame: int) -> bool:
    return any(c.start <= frame <= c.end for c in clips)



def test_a_frame_left_bad_beside_a_re_propagated_range_is_reviewed(shared, tmp_path):
    frames = shared("data", "davis2016", SEQ, "JPEGImages")
    project = api.create(frames, tmp_path / "mallard.avsproj")
    store = project.store
    oid = project.add_object("mallard", category="bird")
    project.add_segment(oid, 0, project.frame_count - 1)
    # the first anchor: the ground truth, written as an import writes it (it stands in for a
    # person's accepted first mask)
    store.put_mask(oid, 0, _truth(shared, 0), source="imported",
                   op=store.new_op("import_masks", "ground truth"))
    project.propagate(engine="fallback", refine="off")
    assert _covered(project.review(), FIX)  # the person fixes a frame of a listed clip

    with project.prompt(FIX, oid) as p:
        p.delete()  # start afresh (not from the propagated mask's box)
        fix, clicks = click_until(lambda x, y, pos: p.click(x, y, pos), _truth(shared, FIX))
        assert iou(fix, _truth(shared, FIX)) >= 0.8, clicks
        p.accept()  # a good mask: no guard questions it
    beside = store.mask(oid, SEAM[0])
    result = project.repropagate(oid, FIX, engine="fallback", refine="off")
    assert result.state == "done"

    masks = {m.frame: m for m in store.masks_of(oid)}
    truth = {f: _truth(shared, f) for f in masks}
    bad = {f for f, m in masks.items() if not m.anchor and iou(m.decode(), truth[f]) < 0.5}
    assert SEAM[1] in bad and SEAM[0] not in bad  # the premise: the fix's run went wrong

    # every frame the re-propagation wrote was scored afresh, against the fix: its distance
    # from the anchor is the distance from frame 50, and it carries the failure score
    written = {f for o, f in store.op_frames(result.op) if o == oid}
    assert set(range(SEAM[1], project.frame_count)) - {FIX} <= written
    for f in sorted(written - {SEAM[0]}):
        q = masks[f].quality
        assert q["distance"] == pytest.approx(math.log1p(abs(f - FIX)), abs=1e-4), f
        assert "p_fail" in q and DEFAULT_MODEL.signals[0] in q, f

    # the seam: the masks jump across it (area or centre, the rule flags' thresholds) ...
    a, b = masks[SEAM[0]].decode(), masks[SEAM[1]].decode()
    t = Q.FlagThresholds()
    assert Q.area_jump(a, b) > t.area_jump or Q.centroid_jump(a, b) > t.centroid_jump
    # ... so both frames are flagged; frame 25 keeps its mask (a new revision of the same mask,
    # in the re-propagation's undo step), only its score changed
    for f in SEAM:
        assert "seam" in masks[f].flags and masks[f].quality["seam_with"] in SEAM
    assert SEAM[0] in written and masks[SEAM[0]].rle == beside.rle
    assert "seam" not in beside.flags

    clips = project.review()
    assert _covered(clips, SEAM[1])  # the bad frame is listed ...
    assert not _covered(clips_without_seams(store, oid), SEAM[1])  # ... only by its seam
    clip = next(c for c in clips if c.start <= SEAM[1] <= c.end)
    assert clip.flags["seam"] >= 1 and clip.worst_frame in SEAM

    # undo the re-propagation: frame 25 gets its old score back with the old masks
    assert project.undo().startswith("Re-propagate mallard from frame 50")
    assert store.mask(oid, SEAM[0]).rev_id == beside.rev_id
    project.close()
