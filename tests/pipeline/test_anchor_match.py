"""The ``redetect`` failure signal (:mod:`annotator.pipeline.anchor_match`) on real frames: the
anchor's keypoints found again say where the object is; a mask moved off it, leaked into its
reflection or swapped onto a look-alike disagrees, the right mask does not.

The "propagated" masks are constructed from real ground truth (DAVIS-2016, Cutie's judo
example): the ground truth is the correct propagation, the failures are made from it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from annotator.pipeline import failure as F
from annotator.pipeline.anchor_match import AnchorKeypoints
from tests.pipeline.conftest import davis_frame, judo_frame, run_tracker


def _shifted(mask: np.ndarray, dx: int) -> np.ndarray:
    out = np.zeros_like(mask)
    out[:, :dx] = mask[:, -dx:]
    return out


def _with_reflection(mask: np.ndarray) -> np.ndarray:
    """The mask and its mirror image just below it: a leak into the object's reflection."""
    rows = np.nonzero(mask.any(axis=1))[0]
    top, bottom = int(rows.min()), int(rows.max())
    out = mask.copy()
    end = min(mask.shape[0], 2 * bottom - top + 2)
    out[bottom + 1:end] |= mask[top:bottom + 1][::-1][:end - bottom - 1]
    return out


def test_the_similarity_found_is_the_one_applied(shared):
    """bus, frame 0 against itself and against itself zoomed by 1.25 about its centre: the
    transform found is the identity, then the zoom (scale, and the shift that goes with it)."""
    image, mask = davis_frame(shared, "bus", 0)
    small = cv2.resize(image, (427, 240), interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask.astype(np.uint8), (427, 240), interpolation=cv2.INTER_NEAREST) > 0
    keys = AnchorKeypoints(small, m)
    same = keys.transform(small)
    assert same is not None and np.allclose(same, [[1, 0, 0], [0, 1, 0]],
                                            atol=[[0.02, 0.02, 0.5]] * 2)  # shift: under 1 px
    zoom = cv2.getRotationMatrix2D((213.5, 120.0), 0.0, 1.25)
    zoomed = keys.transform(cv2.warpAffine(small, zoom, (427, 240)))
    assert zoomed is not None and np.allclose(zoomed, zoom, atol=[[0.03, 0.03, 3]] * 2)


@pytest.mark.parametrize("seq", ["boat", "bus", "car-turn"])
def test_a_mask_moved_off_the_object_disagrees_and_the_right_one_agrees(shared, seq):
    """Frames 1–8, anchored on frame 0's ground truth: the ground truth is where the anchor's
    keypoints put the object (1 − IoU under 0.15); the same masks moved sideways by the
    object's width are not (over 0.9)."""
    image0, gt0 = davis_frame(shared, seq, 0)
    anchor = F.Anchor(image0, gt0)
    xs = np.nonzero(gt0)[1]
    width = int(xs.max() - xs.min())
    for f in range(1, 9):
        image, gt = davis_frame(shared, seq, f)
        assert F.frame_signals(anchor, image, gt)["redetect"] < 0.15, f
        assert F.frame_signals(anchor, image, _shifted(gt, -width))["redetect"] > 0.9, f


def test_a_leak_into_the_reflection_is_flagged(shared):
    """boat (the leak the other signals miss): frames 1–8 with the ground truth and its mirror
    image below it. The re-found anchor disagrees, the score flags it and names the signal;
    the right masks stay quiet."""
    image0, gt0 = davis_frame(shared, "boat", 0)
    frames = [davis_frame(shared, "boat", f) for f in range(1, 9)]
    right = run_tracker(image0, gt0, frames)
    leak = run_tracker(image0, gt0, [(image, _with_reflection(gt)) for image, gt in frames])
    assert right["redetect"] < 0.15 and leak["redetect"] > 0.4
    model = F.DEFAULT_MODEL
    assert model.probability(right) < model.threshold * model.extend
    assert model.probability(leak) >= model.threshold
    assert "redetect" in F.reasons(leak, top=3)


def test_a_swap_between_two_judo_players_is_flagged(shared):
    """Judo: the standing player of frame 8 (object 3) is the anchor. His own mask on frames
    9–11 agrees with where his keypoints are found; the kneeling player's mask (object 4,
    frame 13, the same white judogi) in its place for four frames does not, and the score flags
    the swap."""
    image8, player3 = judo_frame(shared, 8, 3)
    image13, player4 = judo_frame(shared, 13, 4)
    right = run_tracker(image8, player3, [(judo_frame(shared, f), player3) for f in (9, 10, 11)])
    swapped = run_tracker(image8, player3, [(image13, player4)] * 4)  # the score builds up over frames
    assert right["redetect"] < 0.1 and swapped["redetect"] > 0.9
    model = F.DEFAULT_MODEL
    assert model.probability(right) < 0.01 <= model.threshold
    assert model.probability(swapped) >= model.threshold
    assert F.reasons(swapped)[0] == "redetect"


def test_no_features_no_answer():
    """A textureless anchor (a constructed flat frame, no real data needed) has no keypoints:
    the signal says nothing (0), whatever the later mask."""
    flat = np.full((240, 427, 3), 128, np.uint8)
    mask = np.zeros((240, 427), bool)
    mask[80:160, 150:250] = True
    keys = AnchorKeypoints(flat, mask)
    assert keys.transform(flat) is None
    assert keys.disagreement(flat, np.roll(mask, 100, axis=1)) == 0.0


def test_measured_every_few_frames_and_carried_between(shared):
    """boat, the reflection leak starting on frame 2: ``redetect`` (measured on the first frame
    after the anchor and every ``REDETECT_EVERY``-th after it, to keep its cost down) carries
    frame 1's quiet value until its next measurement, which finds the leak, and carries that."""
    k = F.REDETECT_EVERY
    assert k > 1
    image0, gt0 = davis_frame(shared, "boat", 0)
    tracker = F.SignalTracker()
    tracker.anchor(1, image0, gt0)
    prev, seen = gt0, {}
    for f in range(1, 2 * k + 1):
        image, gt = davis_frame(shared, "boat", f)
        mask = gt if f < 2 else _with_reflection(gt)
        seen[f] = tracker.measure(1, image, mask, prev)["redetect"]
        prev = mask
    assert seen[1] < 0.15 and all(seen[f] == seen[1] for f in range(2, k + 1))
    assert seen[k + 1] > 0.4 and all(seen[f] == seen[k + 1] for f in range(k + 2, 2 * k + 1))
