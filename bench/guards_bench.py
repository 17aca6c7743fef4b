"""How often do the first-mask guards question a good first mask? (issue 25)

The ground-truth mask of the first frame of every sequence of ``../shared/data/davis2016``
stands in for a good first mask. For each, a project is made on the frame folder and the mask
is written as a clicked one — a ``grabcut`` revision with a prompt of positive points, as the
window's clicks write it — and :func:`annotator.pipeline.prompting.anchor_concern` (the
window's and the API's question, with the default ``guards.*`` bars) is asked whether it may
become an anchor. The points:

* ``centre``: one click on the mask's interior-most pixel (the largest distance to its edge:
  the first click of the usual interactive-segmentation protocol);
* ``random``: ``--clicks`` single clicks on random pixels of the mask (seeded), each asked
  alone — clicks near a thin part or an edge: the worst a person does;
* ``three``: ``--clicks`` prompts of three random pixels of the mask each.

Printed: per sequence the mask's share of the frame and how many of the prompts were
questioned (and by which check); pooled, the false alarms of each kind. The SAM-score check
needs SAM's own predicted IoU and is not measured here (no SAM weights). For contrast the same
is asked of a mask that did leak: the road of ``../shared/data/videos/vtest.avi``'s first frame
(a polygon drawn by hand over the road and the people on it) with one click on each of
the three people walking on it.

    python bench/guards_bench.py [--sequences ...] [--clicks 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.core.guards import leak  # noqa: E402
from annotator.core.project import Project  # noqa: E402
from annotator.pipeline.prompting import anchor_concern  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DAVIS = DATA / "davis2016"
#: the road of vtest.avi's first frame (x, y), drawn by hand, and three people walking on it
ROAD = ((0, 190), (250, 190), (420, 200), (560, 170), (680, 100), (760, 95), (768, 100),
        (768, 490), (700, 470), (560, 410), (420, 340), (330, 300), (250, 270), (100, 250),
        (0, 240))
PEOPLE = ((515.0, 200.0), (662.0, 290.0), (265.0, 265.0))


def kinds(text: str | None) -> list[str]:
    """Which checks a concern names."""
    if not text:
        return []
    out = []
    for key, word in (("frame", "of the frame"), ("leak", "reaches far past"),
                      ("score", "SAM rates"), ("neighbours", "than its neighbours"),
                      ("empty", "is empty")):
        if word in text:
            out.append(key)
    return out


def interior(mask: np.ndarray) -> tuple[float, float]:
    edge = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(edge)), edge.shape)
    return float(x), float(y)


def ask(store, oid: int, frame: int, mask: np.ndarray, points: list) -> list[str]:
    op = store.new_op("click", "bench")
    rev = store.put_mask(oid, frame, mask, source="grabcut", anchor=False, score=1.0, op=op)
    store.add_prompt(oid, frame, points, mask_rev_id=rev, op=op)
    return kinds(anchor_concern(store, oid, frame))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", nargs="*")
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    seqs = args.sequences or sorted(p.name for p in DAVIS.iterdir() if p.is_dir())
    rng = np.random.default_rng(args.seed)
    pooled = {k: Counter() for k in ("centre", "random", "three")}
    asked = Counter()
    tmp = Path(tempfile.mkdtemp(prefix="guards-bench-"))
    print(f"{'sequence':18s} {'frame share':>11s}  centre  random  three")
    for seq in seqs:
        mask = np.array(Image.open(DAVIS / seq / "Annotations" / "00000.png")) > 0
        ys, xs = np.nonzero(mask)
        with Project.create(tmp / f"{seq}.avsproj", DAVIS / seq / "JPEGImages", fps=24) as p:
            store = p.store
            oid = store.add_object("object")
            row = {}
            x, y = interior(mask)
            row["centre"] = [ask(store, oid, 0, mask, [(x, y, True)])]
            picks = rng.integers(0, len(xs), size=(args.clicks, 3))
            row["random"] = [ask(store, oid, 0, mask, [(float(xs[i]), float(ys[i]), True)])
                             for i in picks[:, 0]]
            row["three"] = [ask(store, oid, 0, mask, [(float(xs[i]), float(ys[i]), True)
                                                      for i in three]) for three in picks]
        cells = []
        for k, found in row.items():
            asked[k] += len(found)
            hits = [f for f in found if f]
            for f in hits:
                pooled[k].update(f)
            pooled[k]["prompts questioned"] += len(hits)
            cells.append(f"{len(hits)}/{len(found)}")
        print(f"{seq:18s} {mask.mean():11.3f}  {cells[0]:>6s}  {cells[1]:>6s}  {cells[2]:>5s}")
    print()
    for k in pooled:
        c = pooled[k]
        detail = ", ".join(f"{name} {n}" for name, n in sorted(c.items())
                           if name != "prompts questioned") or "none"
        print(f"{k:7s}: {c['prompts questioned']}/{asked[k]} good first masks questioned "
              f"({detail})")

    video = DATA / "videos" / "vtest.avi"
    if video.exists():
        with Project.create(tmp / "vtest.avsproj", video) as p:
            store = p.store
            oid = store.add_object("person")
            h, w = store.size_hw
            road = np.zeros((h, w), np.uint8)
            cv2.fillPoly(road, [np.array(ROAD, np.int32)], 1)
            road = road.astype(bool)
            print(f"\nvtest.avi frame 0, the road ({road.mean():.0%} of the frame), one click on "
                  "a person:")
            for click in PEOPLE:
                found = ask(store, oid, 0, road, [(*click, True)])
                far = leak(road, [(*click, True)])
                print(f"  person at {click}: {far.share:.0%} of the mask beyond {far.reach:.0f} px;"
                      f" questioned by {', '.join(found) or 'nothing'}")

if __name__ == "__main__":
    main()
