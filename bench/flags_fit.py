"""How ``flags_bench.py`` fits and chooses the failure model, and measures it held out.

Everything here is chosen from data: the features (greedy forward selection by
leave-one-sequence-out log-loss, coefficients never negative), the ridge penalty and the label
the logistic model is fitted to (``J < label``: a label above 0.5 teaches it the start of a
drift) — a :class:`Recipe` — and the clip threshold and extension (the largest pooled recall
whose pooled precision reaches a target, on leave-one-sequence-out P(fail)). :func:`nested`
measures the whole procedure held out: for each sequence left out (the outer loop), every one
of those choices is made by leave-one-out among the others only (the inner loop), the model is
fitted on the others with them, and only the left-out sequence's frames are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from annotator.pipeline import failure as F

EXTEND = (1.0, 0.75, 0.5, 0.35)  # the clip extensions (× the threshold) a fit chooses among
THRESHOLDS = tuple(round(t, 3) for t in np.arange(0.05, 0.951, 0.025))
GAP = 2  # as annotator.pipeline.clips.CLIP_GAP
#: features greedy selection may take: every signal, its running average and maximum, except
#: the lost flag's and the distance's averages (the same information as the signal)
POOL = tuple(n for n in F.FEATURES if not n.startswith(("distance_", "lost_")))


@dataclass(frozen=True)
class Recipe:
    """What a fit may vary (the inner loop chooses among these)."""

    l2: float = 10.0  # ridge penalty on the standardised weights
    label: float = 0.5  # fitted to J < label
    max_features: int = 6
    pool: tuple[str, ...] = field(default=POOL, repr=False)  # what selection may take


def flagged(p: np.ndarray, threshold: float, extend: float, gap: int = GAP) -> np.ndarray:
    """The frames inside clips (as :func:`annotator.pipeline.clips.clips_from_probability`
    groups them, without breaks): runs of P ≥ extend × threshold, gaps of up to ``gap`` frames
    bridged, kept where they reach ``threshold``. A copy for speed in the inner loop's
    threshold sweep (tests/pipeline/test_failure_signals.py holds it equal to the real one);
    the bench counts its figures with the real one."""
    out = np.zeros(len(p), bool)
    idx = np.flatnonzero(p >= threshold * extend)
    if idx.size == 0:
        return out
    cuts = np.flatnonzero(np.diff(idx) > gap + 1) + 1
    for run in np.split(idx, cuts):
        if p[run].max() >= threshold:
            out[run[0]:run[-1] + 1] = True
    return out


def pooled(ps: Sequence[np.ndarray], failed: Sequence[np.ndarray], threshold: float,
           extend: float) -> np.ndarray:
    """(failed, failed inside clips, flagged) over frames 1… of every run."""
    tot = np.zeros(3, int)
    for p, fa in zip(ps, failed):
        fl = flagged(p, threshold, extend)[1:]
        fa = fa[1:]
        tot += (int(fa.sum()), int((fl & fa).sum()), int(fl.sum()))
    return tot


def choose_threshold(ps: Sequence[np.ndarray], failed: Sequence[np.ndarray],
                     target: float) -> tuple[float, float, float, float]:
    """(threshold, extension, recall, precision): the largest pooled recall whose pooled
    precision is at least ``target`` (ties: the higher precision); none reaching it: the
    highest precision."""
    best, fallback = None, None
    for extend in EXTEND:
        for thr in THRESHOLDS:
            tot = pooled(ps, failed, thr, extend)
            rec = tot[1] / tot[0] if tot[0] else 0.0
            prec = tot[1] / tot[2] if tot[2] else 0.0
            key = (rec, prec)
            if prec >= target and (best is None or key > best[0]):
                best = (key, thr, extend)
            if fallback is None or (prec, rec) > fallback[0]:
                fallback = ((prec, rec), thr, extend)
    if best is not None:
        (rec, prec), thr, extend = best
    else:
        (prec, rec), thr, extend = fallback
    return thr, extend, rec, prec


def _logistic(X: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Ridge logistic regression (Newton's method) on standardised columns; the weights and
    bias on the original scale."""
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = np.hstack([(X - mu) / sd, np.ones((len(X), 1))])
    w = np.zeros(Z.shape[1])
    reg = np.full(Z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(Z @ w, -30, 30)))
        g = Z.T @ (p - y) + reg * w
        H = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(reg + 1e-9)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    coef = w[:-1] / sd
    return coef, float(w[-1] - (w[:-1] * mu / sd).sum())


class Data:
    """The training frames of some sequences as matrices (frame 0, the anchor, left out)."""

    def __init__(self, seqs: dict[str, dict]) -> None:
        self.names = list(seqs)
        self.X = {n: F.signal_matrix(s["feats"], POOL)[1:] for n, s in seqs.items()}
        self.j = {n: s["j"][1:] for n, s in seqs.items()}
        self.failed = {n: s["failed"] for n, s in seqs.items()}
        self.col = {f: i for i, f in enumerate(POOL)}

    def fit(self, names: Sequence[str], features: Sequence[str], recipe: Recipe,
            threshold: float = 0.5, extend: float = 1.0) -> F.FailureModel:
        """The logistic model on ``names``' frames; a feature fitted negative is dropped and
        the rest refitted (every signal may only raise P(fail))."""
        keep = list(features)
        X = np.concatenate([self.X[n] for n in names])
        y = np.concatenate([self.j[n] < recipe.label for n in names]).astype(float)
        while True:
            coef, bias = _logistic(X[:, [self.col[f] for f in keep]], y, recipe.l2)
            if coef.min() >= 0 or len(keep) == 1:
                break
            keep = [f for f, c in zip(keep, coef) if c > 0] or keep[:1]
        return F.FailureModel(tuple(keep), tuple(round(float(c), 4) for c in coef),
                              round(bias, 4), threshold, extend)

    def p(self, name: str, model: F.FailureModel) -> np.ndarray:
        """P(fail) of every frame of ``name`` (frame 0: 0)."""
        X = self.X[name][:, [self.col[f] for f in model.signals]]
        z = model.bias + X @ np.asarray(model.coef, float)
        return np.concatenate([[0.0], 1 / (1 + np.exp(-np.clip(z, -30, 30)))])

    def loo(self, names: Sequence[str], features: Sequence[str], recipe: Recipe
            ) -> dict[str, np.ndarray]:
        """Leave-one-out P(fail) of each of ``names`` (fitted on the rest of ``names``)."""
        return {n: self.p(n, self.fit([m for m in names if m != n], features, recipe))
                for n in names}

    def log_loss(self, ps: dict[str, np.ndarray]) -> float:
        q = np.clip(np.concatenate([p[1:] for p in ps.values()]), 1e-4, 1 - 1e-4)
        y = np.concatenate([self.failed[n][1:] for n in ps])
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    def select(self, names: Sequence[str], recipe: Recipe, log=None) -> list[str]:  # noqa: ANN001
        """Greedy forward selection on ``names`` by leave-one-out log-loss (stops when the best
        addition improves it by less than 0.002, or at ``recipe.max_features``)."""
        chosen: list[str] = []
        best = float("inf")
        while len(chosen) < recipe.max_features:
            loss, name = min((self.log_loss(self.loo(names, chosen + [c], recipe)), c)
                             for c in recipe.pool if c not in chosen)
            if loss > best - 0.002:
                break
            best = loss
            chosen.append(name)
            if log:
                log(f"    {loss:.4f} {chosen}")
        return chosen

    def choose(self, names: Sequence[str], recipes: Sequence[Recipe], target: float,
               log=None) -> tuple[F.FailureModel, dict]:  # noqa: ANN001
        """Every choice made on ``names`` alone: for each recipe the features (selection) and
        the threshold and extension (on its leave-one-out P(fail), :func:`choose_threshold`);
        the recipe whose leave-one-out P(fail) has the lowest log-loss against J < 0.5 (ranking
        them by their recall at the target instead chose worse: a step function of a few
        sequences' frames); the model fitted on all of ``names`` with it."""
        best = None
        for recipe in recipes:
            feats = self.select(names, recipe)
            ps = self.loo(names, feats, recipe)
            thr, ext, rec, prec = choose_threshold(
                list(ps.values()), [self.failed[n] for n in ps], target)
            score = -self.log_loss(ps)
            if log:
                log(f"    {recipe}: {feats} threshold {thr} extend {ext}: inner recall "
                    f"{rec:.3f} precision {prec:.3f}")
            if best is None or score > best[0]:
                best = (score, recipe, feats, thr, ext, rec, prec)
        _, recipe, feats, thr, ext, rec, prec = best
        model = self.fit(names, feats, recipe, thr, ext)
        return model, {"recipe": recipe, "inner_recall": rec, "inner_precision": prec}


def nested(data: Data, recipes: Sequence[Recipe], target: float, log=None  # noqa: ANN001
           ) -> dict[str, tuple[np.ndarray, F.FailureModel, dict]]:
    """Nested leave-one-sequence-out: for each sequence, :meth:`Data.choose` on the others,
    then its P(fail) under the model chosen without it (``log(name, model, info)`` after
    each)."""
    out = {}
    for name in data.names:
        rest = [n for n in data.names if n != name]
        model, info = data.choose(rest, recipes, target)
        out[name] = (data.p(name, model), model, info)
        if log:
            log(name, model, info)
    return out
