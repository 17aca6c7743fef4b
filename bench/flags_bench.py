"""Does the check view find the failures? Flagged clips against frames with J < 0.5 (issue 17).

For every sequence of ``../shared/data/davis2016`` the real pipeline runs once
(:func:`annotator.pipeline.queue.propagate_project`: a project on the frame folder, one object,
one segment over all frames, the first frame's ground truth as the anchor, the weight-free
fallback propagator, no refinement) and the stored masks and confidences are cached in
``--cache`` (default ``/tmp/flags_bench_cache``; delete it, or pass ``--fresh``, after the
propagator changes). A frame *failed* when its J < 0.5; a frame is *flagged* when it lies
inside a clip the check view lists. Printed:

* per sequence and pooled: failed frames, recall (failed frames inside flagged clips) and
  precision (flagged frames that failed), for today's flags (``baseline``: the rule flags of
  :func:`annotator.core.quality.frame_flags`) and for the failure score
  (:mod:`annotator.pipeline.failure`) with the defaults stored in code (fitted on all fourteen);
* the leave-one-sequence-out figures: the score's coefficients *and* its flag threshold are
  fitted on thirteen sequences and applied to the fourteenth, pooled over the fourteen;
* the *ceiling*: the best pooled recall at precision >= 0.6 any one threshold and extension
  could give the leave-one-out P(fail) (chosen on the test sequences: an upper bound), and each
  sequence's median P(fail) on its failed frames — where the limit lies;
* the calibration: leave-one-out P(fail) in bins against the share of those frames that failed;
* the fraction of failed frames inside the top-k clips (k = 1, 3, 10) of each sequence;
* the default feature set without each of its features, and each signal alone (leave-one-out,
  the same procedure): what each adds; ``--select`` reruns the greedy forward selection (by
  leave-one-out log-loss) that chose the default set;
* the signals' cost: their CPU time per object-frame (``redetect``'s part timed inside the
  same run) against the engine's step;
* that the P(fail) the pipeline's commit thread stored equals the one recomputed here (a
  fresh cache only).
* ``--fit``: the coefficients fitted on all fourteen, to paste into ``failure.py``.

    python bench/flags_bench.py [--sequences ...] [--fresh] [--fit] [--select]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.core import quality as Q  # noqa: E402
from annotator.core.project import Project  # noqa: E402
from annotator.engines.registry import make_propagator  # noqa: E402
from annotator.pipeline import failure as F  # noqa: E402
from annotator.pipeline.anchor_match import AnchorKeypoints  # noqa: E402
from annotator.pipeline.clips import clips_from_probability, clips_of  # noqa: E402
from annotator.pipeline.queue import choose_engine, propagate_project  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flags_quality import EXTEND, calibration, ceiling, counts, flagged_by_clips, ratio  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "davis2016"
CACHE = Path("/tmp/flags_bench_cache")
FAIL_J = 0.5
MIN_PRECISION = 0.65  # on the training sequences: a margin over the goal's 0.6
ENGINE_FRAMES = 20  # frames per sequence the engine is timed on
L2 = 10.0  # ridge penalty of the logistic regression (on standardised features)


def load(seq: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images = [np.array(Image.open(p).convert("RGB"))
              for p in sorted((seq / "JPEGImages").glob("*.jpg"))]
    truths = [np.array(Image.open(p)) > 0 for p in sorted((seq / "Annotations").glob("*.png"))]
    return images, truths


def propagate(seq: Path, truths: list[np.ndarray], cache: Path, fresh: bool) -> dict:
    """The real pipeline's masks and confidences for one sequence (cached)."""
    file = cache / f"{seq.name}.npz"
    if file.exists() and not fresh:
        z = np.load(file)
        shape = tuple(z["shape"])
        masks = np.unpackbits(z["masks"], count=int(np.prod(shape))).reshape(shape).astype(bool)
        return {"masks": masks, "confidence": z["confidence"], "stored_p": z["stored_p"]}
    n = len(truths)
    with tempfile.TemporaryDirectory() as d, \
            Project.create(Path(d) / seq.name, seq / "JPEGImages") as project:
        store = project.store
        oid = store.add_object(seq.name)
        store.add_segment(oid, 0, n - 1)
        store.put_mask(oid, 0, truths[0], source="manual")
        propagate_project(project, engine=choose_engine("fallback"), refine="off")
        recs = {r.frame: r for r in store.masks_of(oid)}
        # row-major, as the engine gives them to the commit thread (decoded RLE is column-major)
        masks = np.ascontiguousarray(np.stack([recs[f].decode() for f in range(n)]))
        quality = [recs[f].quality or {} for f in range(n)]
        conf = np.array([q.get("confidence", 1.0) for q in quality])
        stored_p = np.array([q.get("p_fail", np.nan) for q in quality])
    out = {"masks": masks, "confidence": conf, "stored_p": stored_p}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(file, masks=np.packbits(masks), shape=np.array(masks.shape),
                        confidence=conf, stored_p=stored_p)
    return out


def engine_cost(images: list[np.ndarray], truths: list[np.ndarray]) -> tuple[float, int]:
    """CPU seconds of the fallback engine's steps on the first frames, and how many."""
    engine = make_propagator("fallback")
    engine.step(images[0], given={1: truths[0]})
    n = min(ENGINE_FRAMES, len(images) - 1)
    t0 = time.process_time()
    for image in images[1:n + 1]:
        engine.step(image)
    return time.process_time() - t0, n


def timed_signals(images: list[np.ndarray], masks: np.ndarray) -> tuple[dict, float, float]:
    """A run's features (:func:`failure.track_signals`), its CPU seconds, and the part of them
    spent in the ``redetect`` signal's keypoint matching (on the frames it is measured)."""
    spent = [0.0]
    measure = AnchorKeypoints.disagreement

    def timed(self, image, mask):  # noqa: ANN001, ANN202
        t = time.process_time()
        try:
            return measure(self, image, mask)
        finally:
            spent[0] += time.process_time() - t

    AnchorKeypoints.disagreement = timed
    try:
        t0 = time.process_time()
        feats = F.track_signals(images, masks)
        return feats, time.process_time() - t0, spent[0]
    finally:
        AnchorKeypoints.disagreement = measure


def baseline_flags(masks: np.ndarray, conf: np.ndarray) -> list[tuple[str, ...]]:
    """Today's rule flags of every propagated frame (frame 0, the anchor, gets none)."""
    ref = float(masks[0].sum())
    out: list[tuple[str, ...]] = [()]
    for f in range(1, len(masks)):
        out.append(tuple(Q.frame_flags(masks[f], masks[f - 1], float(conf[f]), ref)))
    return out


def print_table(title: str, rows: dict[str, tuple[int, int, int]]) -> tuple[float, float]:
    print(f"\n{title}")
    print(f"{'sequence':18s} {'failed':>6} {'found':>6} {'flagged':>7} "
          f"{'recall':>7} {'precision':>9}")
    tot = np.zeros(3, int)
    for name, (failed, found, flagged) in rows.items():
        tot += (failed, found, flagged)
        print(f"{name:18s} {failed:6d} {found:6d} {flagged:7d} "
              f"{ratio(found, failed):7.2f} {ratio(found, flagged):9.2f}")
    rec, prec = ratio(tot[1], tot[0]), ratio(tot[1], tot[2])
    print(f"{'pooled':18s} {tot[0]:6d} {tot[1]:6d} {tot[2]:7d} {rec:7.3f} {prec:9.3f}")
    return rec, prec


def topk(clips, failed: np.ndarray, ks=(1, 3, 10)) -> dict[int, tuple[int, int]]:
    """Failed frames inside the k worst clips (the list's order), for each k."""
    out = {}
    for k in ks:
        covered = flagged_by_clips(clips[:k], len(failed))
        out[k] = (int((covered[1:] & failed[1:]).sum()), int(failed[1:].sum()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--sequences", nargs="+", default=None)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--fresh", action="store_true", help="propagate again (ignore the cache)")
    ap.add_argument("--fit", action="store_true", help="print coefficients fitted on all")
    ap.add_argument("--select", action="store_true",
                    help="choose the features again: greedy forward selection by the "
                         "leave-one-out log-loss (slow: a few minutes)")
    args = ap.parse_args(argv)
    names = args.sequences or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    print(f"propagator: weight-free fallback, first frame's ground truth as the anchor, "
          f"no refinement; failed = J < {FAIL_J}; {len(names)} sequences")
    seqs = {}
    for name in names:
        images, truths = load(args.data / name)
        run = propagate(args.data / name, truths, args.cache, args.fresh)
        j = np.array([Q.region_similarity(m, t) for m, t in zip(run["masks"], truths)])
        feats, sig_cpu, redetect_cpu = timed_signals(images, run["masks"])
        eng_cpu, eng_frames = engine_cost(images, truths)
        seqs[name] = dict(run, failed=j < FAIL_J, j=j, feats=feats, sig_cpu=sig_cpu,
                          redetect_cpu=redetect_cpu, eng_cpu=eng_cpu, eng_frames=eng_frames)
        print(f"  {name}: {len(truths)} frames, mean J {j[1:].mean():.3f}, "
              f"failed {int((j[1:] < FAIL_J).sum())}", flush=True)
    report(seqs, args)
    return 0


def report(seqs: dict, args) -> None:  # noqa: ANN001
    rows = {}
    for name, s in seqs.items():
        flags = baseline_flags(s["masks"], s["confidence"])
        clips = clips_of(list(enumerate(flags))[1:], 1)
        rows[name] = counts(flagged_by_clips(clips, len(flags)), s["failed"])
    print_table("baseline: today's rule flags (lost, jumps, low confidence), clips of them", rows)

    stored = [(s["stored_p"][1:], F.failure_probability(s["feats"])[1:]) for s in seqs.values()
              if np.isfinite(s["stored_p"][1:]).all()]
    if stored:
        diff = max(float(np.abs(a - b).max()) for a, b in stored)
        print(f"\nP(fail) the pipeline's commit thread stored vs recomputed here: largest "
              f"difference {diff:.4f} ({len(stored)} sequences)")
    rows = {}
    for name, s in seqs.items():
        p = F.failure_probability(s["feats"])
        clips = clips_from_probability(p, 1)
        rows[name] = counts(flagged_by_clips(clips, len(p)), s["failed"])
    print_table("failure score, defaults stored in failure.py (fitted on all fourteen)", rows)

    loo_rows, loo_clips, loo_p = {}, {}, {}
    for name, s in seqs.items():
        train = {k: v for k, v in seqs.items() if k != name}
        model = fit([v["feats"] for v in train.values()], [v["failed"] for v in train.values()],
                    None, L2)
        p = loo_p[name] = F.failure_probability(s["feats"], model)
        clips = clips_from_probability(p, 1, model)
        loo_clips[name] = clips
        loo_rows[name] = counts(flagged_by_clips(clips, len(p)), s["failed"])
    rec, prec = print_table("leave-one-sequence-out (fitted on the other thirteen)", loo_rows)
    print(f"GOAL recall >= 0.9 at precision >= 0.6: recall {rec:.3f}, precision {prec:.3f} "
          f"-> {'met' if rec >= 0.9 and prec >= 0.6 else 'NOT met'}")
    ceiling(seqs, loo_p)
    calibration(seqs, loo_p)

    tot: dict[int, np.ndarray] = {}
    for name, s in seqs.items():
        for k, v in topk(loo_clips[name], s["failed"]).items():
            tot[k] = tot.get(k, np.zeros(2, int)) + v
    print("failed frames inside the k worst clips of their sequence (leave-one-out): " + ", ".join(
        f"k={k}: {ratio(*v):.2f}" for k, v in tot.items()))

    print("\neach signal alone, and the default set without it (leave-one-out, pooled "
          "recall / precision / log-loss; P(fail) = 0.21 everywhere scores 0.51)")
    chosen = list(F.DEFAULT_MODEL.signals)
    r, p, ll = loo_summary(seqs, chosen, L2)
    print(f"  {'default set':8s} {', '.join(chosen):40s} recall {r:.2f} precision {p:.2f} "
          f"log-loss {ll:.3f}")
    for name in chosen:
        r, p, ll = loo_summary(seqs, [n for n in chosen if n != name], L2)
        print(f"  {'without':8s} {name:40s} recall {r:.2f} precision {p:.2f} log-loss {ll:.3f}")
    for name in F.SIGNALS:
        r, p, ll = loo_summary(seqs, [name], L2)
        print(f"  {'alone':8s} {name:40s} recall {r:.2f} precision {p:.2f} log-loss {ll:.3f}")
    if args.select:
        select(seqs)

    frames = sum(len(s["masks"]) - 1 for s in seqs.values())
    sig = sum(s["sig_cpu"] for s in seqs.values()) / frames
    eng_frames = sum(s["eng_frames"] for s in seqs.values())
    eng = sum(s["eng_cpu"] for s in seqs.values()) / eng_frames
    red = sum(s["redetect_cpu"] for s in seqs.values()) / frames
    print(f"\ncost (CPU time of this process, all threads): the fallback engine's step "
          f"{1000 * eng:.1f} ms/frame (first {ENGINE_FRAMES} frames of each sequence), the "
          f"signals {1000 * sig:.1f} ms/object-frame = {sig / eng:.1%} of the engine's time, "
          f"of which redetect {1000 * red:.1f} ms = {red / eng:.1%}")
    if args.fit:
        model = fit([s["feats"] for s in seqs.values()], [s["failed"] for s in seqs.values()],
                    None, L2)
        print("\nfitted on all:", json.dumps({"coef": model.coef, "bias": model.bias,
                                             "threshold": model.threshold,
                                             "extend": model.extend,
                                             "signals": list(model.signals)}))


def loo_summary(seqs: dict, keep: list[str], l2: float = 10.0
                ) -> tuple[float, float, float]:
    tot = np.zeros(3, int)
    losses = []
    for name, s in seqs.items():
        train = [v for k, v in seqs.items() if k != name]
        model = fit([v["feats"] for v in train], [v["failed"] for v in train], keep, l2)
        p = F.failure_probability(s["feats"], model)
        clips = clips_from_probability(p, 1, model)
        tot += counts(flagged_by_clips(clips, len(p)), s["failed"])
        y = s["failed"][1:]
        q = np.clip(p[1:], 1e-4, 1 - 1e-4)
        losses.extend(-(y * np.log(q) + (1 - y) * np.log(1 - q)))
    return ratio(tot[1], tot[0]), ratio(tot[1], tot[2]), float(np.mean(losses))


def fit(feats: list[dict], failed: list[np.ndarray], keep: list[str] | None = None,
        l2: float = 10.0) -> F.FailureModel:
    """Logistic regression (Newton's method, L2 on the weights) on standardised signals,
    then the clip threshold: the largest recall whose precision on the training sequences is
    at least 0.65 (a margin over the goal's 0.6)."""
    keep = list(keep or F.DEFAULT_MODEL.signals)
    # every signal may only raise the score: those fitted negative are dropped, then refit
    model = _fit_nonnegative(feats, failed, keep, l2)
    best = (0.0, 0.5, 1.0)
    probs = [F.failure_probability(f, model) for f in feats]
    for extend in EXTEND:
        for thr in np.arange(0.05, 0.95, 0.025):
            trial = F.FailureModel(model.signals, model.coef, model.bias, float(thr), extend)
            tot = np.zeros(3, int)
            for p, fa in zip(probs, failed):
                clips = clips_from_probability(p, 1, trial)
                tot += counts(flagged_by_clips(clips, len(p)), fa)
            rec, prec = ratio(tot[1], tot[0]), ratio(tot[1], tot[2])
            if prec >= MIN_PRECISION and rec > best[0]:
                best = (rec, float(thr), extend)
    return F.FailureModel(model.signals, model.coef, model.bias, round(best[1], 3), best[2])


def _fit(feats: list[dict], failed: list[np.ndarray], keep: list[str], l2: float
         ) -> F.FailureModel:
    X = np.concatenate([F.signal_matrix(f, keep)[1:] for f in feats])
    y = np.concatenate([f[1:] for f in failed]).astype(float)
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
        if np.abs(step).max() < 1e-8:
            break
    coef = w[:-1] / sd
    bias = float(w[-1] - (w[:-1] * mu / sd).sum())
    return F.FailureModel(tuple(keep), tuple(float(c) for c in coef), bias, 0.5)



def loo_log_loss(seqs: dict, keep: list[str]) -> float:
    losses = []
    for name, s in seqs.items():
        train = [v for k, v in seqs.items() if k != name]
        model = _fit_nonnegative([v["feats"] for v in train], [v["failed"] for v in train], keep)
        q = np.clip(F.failure_probability(s["feats"], model)[1:], 1e-4, 1 - 1e-4)
        y = s["failed"][1:]
        losses.extend(-(y * np.log(q) + (1 - y) * np.log(1 - q)))
    return float(np.mean(losses))


def _fit_nonnegative(feats, failed, keep, l2: float = L2) -> F.FailureModel:  # noqa: ANN001
    keep = list(keep)
    while True:
        model = _fit(feats, failed, keep, l2)
        if min(model.coef) >= 0 or len(keep) == 1:
            return model
        keep = [n for n, c in zip(keep, model.coef) if c > 0] or keep[:1]


def select(seqs: dict) -> list[str]:
    """Greedy forward selection of features by leave-one-sequence-out log-loss (stops when
    a feature improves it by less than 0.002)."""
    print("\nfeature selection (greedy, leave-one-out log-loss):")
    chosen: list[str] = []
    best = float("inf")
    while True:
        trials = [(loo_log_loss(seqs, chosen + [c]), c) for c in F.FEATURES
                  if c not in chosen and not c.startswith(("distance_", "lost_"))]
        loss, name = min(trials)
        if loss > best - 0.002:
            return chosen
        best = loss
        chosen.append(name)
        print(f"  {loss:.4f} {chosen}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
