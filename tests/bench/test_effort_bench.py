"""bench/effort_bench.py end to end on the shortest DAVIS sequence (dog-agility, 25 frames),
with 2 clicks a frame at most so it stays short: real projects through annotator.api, the real
weight-free engines. What is checked is the bookkeeping (clicks against the budget, the
curves, the every-frame sample), never a figure."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # as `python bench/effort_bench.py` runs
    spec = importlib.util.spec_from_file_location("effort_bench", ROOT / "bench" / "effort_bench.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "effort_bench", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_one_sequence_end_to_end(shared, tmp_path, monkeypatch, capsys):
    data = shared("data", "davis2016")
    bench = _bench(monkeypatch)
    work, plot = tmp_path / "work", tmp_path / "out" / "curve.png"
    assert bench.main(["--data", str(data), "--sequences", "dog-agility", "--max-clicks", "2",
                       "--keyframes", "10", "--work", str(work), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    r = json.loads((work / "dog-agility.json").read_text())
    assert not (work / "dog-agility").exists()  # the projects go, the figures stay
    n, first = r["frames"], r["first_clicks"]
    assert n == 25 and r["budget"] == 8 and 1 <= first <= 2
    for key in ("check", "oracle"):
        p = r[key]
        spent = sum(f["clicks"] for f in p["fixes"])
        assert p["clicks"] == first + spent and spent <= r["budget"]
        assert all(f["clicks"] <= 2 for f in p["fixes"])
        assert all(f["j_after"] >= 0.8 for f in p["fixes"] if f["kept"])  # fixed: good now
        assert all(f["j_before"] < 0.8 for f in p["fixes"])  # only bad frames are fixed
        assert len({f["frame"] for f in p["fixes"]}) == len(p["fixes"]) and all(
            f["frame"] != 0 for f in p["fixes"])
        xs = [x for x, _ in p["curve"]]
        assert xs == sorted(xs) and len(xs) == 1 + len(p["fixes"])
        assert xs[-1] == pytest.approx(100 * p["clicks"] / n)
        assert 0 <= p["good"] <= n and 0 <= p["mean_j"] <= 1 and p["machine_s"] > 0
        assert p["engines"] and all("refine off" in e for e in p["engines"])  # auto on a CPU
    kf = r["kf10"]
    assert first < kf["clicks"] <= first + 2 * 2  # frames 10 and 20, 2 clicks at most each
    assert [x for x, _ in kf["curve"]] == [100 * first / n, 100 * kf["clicks"] / n]
    every = r["every"]
    assert every["sampled"] == 3 and every["stride"] == 10  # frames 0, 10, 20
    assert len(every["curve"]) == 2 and every["per100"] <= 200
    assert "| dog-agility | 25 |" in out and "check view / oracle" in out
    assert (plot.with_suffix(".csv")).read_text().startswith("protocol,")


def test_missing_data_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    bench = _bench(monkeypatch)
    assert bench.main(["--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nowhere") in err and "--data" in err and err.count("\n") == 1
    (tmp_path / "davis" / "boat").mkdir(parents=True)
    assert bench.main(["--data", str(tmp_path / "davis"), "--sequences", "boat"]) == 2
    assert "no sequence boat" in capsys.readouterr().err
