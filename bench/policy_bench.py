"""Which refinement policy gives the most finished masks per minute (``--refine`` default).

Every policy is run through the real pipeline (:func:`annotator.pipeline.queue.propagate_project`:
planning, the policy's trigger, :class:`~annotator.engines.refiner.PrototypeRefiner` with its
point choice and accept/keep/flag decision, the commit thread) on DAVIS-2016 sequences with the
first frame's ground truth as the anchor, and the stored masks are scored against the ground
truth. No SAM or XMem weights exist on the development machine, so two things stand in, and
the bench says so in its output:

* **the propagator** is the weight-free fallback (its errors are more frequent than XMem's);
* **the segmenter** the refiner prompts is either ``oracle`` — a stand-in that answers every
  prompt with the frame's ground truth (the most any SAM could give: an upper bound of the
  refinement's benefit) — or ``grabcut``, the real weight-free point-prompt segmenter.

Time is not measured from the stand-ins: a policy's machine time is priced with the engines'
measured costs (``COSTS``, from ``bench/xmem_bench.py`` and ``bench/sam_bench.py``): one XMem
step per frame plus one SAM image embedding and one prompt per refined object-frame.

**Finished masks per minute** = frames / (machine time + ``fix`` seconds × frames whose mask is
not good (J < ``--good``)): every frame must end up right, by the machine or by the annotator in
the check view. ``fix`` = 0 is machine time alone; the bench prints several values, and the
default policy must win where an annotator's time counts.

    python bench/policy_bench.py [--sequences ...] [--policies off uncertain k=10 k=5 every]
                                 [--segmenters oracle grabcut] [--good 0.8] [--fix 0 5 15 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.core.project import Project  # noqa: E402
from annotator.core.quality import region_similarity  # noqa: E402
from annotator.engines.refiner import PrototypeRefiner  # noqa: E402
from annotator.engines.segmenter import SegmentResult  # noqa: E402
from annotator.pipeline.queue import choose_engine, propagate_project  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "davis2016"
SEQUENCES = ["bmx-bumps", "boat", "dog-agility", "hockey", "stroller", "tennis"]

#: seconds per frame of XMem and per refined object-frame of SAM (embedding + one prompt),
#: as measured: CPU = the 2-core development machine (xmem_bench 854×480 2 objects, sam_bench
#: vit_b), GPU = an H100 (fp16; README "Measured").
COSTS = {
    "CPU": {"xmem": 1.26, "sam": 16.0 + 0.12},
    "GPU": {"xmem": 0.012, "sam": 0.87 + 0.008},
}


class OracleSegmenter:
    """Stand-in for SAM (NOT a model): answers every prompt on a frame with that frame's
    ground truth — the upper bound of what refinement can add. Frames are recognised by their
    pixels (nearest thumbnail), so the pipeline drives it exactly as it drives SAM."""

    is_fallback = False
    name = "oracle (ground truth, stand-in for SAM)"

    def __init__(self, images: list[np.ndarray], truths: list[np.ndarray]) -> None:
        self.thumbs = np.stack([im[::8, ::8].astype(np.int16) for im in images])
        self.truths = truths
        self.current = 0

    def embed(self, frame: np.ndarray, key: str | None = None) -> str:
        diff = np.abs(self.thumbs - frame[::8, ::8].astype(np.int16)).mean(axis=(1, 2, 3))
        self.current = int(np.argmin(diff))
        return "computed"

    def precompute(self, frame: np.ndarray, key: str | None = None) -> bool:
        return False

    def predict(self, points, labels, box=None, mask_logits=None, multimask=True) -> SegmentResult:
        gt = self.truths[self.current]
        k = 3 if multimask else 1
        return SegmentResult(masks=np.repeat(gt[None], k, 0), scores=np.ones(k, np.float32),
                             low_res_logits=np.zeros((k, 256, 256), np.float32), engine=self.name)


def load(seq: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images = [np.array(Image.open(p).convert("RGB")) for p in sorted((seq / "JPEGImages").glob("*.jpg"))]
    truths = [np.array(Image.open(p)) > 0 for p in sorted((seq / "Annotations").glob("*.png"))]
    return images, truths


def run(seq: Path, images, truths, policy: str, segmenter: str, tmp: Path) -> dict:
    engine = choose_engine("fallback")
    if segmenter == "oracle":
        seg = OracleSegmenter(images, truths)
    else:
        from annotator.engines.fallback_segmenter import FallbackSegmenter

        seg = FallbackSegmenter()
    refiner = PrototypeRefiner(seg, engine)
    n = len(truths)
    with Project.create(Path(tempfile.mkdtemp(prefix=f"{seq.name}-", dir=tmp)),
                        seq / "JPEGImages") as project:
        store = project.store
        oid = store.add_object(seq.name)
        store.add_segment(oid, 0, n - 1)
        store.put_mask(oid, 0, truths[0], source="manual")
        (res,) = propagate_project(project, engine=engine, refine=policy, refiner=refiner)
        js, accepted = [], 0
        for f in range(1, n):
            rec = store.mask(oid, f)
            js.append(region_similarity(rec.decode(), truths[f]))
            accepted += rec.source == "refined"
    return {"frames": n - 1, "refined": res.refined, "accepted": accepted, "J": js}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--sequences", nargs="+", default=SEQUENCES)
    ap.add_argument("--policies", nargs="+", default=["off", "uncertain", "k=10", "k=5", "every"])
    ap.add_argument("--segmenters", nargs="+", default=["oracle", "grabcut"])
    ap.add_argument("--good", type=float, default=0.8, help="J from which a mask needs no fix")
    ap.add_argument("--fix", type=float, nargs="+", default=[0, 5, 15, 30],
                    help="annotator seconds to fix one frame that is not good")
    args = ap.parse_args(argv)
    data = {s: load(args.data / s) for s in args.sequences}
    print(f"propagator: fallback (stand-in for XMem); {len(data)} sequences, "
          f"{sum(len(t) - 1 for _, t in data.values())} propagated frames; good = J ≥ {args.good}")
    with tempfile.TemporaryDirectory() as d:
        for segmenter in args.segmenters:
            rows = {}
            for policy in args.policies:
                agg = defaultdict(list)
                for s, (images, truths) in data.items():
                    r = run(args.data / s, images, truths, policy, segmenter, Path(d))
                    for k in ("frames", "refined", "accepted"):
                        agg[k].append(r[k])
                    agg["J"].extend(r["J"])
                rows[policy] = agg
            report(segmenter, rows, args)
    return 0


def report(segmenter: str, rows: dict, args) -> None:  # noqa: ANN001
    print(f"\nrefiner's segmenter: {segmenter}"
          + (" (ground truth: upper bound of SAM)" if segmenter == "oracle" else " (weight-free)"))
    head = f"{'policy':10s} {'refined':>8} {'accepted':>8} {'mean J':>7} {'good':>6}"
    for dev in COSTS:
        head += "".join(f" {dev + ' fix ' + format(c, 'g') + 's':>13}" for c in args.fix)
    print(head + "   (finished masks per minute)")
    best: dict[tuple[str, float], tuple[float, str]] = {}
    for policy, agg in rows.items():
        frames, refined = sum(agg["frames"]), sum(agg["refined"])
        js = np.array(agg["J"])
        bad = int((js < args.good).sum())
        line = (f"{policy:10s} {refined / frames:8.1%} {sum(agg['accepted']) / frames:8.1%} "
                f"{js.mean():7.3f} {1 - bad / frames:6.1%}")
        for dev, cost in COSTS.items():
            machine = frames * cost["xmem"] + refined * cost["sam"]
            for c in args.fix:
                rate = frames / (machine + c * bad) * 60
                line += f" {rate:13.1f}"
                if rate > best.get((dev, c), (-1.0, ""))[0]:
                    best[(dev, c)] = (rate, policy)
        print(line)
    print("most finished masks per minute: " + "; ".join(
        f"{dev} fix {c:g} s → {p}" for (dev, c), (_, p) in best.items()))


if __name__ == "__main__":
    raise SystemExit(main())
