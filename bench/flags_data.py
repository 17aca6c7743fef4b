"""What ``flags_bench.py`` measures on: each DAVIS-2016 sequence propagated once by the real
pipeline, and its per-frame failure signals, both cached under ``/tmp`` (never in the repo).

Propagation (:func:`annotator.pipeline.queue.propagate_project`: a project on the frame folder,
one object, one segment over all frames, the first frame's ground truth as the anchor, the
weight-free fallback propagator, no refinement: the masks, confidences and the P(fail) the
commit thread stored) and the signals (:func:`annotator.pipeline.failure.track_signals`, every
feature of :data:`~annotator.pipeline.failure.FEATURES`) are cached in a folder named by a hash
of the source they come from (:data:`SOURCES`): a change there recomputes them (about a minute
for the twenty sequences), ``--fresh`` too. A warm cache loads them in seconds.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from annotator.core import quality as Q
from annotator.core.project import Project
from annotator.engines.registry import make_propagator
from annotator.pipeline import failure as F
from annotator.pipeline.anchor_match import AnchorKeypoints
from annotator.pipeline.queue import choose_engine, propagate_project

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "davis2016"
CACHE = Path("/tmp/flags_bench_cache")
FAIL_J = 0.5
ENGINE_FRAMES = 20  # frames per sequence the engine is timed on

#: the sources whose change makes the cache stale: the engine, the signals, the stored P(fail)
SOURCES = ("annotator/engines/fallback_propagator.py", "annotator/engines/flow.py",
           "annotator/engines/appearance.py", "annotator/engines/guided_filter.py",
           "annotator/engines/propagator.py", "annotator/pipeline/failure.py",
           "annotator/pipeline/anchor_match.py", "annotator/pipeline/flags.py",
           "annotator/pipeline/writer.py")


def _digest(files: tuple[str, ...]) -> str:
    h = hashlib.sha1()
    for f in files:
        h.update((ROOT / f).read_bytes())
    return h.hexdigest()[:12]


def load(seq: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images = [np.array(Image.open(p).convert("RGB"))
              for p in sorted((seq / "JPEGImages").glob("*.jpg"))]
    truths = [np.array(Image.open(p)) > 0 for p in sorted((seq / "Annotations").glob("*.png"))]
    return images, truths


def _propagate(seq: Path, truths: list[np.ndarray]) -> dict:
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
    return {"masks": masks,
            "confidence": np.array([q.get("confidence", 1.0) for q in quality]),
            "stored_p": np.array([q.get("p_fail", np.nan) for q in quality])}


def _masks(seq: Path, truths: list[np.ndarray], cache: Path, fresh: bool) -> dict:
    """The real pipeline's masks and confidences for one sequence (cached)."""
    file = cache / _digest(SOURCES) / f"{seq.name}-masks.npz"
    if file.exists() and not fresh:
        z = np.load(file)
        shape = tuple(z["shape"])
        masks = np.unpackbits(z["masks"], count=int(np.prod(shape))).reshape(shape).astype(bool)
        return {"masks": masks, "confidence": z["confidence"], "stored_p": z["stored_p"]}
    out = _propagate(seq, truths)
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(file, masks=np.packbits(out["masks"]), shape=np.array(out["masks"].shape),
                        confidence=out["confidence"], stored_p=out["stored_p"])
    return out


def _engine_cost(images: list[np.ndarray], truths: list[np.ndarray]) -> tuple[float, int]:
    """CPU seconds of the fallback engine's steps on the first frames, and how many."""
    engine = make_propagator("fallback")
    engine.step(images[0], given={1: truths[0]})
    n = min(ENGINE_FRAMES, len(images) - 1)
    t0 = time.process_time()
    for image in images[1:n + 1]:
        engine.step(image)
    return time.process_time() - t0, n


def _timed_signals(images: list[np.ndarray], masks: np.ndarray) -> tuple[dict, float, float]:
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


def sequence(seq: Path, cache: Path = CACHE, fresh: bool = False) -> dict:
    """One sequence's masks, J, failed frames, features and costs (cached).

    Keys: ``masks`` (n×h×w), ``confidence``, ``stored_p`` (the P(fail) the commit thread
    stored), ``j``, ``failed`` (J < 0.5), ``feats`` (name → n values; frame 0, the anchor,
    zeros), ``sig_cpu``, ``redetect_cpu``, ``eng_cpu`` (CPU seconds), ``eng_frames``."""
    file = cache / _digest(SOURCES) / f"{seq.name}-signals.npz"
    truths = None
    if not file.exists() or fresh:
        images, truths = load(seq)
        run = _masks(seq, truths, cache, fresh)
        j = np.array([Q.region_similarity(m, t) for m, t in zip(run["masks"], truths)])
        feats, sig_cpu, red_cpu = _timed_signals(images, run["masks"])
        eng_cpu, eng_frames = _engine_cost(images, truths)
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(file, j=j, confidence=run["confidence"], stored_p=run["stored_p"],
                            costs=np.array([sig_cpu, red_cpu, eng_cpu, eng_frames]),
                            **{f"f_{k}": v for k, v in feats.items()})
    z = np.load(file)
    if truths is None:
        truths = [np.array(Image.open(p)) > 0
                  for p in sorted((seq / "Annotations").glob("*.png"))]
    run = _masks(seq, truths, cache, False)
    sig_cpu, red_cpu, eng_cpu, eng_frames = z["costs"]
    feats = {k[2:]: z[k] for k in z.files if k.startswith("f_")}
    return dict(run, j=z["j"], failed=z["j"] < FAIL_J, feats=feats, sig_cpu=float(sig_cpu),
                redetect_cpu=float(red_cpu), eng_cpu=float(eng_cpu), eng_frames=int(eng_frames))


def sequences(names: list[str] | None, data: Path = DATA, cache: Path = CACHE,
              fresh: bool = False, verbose: bool = True) -> dict[str, dict]:
    """:func:`sequence` of each name (default: every folder of ``data``), in name order."""
    names = names or sorted(p.name for p in data.iterdir() if p.is_dir())
    out = {}
    for name in names:
        out[name] = s = sequence(data / name, cache, fresh)
        if verbose:
            print(f"  {name}: {len(s['j'])} frames, mean J {s['j'][1:].mean():.3f}, "
                  f"failed {int(s['failed'][1:].sum())}", flush=True)
    return out
