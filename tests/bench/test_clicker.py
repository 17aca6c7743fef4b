"""The simulated annotator (bench/clicker.py): where the NoC protocol's next click goes, on
hand-built masks whose answer is known, and its click loop driving the real API on a DAVIS
frame (real project, real weight-free segmenter; nothing stands in)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from annotator import api
from annotator.core.quality import region_similarity

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("clicker", ROOT / "bench" / "clicker.py")
clicker = sys.modules["clicker"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(clicker)
Click, next_click = clicker.Click, clicker.next_click


def _box(shape, y0, x0, size):
    m = np.zeros(shape, bool)
    m[y0:y0 + size, x0:x0 + size] = True
    return m


def test_no_mask_yet_clicks_the_centre_of_the_object():
    gt = _box((60, 80), 10, 30, 21)  # rows 10–30, columns 30–50: centre (40, 20)
    assert next_click(None, gt) == Click(40, 20, True)
    assert next_click(np.zeros_like(gt), gt) == Click(40, 20, True)


def test_agreement_needs_no_click():
    gt = _box((60, 80), 10, 30, 21)
    assert next_click(gt.copy(), gt) is None
    assert next_click(None, np.zeros((60, 80), bool)) is None


def test_the_largest_error_region_wins_missed_or_false():
    gt = _box((100, 120), 10, 10, 41)            # the object: rows and columns 10–50
    pred = gt.copy()
    pred[25:36, 25:36] = False                   # a missed hole of 11×11 (centre 30, 30)
    pred |= _box(gt.shape, 60, 70, 15)           # a false blob of 15×15 (centre 77, 67)
    assert next_click(pred, gt) == Click(77, 67, False)
    pred[60:75, 70:85] = False                   # the blob gone: the hole is all that is left
    assert next_click(pred, gt) == Click(30, 30, True)


def test_the_largest_component_of_an_error_is_clicked():
    gt = _box((100, 120), 5, 5, 11) | _box((100, 120), 40, 60, 31)  # two missed squares
    assert next_click(None, gt) == Click(75, 55, True)


def test_the_frame_edge_counts_as_a_border():
    gt = _box((60, 80), 0, 0, 21)  # a square in the corner: its centre, not the corner
    assert next_click(None, gt) == Click(10, 10, True)


def test_a_tie_goes_to_the_missed_region():
    gt = _box((60, 120), 10, 10, 11)
    pred = _box((60, 120), 10, 80, 11)  # as large as the missed square, elsewhere
    assert next_click(pred, gt) == Click(15, 15, True)


def test_click_to_drives_an_api_prompt_on_a_davis_frame(shared, tmp_path):
    seq = shared("data", "davis2016", "boat")
    gt = np.array(Image.open(seq / "Annotations" / "00000.png")) > 0
    with api.create(seq / "JPEGImages", tmp_path / "boat.avsproj") as project:
        oid = project.add_object("boat")
        project.add_segment(oid, 0, 9)
        with project.prompt(0, oid) as p:
            done = clicker.click_to(p, gt, target=0.85, max_clicks=6)
            points = p.points
        assert 1 <= done.clicks <= 6 and done.start == 0.0
        assert len(done.seconds) == done.clicks and min(done.seconds) > 0
        assert done.final >= 0.85 or done.clicks == 6
        assert done.final == pytest.approx(region_similarity(project.mask(oid, 0), gt))
        assert len(points) == done.clicks  # every click went through the API and was kept
        first = next_click(None, gt)
        assert points[0] == (first.x, first.y, True)
        with project.prompt(0, oid) as p:  # at the target already: no click
            again = clicker.click_to(p, gt, target=done.final)
        assert again.clicks == 0 and again.final == pytest.approx(done.final)
