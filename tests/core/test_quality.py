"""Quality measures and flag signals on constructed masks (exact values worked out by hand)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from annotator.core import quality


def box(shape=(100, 200), y0=10, y1=30, x0=20, x1=60) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_region_similarity_counts_overlap_and_empty_convention():
    a = box(x0=20, x1=60)  # 20×40 = 800 px
    b = box(x0=40, x1=80)  # overlap 20×20 = 400, union 1200
    assert quality.region_similarity(a, b) == pytest.approx(400 / 1200)
    assert quality.region_similarity(a, a) == 1.0
    empty = np.zeros_like(a)
    assert quality.region_similarity(empty, empty) == 1.0
    assert quality.region_similarity(a, empty) == 0.0
    assert quality.iou_disagreement(a, b) == pytest.approx(1 - 400 / 1200)


def test_mismatched_sizes_are_refused_with_the_sizes():
    with pytest.raises(ValueError, match="differ in size"):
        quality.region_similarity(np.zeros((4, 5), bool), np.zeros((4, 6), bool))


def test_boundary_map_of_a_box_is_its_outline():
    bmap = quality.seg_to_boundary(box(y0=10, y1=20, x0=10, x1=20))
    ys, xs = np.nonzero(bmap)
    # seg2bmap marks the pixels where the mask changes towards east/south/south-east.
    assert ys.min() >= 9 and ys.max() <= 19 and xs.min() >= 9 and xs.max() <= 19
    assert not bmap[14, 14]  # the interior is not boundary
    assert bmap.sum() > 0


def test_boundary_f_tolerates_shifts_within_the_bound_only():
    gt = box(shape=(480, 854), y0=100, y1=200, x0=100, x1=300)
    bound = int(np.ceil(0.008 * np.hypot(480, 854)))  # 8 px
    assert quality.boundary_f_measure(gt, gt) == 1.0
    near = np.roll(gt, bound - 1, axis=1)
    assert quality.boundary_f_measure(near, gt) == 1.0
    # Shifted diagonally by 3 bounds: only the pixels where the outlines cross still match.
    far = np.roll(gt, (3 * bound, 3 * bound), axis=(0, 1))
    assert quality.boundary_f_measure(far, gt) < 0.2
    empty = np.zeros_like(gt)
    assert quality.boundary_f_measure(empty, empty) == 1.0
    assert quality.boundary_f_measure(empty, gt) == 0.0
    assert quality.boundary_f_measure(gt, empty) == 0.0


def test_area_and_centroid_jumps():
    a = box(x0=20, x1=60)  # 800 px, centroid x = 39.5
    half = box(x0=20, x1=40)  # 400 px
    assert quality.area_jump(a, half) == pytest.approx(0.5)
    assert quality.area_jump(a, a) == 0.0
    assert quality.area_jump(a, np.zeros_like(a)) == 1.0
    moved = box(x0=60, x1=100)  # same size, 40 px to the right
    assert quality.centroid_jump(a, moved) == pytest.approx(40 / np.sqrt(800))
    assert quality.centroid_jump(a, np.zeros_like(a)) == 0.0
    assert quality.centroid(a) == pytest.approx((39.5, 19.5))


def test_lost_whole_frame_and_low_confidence():
    frame = (100, 200)  # 20 000 px; lost below 0.05 % = 10 px by default
    tiny = box(frame, 0, 3, 0, 3)  # 9 px
    assert quality.is_lost(tiny)
    assert quality.is_lost(np.zeros(frame, bool))
    assert not quality.is_lost(box(frame))
    # Relative to a reference: 2 % of 50 000 = 1000 px > 800 px.
    assert quality.is_lost(box(frame), reference_area=50_000)
    assert quality.is_whole_frame(np.ones(frame, bool))
    assert not quality.is_whole_frame(box(frame))
    assert quality.is_low_confidence(0.2) and not quality.is_low_confidence(0.9)


def test_frame_flags_combine_the_signals():
    a = box(x0=20, x1=60)
    assert quality.frame_flags(a, prev_mask=a, confidence=0.9, reference_area=800) == []
    flags = quality.frame_flags(box(x0=120, x1=130), prev_mask=a, confidence=0.1)
    assert flags == ["area_jump", "centroid_jump", "low_confidence"]
    lost = quality.frame_flags(np.zeros_like(a), prev_mask=a, reference_area=800)
    assert lost == ["lost"]  # no jump reported on top of "lost"
    assert quality.frame_flags(a, other_mask=box(x0=60, x1=100)) == ["disagreement"]
    assert "whole_frame" in quality.frame_flags(np.ones_like(a))
    strict = quality.FlagThresholds(low_confidence=0.95)
    assert quality.frame_flags(a, confidence=0.9, thresholds=strict) == ["low_confidence"]
    assert quality.flagged_frames([[], ["lost"], [], ["area_jump"]]) == [1, 3]


def test_quality_imports_no_engine_or_gui_code():
    code = (
        "import sys, annotator.core.quality; "
        "bad = [m for m in sys.modules if m.startswith(('annotator.engines', 'annotator.gui', "
        "'annotator.pipeline'))]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
