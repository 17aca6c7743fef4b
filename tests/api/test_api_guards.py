"""First masks that look wrong are refused by ``Prompt.accept`` unless forced (issue 25), on the
first frame of a real street video (``videos/vtest.avi``: 795 frames, people walking on a
road), with the real weight-free segmenter and the real store.

The weight-free segmenter answers a click on a walking person with a small mask of the person;
it does not spread onto the road by itself. The masks that did (a first mask covering the road
and the people on it) are made here the other way a window makes a mask: brush strokes over
the road after the click (the click stays the mask's prompt). The SAM-score check needs SAM's
predicted IoU; without SAM weights here, that mask is written as the prompt actions write a
SAM result (source ``sam``, the predicted IoU as its score): a stand-in for SAM's output."""

from __future__ import annotations

import numpy as np
import pytest

from annotator import api
from tests.person import strokes_over

#: vtest.avi's road on frame 0 (x, y), drawn by hand (bench/guards_bench.py uses the same)
ROAD = ((0, 190), (250, 190), (420, 200), (560, 170), (680, 100), (760, 95), (768, 100),
        (768, 490), (700, 470), (560, 410), (420, 340), (330, 300), (250, 270), (100, 250),
        (0, 240))
PERSON = (515.0, 200.0)  # a person walking on the road
BRUSH = 30


@pytest.fixture
def street(shared, tmp_path):
    project = api.create(shared("data", "videos", "vtest.avi"), tmp_path / "street.avsproj")
    oid = project.add_object("walker", category="person")
    project.add_segment(oid, 0, 99)
    yield project, oid
    project.close()


def test_a_clicked_person_becomes_an_anchor_without_a_question(street):
    project, oid = street
    with project.prompt(0, oid) as p:
        mask = p.click(*PERSON)
        assert 0 < mask.mean() < 0.02
        p.accept()
    assert project.store.mask(oid, 0).anchor


def test_a_first_mask_over_the_road_is_refused_unless_forced(street):
    project, oid = street
    with project.prompt(0, oid) as p:
        p.click(*PERSON)
        for stroke in strokes_over(ROAD, project.size, BRUSH):  # the brush path
            mask = p.stroke(stroke, radius=BRUSH)
        assert p.points == [(*PERSON, True)]
        assert 0.25 < mask.mean() < 0.5  # the road and the people on it, not half the frame
        with pytest.raises(api.UserError, match="reaches far past the points you clicked") as e:
            p.accept()
        assert "of walker on frame 0" in str(e.value) and "Right-click" in str(e.value)
        assert "accept(force=True)" in str(e.value)
        assert not project.store.mask(oid, 0).anchor  # refused: still a plain mask
        p.accept(force=True)
    rec = project.store.mask(oid, 0)
    assert rec.anchor and np.array_equal(rec.decode(), mask)


def test_a_first_mask_over_most_of_the_frame_is_refused(street):
    project, oid = street
    h, w = project.size
    with project.prompt(0, oid) as p:  # painted, no clicks: the leak is not measured
        for stroke in strokes_over(((0, 150), (w, 150), (w, h), (0, h)), (h, w), BRUSH):
            mask = p.stroke(stroke, radius=BRUSH)
        assert mask.mean() > 0.5
        with pytest.raises(api.UserError, match=r"covers \d+% of the frame \(more than 50%\)"):
            p.accept()
        assert not project.store.mask(oid, 0).anchor


def test_a_mask_sam_rates_low_is_refused(street):
    project, oid = street
    store = project.store
    with project.prompt(0, oid) as p:
        person = p.click(*PERSON)
    op = store.new_op("click", "a SAM result (stand-in)")
    rev = store.put_mask(oid, 0, person, source="sam", anchor=False, score=0.42, op=op)
    store.add_prompt(oid, 0, [(*PERSON, True)], mask_rev_id=rev, op=op)
    with project.prompt(0, oid) as p:
        with pytest.raises(api.UserError, match=r"SAM rates its mask .* at 0\.42"):
            p.accept()
    store.put_mask(oid, 0, person, source="sam", anchor=False, score=0.93)
    with project.prompt(0, oid) as p:
        p.accept()  # a confident SAM mask of the person: no question
    assert store.mask(oid, 0).anchor
