"""The weight-free fallback segmenter on real DAVIS frames (same interface as SAM)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from annotator.engines.fallback_segmenter import FALLBACK_NAME, FallbackSegmenter
from annotator.engines.segmenter import Segmenter


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture
def boat(shared):
    seq = shared("data", "davis2016", "boat")
    image = np.asarray(Image.open(seq / "JPEGImages" / "00000.jpg").convert("RGB"))
    gt = np.asarray(Image.open(seq / "Annotations" / "00000.png")) > 127
    return image, gt


def _interior(mask: np.ndarray) -> tuple[int, int]:
    import cv2

    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def test_interface_and_name(boat):
    image, gt = boat
    seg = FallbackSegmenter()
    assert isinstance(seg, Segmenter)
    assert seg.is_fallback and seg.name == FALLBACK_NAME and "no SAM weights" in seg.name
    assert seg.embed(image) == "computed"
    assert seg.embed(image) == "memory"
    assert seg.precompute(image) is False
    res = seg.predict(np.array([_interior(gt)]), np.array([1]))
    h, w = gt.shape
    assert res.masks.shape == (3, h, w) and res.masks.dtype == bool
    assert res.scores.shape == (3,) and res.low_res_logits.shape == (3, 256, 256)
    assert res.engine == FALLBACK_NAME
    one = seg.predict(np.array([_interior(gt)]), np.array([1]), multimask=False)
    assert one.masks.shape == (1, h, w)


def test_clicks_make_progress_on_a_real_frame(boat):
    """A simulated annotator: each click goes to the middle of the largest error."""
    import cv2

    image, gt = boat
    seg = FallbackSegmenter()
    seg.embed(image)
    pred = np.zeros_like(gt)
    pts, labs, ious, logits = [], [], [], None
    for _ in range(8):
        fn, fp = gt & ~pred, pred & ~gt
        areas = [cv2.connectedComponentsWithStats(m.astype(np.uint8))[2][1:, 4].max()
                 if m.any() else 0 for m in (fn, fp)]
        err, lab = (fn, 1) if areas[0] >= areas[1] else (fp, 0)
        n, comp = cv2.connectedComponents(err.astype(np.uint8))
        biggest = 1 + int(np.argmax(np.bincount(comp.ravel())[1:]))
        pts.append(_interior(comp == biggest))
        labs.append(lab)
        res = seg.predict(np.array(pts), np.array(labs), mask_logits=logits)
        pred, logits = res.best_mask, res.best_logits
        ious.append(_iou(pred, gt))
        assert pred[pts[-1][1], pts[-1][0]] == bool(lab)  # the clicked pixel answers as clicked
    # measured: 0.04 after one click, 0.67 after eight (a weak colour model on a first click;
    # the clicks then fix the largest errors one by one)
    assert ious[-1] > 0.6, ious
    assert max(ious[-3:]) > ious[0] + 0.3, ious


def test_the_same_clicks_give_the_same_mask_without_history(boat):
    image, gt = boat
    pts = np.array([_interior(gt), (30, 30), (600, 250)])
    labs = np.array([1, 0, 1])
    a = FallbackSegmenter()
    a.embed(image)
    for k in range(1, 4):  # click by click, as the GUI does
        ra = a.predict(pts[:k], labs[:k])
    b = FallbackSegmenter()
    b.embed(image)
    rb = b.predict(pts, labs)  # all at once (e.g. re-opened from the store)
    np.testing.assert_array_equal(ra.masks, rb.masks)


def test_a_box_alone_and_a_box_with_points(boat):
    image, gt = boat
    ys, xs = np.nonzero(gt)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
    seg = FallbackSegmenter()
    seg.embed(image)
    only_box = seg.predict(None, None, box=box, multimask=False).masks[0]
    assert _iou(only_box, gt) > 0.5
    assert not only_box[: int(box[1]) - 2].any()  # nothing above the box
    with_pts = seg.predict(np.array([_interior(gt)]), np.array([1]), box=box, multimask=False)
    assert _iou(with_pts.masks[0], gt) > 0.5


def test_a_negative_click_alone_gives_an_empty_mask(boat):
    image, _ = boat
    seg = FallbackSegmenter()
    seg.embed(image)
    res = seg.predict(np.array([[10, 10]]), np.array([0]))
    assert not res.masks.any() and (res.scores == 0).all()


def test_predict_before_embed_and_bad_prompts():
    seg = FallbackSegmenter()
    with pytest.raises(RuntimeError, match="embed"):
        seg.predict(np.array([[1, 1]]), np.array([1]))
    seg.embed(np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(ValueError):
        seg.predict(np.array([[1, 1], [2, 2]]), np.array([1]))
    with pytest.raises(ValueError):
        seg.predict(None, None)
    res = seg.predict(np.array([[5, 5]]), np.array([1]))  # a flat frame must not crash
    assert res.masks.shape == (3, 20, 30)
