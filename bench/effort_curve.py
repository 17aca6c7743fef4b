"""J against clicks: the curves of ``bench/effort_bench.py``, their area, pooling and plot.

A curve is a list of points ``(clicks per 100 frames, mean J over all frames)``, one after
each step of a protocol (a propagation, a fix and its re-propagation, a setting of a
baseline), in the order the clicks were spent. Between points it is read linearly, starting
from ``(0, 0)`` (no click, no mask), and after its last point it stays where it ended (the
protocol stopped: nothing more was to be done). So read, one click per frame in order gives
exactly the every-frame baseline's straight line from the origin.

The **area** over a fixed click axis ``[0, x_max]`` is ``∫ J(x) dx / x_max``, in ``[0, 1]``:
the mean J an annotator has over every budget up to ``x_max`` clicks per 100 frames — the
DAVIS interactive benchmark's area under J&F against interactions, with clicks per 100 frames
as the axis so that sequences of different lengths share it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

Point = tuple[float, float]  # clicks per 100 frames, mean J


def _xy(points: Sequence[Point]) -> tuple[np.ndarray, np.ndarray]:
    """The curve's breakpoints from the origin, x strictly increasing (at equal clicks the
    later point wins: it is what those clicks ended with)."""
    xs, ys = [0.0], [0.0]
    for x, y in points:
        if x < xs[-1]:
            raise ValueError(f"a curve's clicks only grow: {x} after {xs[-1]}")
        if x == xs[-1]:
            ys[-1] = float(y)
        else:
            xs.append(float(x))
            ys.append(float(y))
    return np.array(xs), np.array(ys)


def value(points: Sequence[Point], x: float | np.ndarray) -> np.ndarray:
    """The curve's J at ``x`` clicks per 100 frames."""
    xs, ys = _xy(points)
    return np.interp(x, xs, ys)  # flat after the last point


def area(points: Sequence[Point], x_max: float) -> float:
    """``∫₀^x_max J(x) dx / x_max`` (exact: the curve is piecewise linear)."""
    xs, ys = _xy(points)
    grid = np.union1d(xs[xs < x_max], [x_max])
    return float(np.trapezoid(np.interp(grid, xs, ys), grid) / x_max)


def clicks_for(points: Sequence[Point], j: float) -> float | None:
    """The fewest clicks per 100 frames at which the curve reaches ``j`` (None: never)."""
    xs, ys = _xy(points)
    for k in range(1, len(xs)):
        if ys[k] >= j:
            if ys[k - 1] >= j:
                return float(xs[k - 1])
            return float(xs[k - 1] + (j - ys[k - 1]) / (ys[k] - ys[k - 1]) * (xs[k] - xs[k - 1]))
    return None


def write_csv(path: Path, curves: dict[str, Sequence[Point]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["protocol", "clicks_per_100_frames", "mean_J"])
        for name, points in curves.items():
            out.writerows((name, f"{x:.3f}", f"{y:.4f}") for x, y in points)
    return path


def plot(path: Path, curves: dict[str, Sequence[Point]], title: str, good: float) -> bool:
    """J against clicks (log axis) as a PNG; False where matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for name, points in curves.items():
        xs, ys = zip(*[(x, y) for x, y in points if x > 0]) if points else ((), ())
        ax.plot(xs, ys, marker="o" if len(xs) < 8 else None, ms=4, label=name)
    ax.axhline(good, color="grey", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("clicks per 100 frames")
    ax.set_ylabel("mean J over all frames")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True
