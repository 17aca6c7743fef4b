"""J against clicks (bench/effort_curve.py): reading a curve, its area, the clicks it needs for
a J, the CSV and plot; pooling curves over sequences (bench/effort_report.py) — on hand-built
curves whose answers are worked out by hand."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("effort_curve", ROOT / "bench" / "effort_curve.py")
ec = sys.modules["effort_curve"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ec)
_spec = importlib.util.spec_from_file_location("effort_report", ROOT / "bench" / "effort_report.py")
er = sys.modules["effort_report"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(er)  # it imports effort_curve, loaded above


def test_a_curve_starts_at_the_origin_and_stays_where_it_ended():
    points = [(10.0, 0.6), (30.0, 0.8)]
    assert ec.value(points, [0, 5, 10, 20, 30, 99]).tolist() == pytest.approx(
        [0, 0.3, 0.6, 0.7, 0.8, 0.8])


def test_area_is_the_mean_j_over_the_click_axis():
    # one click per frame in order: the straight line to (100, 0.5); area 0.25 over 0–100
    assert ec.area([(100.0, 0.5)], 100) == pytest.approx(0.25)
    # 0–10: a ramp to 0.6 (area 3), then flat 0.6 for 40 (area 24): 27 / 50
    assert ec.area([(10.0, 0.6)], 50) == pytest.approx(0.54)
    # cut inside a segment: 0–10 ramp (3) + 10–20 from 0.6 to 0.7 (6.5): 9.5 / 20
    assert ec.area([(10.0, 0.6), (30.0, 0.8)], 20) == pytest.approx(0.475)


def test_at_equal_clicks_the_later_point_counts():
    assert ec.area([(10.0, 0.2), (10.0, 0.6)], 50) == pytest.approx(0.54)
    with pytest.raises(ValueError, match="only grow"):
        ec.value([(10.0, 0.2), (5.0, 0.6)], 1)


def test_clicks_for_a_j():
    points = [(100.0, 0.5), (200.0, 0.7)]
    assert ec.clicks_for(points, 0.6) == pytest.approx(150)
    assert ec.clicks_for(points, 0.25) == pytest.approx(50)
    assert ec.clicks_for(points, 0.7) == pytest.approx(200)
    assert ec.clicks_for(points, 0.8) is None
    assert ec.clicks_for([(100.0, 0.5), (200.0, 0.5)], 0.5) == pytest.approx(100)


def test_pooled_curves_pool_each_step_over_the_frames():
    def result(frames, check, every):
        kf = [check[0], (check[0][0] + 10, 0.7)]
        return {"frames": frames, "check": {"curve": check}, "oracle": {"curve": check},
                "kf10": {"curve": kf}, "every": {"curve": every}}

    # 25 frames with two fixes, 75 frames that stopped after the propagation
    a = result(25, [(20.0, 0.4), (28.0, 0.6), (40.0, 0.8)], [(100.0, 0.3), (200.0, 0.5)])
    b = result(75, [(4.0, 0.8)], [(100.0, 0.5), (150.0, 0.9)])
    got = er.pooled_curves([a, b])
    assert got[er.CURVE_NAMES["check"]] == pytest.approx(
        [(0.25 * 20 + 0.75 * 4, 0.25 * 0.4 + 0.75 * 0.8),
         (0.25 * 28 + 0.75 * 4, 0.25 * 0.6 + 0.75 * 0.8),
         (0.25 * 40 + 0.75 * 4, 0.8)])
    assert got[er.CURVE_NAMES["every"]] == pytest.approx(
        [(100.0, 0.45), (162.5, 0.8)])
    assert got[er.CURVE_NAMES["kf"]][1] == pytest.approx((0.25 * 30 + 0.75 * 14, 0.7))


def test_csv_and_plot(tmp_path):
    curves = {"check view": [(10.0, 0.6), (30.0, 0.8)], "every frame": [(100.0, 0.5)]}
    path = ec.write_csv(tmp_path / "out" / "curve.csv", curves)
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["protocol", "clicks_per_100_frames", "mean_J"]
    assert rows[1:] == [["check view", "10.000", "0.6000"], ["check view", "30.000", "0.8000"],
                        ["every frame", "100.000", "0.5000"]]
    png = tmp_path / "out" / "curve.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # not a dependency of the project: the bench then says so
        assert ec.plot(png, curves, "t", 0.8) is False and not png.exists()
    else:
        assert ec.plot(png, curves, "t", 0.8) is True
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
