"""What ``flags_bench.py`` measures on flagged clips: counting flagged and failed frames, and
where the limit of the leave-one-out P(fail) lies (the ceiling, the calibration)."""

from __future__ import annotations

import numpy as np

from annotator.pipeline import failure as F
from annotator.pipeline.clips import clips_from_probability

EXTEND = (1.0, 0.75, 0.5)  # the clip extensions (× the threshold) a fit chooses among


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



def ceiling(seqs: dict, loo_p: dict[str, np.ndarray], goal: float = 0.6) -> None:
    """What the clips could reach with these leave-one-out P(fail) at best: the largest pooled
    recall at precision >= ``goal`` over every threshold and extension (chosen on the test
    sequences themselves: an upper bound, not a figure), and each sequence's median P(fail) on
    its failed frames (a sequence whose failures score low caps the recall whatever the clips)."""
    best = (0.0, float("nan"), 0.0, 1.0)
    for extend in EXTEND + (0.35, 0.25):
        for thr in np.arange(0.025, 0.95, 0.025):
            trial = F.FailureModel(("x",), (0.0,), 0.0, float(thr), extend)
            tot = np.zeros(3, int)
            for name, s in seqs.items():
                clips = clips_from_probability(loo_p[name], 1, trial)
                tot += counts(flagged_by_clips(clips, len(loo_p[name])), s["failed"])
            rec, prec = ratio(tot[1], tot[0]), ratio(tot[1], tot[2])
            if prec >= goal and rec > best[0]:
                best = (rec, prec, float(thr), extend)
    print(f"ceiling: the best any one threshold/extension gives these P(fail) (chosen on the "
          f"test sequences): recall {best[0]:.3f} at precision {best[1]:.3f} (threshold "
          f"{best[2]:.3f}, extension {best[3]})")
    med = {n: float(np.median(loo_p[n][s["failed"]])) for n, s in seqs.items() if s["failed"].any()}
    print("median leave-one-out P(fail) on the failed frames: " + ", ".join(
        f"{n} {v:.2f}" for n, v in sorted(med.items(), key=lambda kv: kv[1])))


def calibration(seqs: dict, loo_p: dict[str, np.ndarray]) -> None:
    """Is P(fail) a probability? Leave-one-out P(fail) in bins against the share that failed."""
    p = np.concatenate([loo_p[n][1:] for n in seqs])
    y = np.concatenate([s["failed"][1:] for s in seqs.values()])
    cells = []
    for lo, hi in zip((0, .05, .1, .2, .4, .6, .8), (.05, .1, .2, .4, .6, .8, 1.01)):
        b = (p >= lo) & (p < hi)
        if b.any():
            cells.append(f"{lo:.2f}-{min(hi, 1):.2f}: {p[b].mean():.2f} vs {y[b].mean():.2f} "
                         f"({int(b.sum())})")
    print(f"calibration (leave-one-out P(fail) bin: mean P vs share failed (frames)); expected "
          f"failed frames {p.sum():.0f}, failed {int(y.sum())}\n  " + "; ".join(cells))
