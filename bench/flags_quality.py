"""What ``flags_bench.py`` measures on flagged clips: counting flagged and failed frames, and
whether the held-out P(fail) is a probability (the calibration)."""

from __future__ import annotations

import numpy as np


def flagged_by_clips(clips, n: int) -> np.ndarray:
    flagged = np.zeros(n, bool)
    for c in clips:
        flagged[c.start:c.end + 1] = True
    return flagged


def counts(flagged: np.ndarray, failed: np.ndarray) -> tuple[int, int, int]:
    """(failed frames, failed inside flagged clips, flagged frames) over frames 1…n-1."""
    fl, fa = flagged[1:], failed[1:]
    return int(fa.sum()), int((fl & fa).sum()), int(fl.sum())


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def calibration(seqs: dict, loo_p: dict[str, np.ndarray]) -> None:
    """Is P(fail) a probability? Held-out P(fail) in bins against the share that failed."""
    p = np.concatenate([loo_p[n][1:] for n in seqs])
    y = np.concatenate([s["failed"][1:] for s in seqs.values()])
    cells = []
    for lo, hi in zip((0, .05, .1, .2, .4, .6, .8), (.05, .1, .2, .4, .6, .8, 1.01)):
        b = (p >= lo) & (p < hi)
        if b.any():
            cells.append(f"{lo:.2f}-{min(hi, 1):.2f}: {p[b].mean():.2f} vs {y[b].mean():.2f} "
                         f"({int(b.sum())})")
    print(f"calibration (held-out P(fail) bin: mean P vs share failed (frames)); expected "
          f"failed frames {p.sum():.0f}, failed {int(y.sum())}\n  " + "; ".join(cells))
