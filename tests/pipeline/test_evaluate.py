"""The LU-AVS metrics (annotator/pipeline/evaluate.py, docs/evaluate.md) on hand-built tracks:
exact values worked out by hand, and m_vIoU / boundary F against independent re-implementations
in this file on random cases (fixed seed)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy import ndimage

from annotator.core.tracks import Track
from annotator.errors import UserError
from annotator.pipeline.evaluate import (
    METRICS,
    avs_f_measure,
    box_iou,
    evaluate,
    match,
    render_table,
    write_csv,
)

H, W = 20, 20  # diagonal 28.3 px: DAVIS's bound_pix = ceil(0.008 · 28.3) = 1


def square(y0, y1, x0, x1, shape=(H, W)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def track(start, end, masks=None, *, label="dog", video="v", name=None, boxes=None,
          calls=None) -> Track:
    """A track over [start, end]; ``masks``: one array for every frame, a dict frame → mask
    (missing frames: None), or a callable; ``boxes`` likewise (default: none: box_of(mask))."""
    def lookup(table, t):
        if callable(table):
            return table(t)
        if isinstance(table, dict):
            return table.get(t)
        return table

    def mask(t):
        assert start <= t <= end, f"mask({t}) asked outside [{start}, {end}]"
        if calls is not None:
            calls.append(t)
        return lookup(masks, t)

    return Track(video=video, label=label, start=start, end=end, name=name or label,
                 mask=mask, box=lambda t: lookup(boxes, t))


A = square(0, 4, 0, 4)   # 16 px
B = square(0, 4, 2, 6)   # 16 px, 8 shared with A: IoU 8/24 = 1/3


def test_identical_tracks_score_one_and_hidden_frames_count_as_perfect():
    masks = {0: A, 1: A, 3: A}  # frame 2: the object is hidden (None) on both sides
    s = evaluate([track(0, 3, masks)], [track(0, 3, masks)])
    assert s.overall == {m: 1.0 for m in METRICS}
    assert s.n_segments == 1
    # hidden on GT, something predicted: that frame scores 0 everywhere
    pred = track(0, 3, {0: A, 1: A, 2: A, 3: A})
    s = evaluate([track(0, 3, masks)], [pred])
    for m in ("m_tIoU", "m_vIoU", "m_tF", "m_vF", "m_tIoU_box", "m_vIoU_box", "J", "F"):
        assert s.overall[m] == pytest.approx(0.75), m


def test_unmatched_segment_and_empty_prediction_score_zero_but_hidden_frames():
    gt = [track(0, 3, {0: A, 1: A, 2: A, 3: None}), track(10, 11, A)]
    s = evaluate(gt, [])
    assert [r["pred"] for r in s.rows] == [None, None]
    # first segment: frame 3 is hidden on GT and nothing predicted: 1 of 4 frames right
    assert s.rows[0]["m_tIoU"] == pytest.approx(0.25)
    assert s.rows[0]["J"] == pytest.approx(0.25) and s.rows[0]["F"] == pytest.approx(0.25)
    assert s.rows[0]["m_vIoU"] == 0.0 and s.rows[0]["t_IoU"] == 0.0
    assert s.rows[0]["m_tF"] == pytest.approx(0.25) and s.rows[0]["m_vF"] == 0.0
    assert s.rows[0]["m_tIoU_box"] == pytest.approx(0.25) and s.rows[0]["m_vIoU_box"] == 0.0
    assert s.rows[1]["m_tIoU"] == 0.0
    assert s.overall["m_tIoU"] == pytest.approx(0.125)
    # a prediction that matches in time but is empty everywhere
    s = evaluate([track(10, 11, A)], [track(10, 11, None)])
    assert s.rows[0]["pred"] == (10, 11) and s.rows[0]["t_IoU"] == 1.0
    assert all(s.overall[m] == 0.0 for m in METRICS if m != "t_IoU")


def test_disjoint_range_does_not_match_and_partial_overlap_gives_exact_viou():
    # disjoint in time: not a match, even though the masks would agree
    s = evaluate([track(0, 4, A)], [track(5, 9, A)])
    assert s.rows[0]["pred"] is None and s.overall["m_tIoU"] == 0.0
    # G = [0, 9], P = [5, 14]: frames 5..9 shared with IoU 1/3 each
    calls: list[int] = []
    s = evaluate([track(0, 9, A)], [track(5, 14, B, calls=calls)])
    r = s.rows[0]
    assert r["pred"] == (5, 14)
    assert r["t_IoU"] == pytest.approx(5 / 15)
    assert r["m_tIoU"] == pytest.approx(5 * (1 / 3) / 10)          # over |G| = 10
    assert r["m_vIoU"] == pytest.approx(5 * (1 / 3) / 15)          # over |G ∪ P| = 15
    assert r["m_vIoU"] != pytest.approx(r["m_tIoU"])
    # F-measure of A and B: precision = recall = 1/2, F = 1/2
    assert r["m_tF"] == pytest.approx(5 * 0.5 / 10) and r["m_vF"] == pytest.approx(5 * 0.5 / 15)
    assert r["m_vIoU_box"] == pytest.approx(r["m_vIoU"])
    # the prediction is decoded only on frames of G, once each
    assert calls == [5, 6, 7, 8, 9]


def test_f_measure_with_beta2_03_by_hand():
    inner = square(0, 4, 0, 2)  # 8 px inside A (16 px): precision 1, recall 1/2
    # (1 + 0.3) · 1 · 0.5 / (0.3 · 1 + 0.5) = 0.65 / 0.8
    assert avs_f_measure(8, 8, 16) == pytest.approx(0.8125)
    # β² = 1 would give 2/3: the weighting is β² = 0.3
    assert avs_f_measure(8, 8, 16) != pytest.approx(2 / 3)
    # precision 1/2, recall 1: 1.3 · 0.5 / (0.15 + 1)
    assert avs_f_measure(8, 16, 8) == pytest.approx(0.65 / 1.15)
    assert avs_f_measure(0, 0, 0) == 1.0 and avs_f_measure(0, 5, 0) == 0.0
    assert avs_f_measure(0, 5, 5) == 0.0
    s = evaluate([track(0, 1, A)], [track(0, 1, inner)])
    assert s.overall["m_tF"] == pytest.approx(0.8125)
    assert s.overall["m_vF"] == pytest.approx(0.8125)
    assert s.overall["m_tIoU"] == pytest.approx(0.5)


def test_a_prediction_of_another_label_or_video_does_not_match():
    gt = [track(0, 3, A, label="dog"), track(0, 3, B, label="guitar")]
    pred = [track(0, 3, A, label="guitar"), track(0, 3, A, label="dog", video="other")]
    s = evaluate(gt, pred)
    assert s.rows[0]["pred"] is None
    assert s.rows[1]["pred"] == (0, 3)
    assert s.rows[1]["m_tIoU"] == pytest.approx(1 / 3)
    assert set(s.per_category) == {"dog", "guitar"}
    assert s.per_category["dog"]["m_tIoU"] == 0.0
    assert s.per_category["guitar"]["m_tIoU"] == pytest.approx(1 / 3)
    assert s.per_category["guitar"]["n_segments"] == 1
    assert s.overall["m_tIoU"] == pytest.approx(1 / 6)


def test_ties_go_to_the_same_name_then_the_earliest_start():
    g = track(2, 5, A, name="man")
    early, late = track(0, 3, A, name="woman"), track(4, 7, A, name="woman")  # both 2/8
    assert match(g, [late, early]) is early
    same_name = track(4, 7, A, name="man")
    assert match(g, [early, same_name, late]) is same_name
    better = track(3, 6, A, name="woman")  # 3/5: larger temporal IoU wins over the name
    assert match(g, [same_name, better]) is better
    # one prediction may match several GT segments
    p = track(0, 9, A)
    s = evaluate([track(0, 4, A), track(5, 9, A)], [p])
    assert [r["pred"] for r in s.rows] == [(0, 9), (0, 9)]


def test_symmetric_averages_both_directions():
    gt = [track(0, 9, A)]
    inside = square(0, 4, 2, 4)  # inside A: F-measure differs by direction (β² ≠ 1)
    pred = [track(5, 14, inside), track(20, 21, A, label="cat")]  # the cat: nothing GT has
    one = evaluate(gt, pred)
    back = evaluate(pred, gt)
    s = evaluate(gt, pred, symmetric=True)
    for m in METRICS:
        assert s.overall[m] == pytest.approx((one.overall[m] + back.overall[m]) / 2), m
        assert s.per_category["dog"][m] == pytest.approx(
            (one.per_category["dog"][m] + back.per_category["dog"][m]) / 2), m
        assert s.per_video["v"][m] == pytest.approx((one.overall[m] + back.overall[m]) / 2), m
    assert s.overall["m_vIoU"] != pytest.approx(one.overall["m_vIoU"])
    assert s.per_category["dog"]["m_tF"] != pytest.approx(one.per_category["dog"]["m_tF"])
    assert s.per_category["cat"] == back.per_category["cat"]  # only one side has a cat
    assert s.n_segments == 3
    assert [r["direction"] for r in s.rows] == ["gt", "pred", "pred"]
    assert s.per_category["dog"]["n_segments"] == 2
    # symmetric is symmetric
    t = evaluate(pred, gt, symmetric=True)
    for m in METRICS:
        assert t.overall[m] == pytest.approx(s.overall[m])


def test_box_variants_use_boxes_and_fall_back_to_the_mask_box():
    # GT: the tight box of A, [0, 0, 4, 4]; pred: a drawn box [2, 0, 6, 4] on frame 0, none
    # on frame 1 (falls back to the box of B: the same), nothing on frame 2 (both sides none)
    gt = track(0, 2, {0: A, 1: A})
    pred = track(0, 2, {0: None, 1: B}, boxes={0: np.array([2, 0, 6, 4], np.float32)})
    s = evaluate([gt], [pred])
    # frame 0: box IoU 8/24 (mask: none predicted, IoU 0); frame 1: 1/3; frame 2: both none → 1
    assert s.overall["m_tIoU_box"] == pytest.approx((1 / 3 + 1 / 3 + 1) / 3)
    assert s.overall["m_tIoU"] == pytest.approx((0 + 1 / 3 + 1) / 3)
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 5, 15, 15])) == pytest.approx(25 / 175)
    assert box_iou(None, None) == 1.0 and box_iou(np.array([0, 0, 1, 1]), None) == 0.0
    # box vIoU counts the union of the ranges
    s = evaluate([track(0, 1, A)], [track(1, 2, A)])
    assert s.overall["m_vIoU_box"] == pytest.approx(1 / 3)
    assert s.overall["m_tIoU_box"] == pytest.approx(1 / 2)


def test_j_and_f_by_hand():
    gt = square(5, 10, 5, 10)          # 5×5
    shifted = square(5, 10, 7, 12)     # two columns right: J = 15/35
    far = square(14, 18, 14, 18)
    # shifted: 12 of 20 boundary pixels (seg2bmap) within 1 px on each side: P = R = F = 0.6
    frames = {0: gt, 1: gt, 2: None, 3: gt, 4: gt}
    pred = {0: gt, 1: shifted, 2: None, 3: None, 4: far}
    s = evaluate([track(0, 4, frames)], [track(0, 4, pred)])
    j = (1 + 15 / 35 + 1 + 0 + 0) / 5
    f = (1 + 0.6 + 1 + 0 + 0) / 5
    assert s.overall["J"] == pytest.approx(j)
    assert s.overall["F"] == pytest.approx(f)
    assert s.overall["J&F"] == pytest.approx((j + f) / 2)
    # J is region IoU over G, the same as m_tIoU
    assert s.overall["J"] == pytest.approx(s.overall["m_tIoU"])


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """DAVIS's boundary map, from its definition: a pixel differs from one of its east, south,
    south-east neighbours inside the image (edge padding repeats a pixel, so none outside)."""
    p = np.pad(seg, ((0, 1), (0, 1)), mode="edge")
    return (seg != p[:-1, 1:]) | (seg != p[1:, :-1]) | (seg != p[1:, 1:])


def boundary_f(pred: np.ndarray, gt: np.ndarray) -> float:
    """Boundary F with distances (a disk dilation of radius r = within Euclidean distance r)."""
    r = math.ceil(0.008 * math.hypot(*gt.shape))
    bp, bg = seg2bmap(pred), seg2bmap(gt)
    if not bp.any() and not bg.any():
        return 1.0
    if not bp.any() or not bg.any():
        return 0.0
    prec = np.mean(ndimage.distance_transform_edt(~bg)[bp] <= r)
    rec = np.mean(ndimage.distance_transform_edt(~bp)[bg] <= r)
    return 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)


def random_mask(rng, shape) -> np.ndarray | None:
    kind = rng.integers(6)
    if kind == 0:
        return None
    if kind == 1:
        return np.zeros(shape, bool)
    if kind == 2:
        return rng.random(shape) < 0.3
    y0, x0 = rng.integers(0, shape[0] - 2), rng.integers(0, shape[1] - 2)
    return square(y0, rng.integers(y0 + 1, shape[0] + 1), x0, rng.integers(x0 + 1, shape[1] + 1),
                  shape)


def random_tracks(rng, n, shape, length):
    """n tracks over 2 videos × 2 labels; masks drawn once and kept in a dense (T, H, W) tube
    per track (False outside the track's range) for the brute-force check."""
    tracks, tubes = [], []
    for _ in range(n):
        s = int(rng.integers(0, length - 1))
        e = int(rng.integers(s, min(length, s + 12)))
        tube = np.zeros((length, *shape), bool)
        masks = {}
        for t in range(s, e + 1):
            masks[t] = random_mask(rng, shape)
            if masks[t] is not None:
                tube[t] = masks[t]
        tracks.append(track(s, e, masks, video=f"v{rng.integers(2)}",
                            label=["dog", "cat"][rng.integers(2)], name=f"n{rng.integers(2)}"))
        tubes.append(tube)
    return tracks, tubes


def brute_viou(gt, gt_tubes, pred, pred_tubes) -> list[float]:
    """Per GT segment: the match found with sets of frames, then the spatio-temporal tube IoU
    Σ_{t ∈ G∩P} IoU_t / |G ∪ P| computed on whole (T, H, W) arrays."""
    out = []
    for g, gtube in zip(gt, gt_tubes):
        gf = set(range(g.start, g.end + 1))
        best = None
        for i, p in enumerate(pred):
            pf = set(range(p.start, p.end + 1))
            if p.video != g.video or p.label != g.label or not gf & pf:
                continue
            key = (-len(gf & pf) / len(gf | pf), p.name != g.name, p.start, p.end, i)
            best = min(best, (key, i)) if best else (key, i)
        if best is None:
            out.append(0.0)
            continue
        p, ptube = pred[best[1]], pred_tubes[best[1]]
        frames = np.arange(gtube.shape[0])
        in_g = (frames >= g.start) & (frames <= g.end)
        in_p = (frames >= p.start) & (frames <= p.end)
        inter = (gtube & ptube).sum(axis=(1, 2))
        union = (gtube | ptube).sum(axis=(1, 2))
        iou = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
        out.append(float(iou[in_g & in_p].sum() / (in_g | in_p).sum()))
    return out


def test_viou_and_boundary_f_match_independent_implementations_on_random_cases():
    rng = np.random.default_rng(20261207)
    shape = (12, 17)
    for _ in range(20):
        gt, gt_tubes = random_tracks(rng, 6, shape, 30)
        pred, pred_tubes = random_tracks(rng, 6, shape, 30)
        s = evaluate(gt, pred)
        want = brute_viou(gt, gt_tubes, pred, pred_tubes)
        assert [r["m_vIoU"] for r in s.rows] == pytest.approx(want)
        assert s.overall["m_vIoU"] == pytest.approx(np.mean(want))
    for shape in [(30, 41)] * 100 + [(130, 210)] * 100:  # bound_pix 1 and 2
        a, b = random_mask(rng, shape), random_mask(rng, shape)
        a = np.zeros(shape, bool) if a is None else a
        b = np.zeros(shape, bool) if b is None else b
        s = evaluate([track(0, 0, a)], [track(0, 0, b)])
        assert s.overall["F"] == pytest.approx(boundary_f(b, a)), (a.sum(), b.sum())


def test_mask_sizes_must_agree():
    with pytest.raises(UserError, match=r"v: frame 1: .*20×20.*21×20"):
        evaluate([track(0, 2, A)], [track(1, 2, np.zeros((20, 21), bool))])


def test_groups_json_table_csv_and_progress(tmp_path):
    gt = [track(0, 3, A, video="v1"), track(0, 1, A, video="v2", label="cat")]
    pred = [track(0, 3, B, video="v1")]
    seen = []
    s = evaluate(gt, pred, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6) and len(seen) == 6
    j = s.to_json()
    assert list(j) == [*METRICS, "n_segments", "per_category"]
    j = json.loads(json.dumps(s.to_json(per=("video", "segment"))))
    assert list(j)[-2:] == ["per_video", "per_segment"]
    assert j["per_video"]["v1"]["m_tIoU"] == pytest.approx(1 / 3)
    assert j["per_segment"][0]["pred"] == [0, 3] and j["per_segment"][1]["pred"] is None
    with pytest.raises(UserError, match="unknown grouping"):
        s.to_json(per=("label",))
    table = render_table(s, per=("category", "video"))
    lines = table.splitlines()
    assert lines[1].split()[:3] == ["overall", "2", "16.7"]
    assert [ln.split()[0] for ln in lines[2:]] == ["cat", "dog", "v1", "v2"]
    assert len({len(ln) for ln in lines[1:]}) == 1  # aligned columns
    path = write_csv(s, tmp_path / "rows.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["pred_start"] for r in rows] == ["0", ""]
    assert float(rows[0]["m_tIoU"]) == pytest.approx(1 / 3, abs=1e-6)
    with pytest.raises(UserError, match="no ground-truth segments"):
        evaluate([], pred)
