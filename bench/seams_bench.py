"""After a fix and its re-propagation, which bad frames does the check view list? (issue 25)

For every sequence of ``../shared/data/davis2016`` the real pipeline runs: a project on the
frame folder, one object, one segment over all frames, the first frame's ground truth as the
anchor, the weight-free propagator, no refinement (:func:`annotator.pipeline.queue.
propagate_project`). Then the fix a person would make first: the worst frame of the worst
listed clip gets its ground-truth mask as an anchor (a perfect fix) and is re-propagated
(:func:`annotator.pipeline.queue.repropagate`). A frame is *bad* when its J < 0.5; it is
*listed* when it lies inside a clip of :func:`annotator.pipeline.clips.review_clips` (the
check view's rows). Printed:

* per sequence: the bad frames after the fix, how many are listed with the seam score
  (:mod:`annotator.pipeline.seams`) and how many without it (each frame's own run's P(fail),
  ``p_run``, where a seam raised it), and each seam: the jump across it, whether it flagged,
  and the two frames' J;
* pooled: bad frames listed without / with the seam score, sequences whose list was empty
  while frames were bad, and how the seams' flags agree with a bad frame beside them;
* the seam check's false alarms if both runs were right: over every pair of consecutive
  ground-truth masks of the twenty sequences, the share whose jump passes the same thresholds.

    python bench/seams_bench.py [--sequences ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.core import quality as Q  # noqa: E402
from annotator.core.project import Project  # noqa: E402
from annotator.pipeline.clips import review_clips  # noqa: E402
from annotator.pipeline.plan import assign_runs, object_spans  # noqa: E402
from annotator.pipeline.queue import propagate_project, repropagate  # noqa: E402
from annotator.pipeline.seams import SEAM, clips_without_seams, seam_pairs  # noqa: E402

DAVIS = ROOT.parent / "shared" / "data" / "davis2016"
T = Q.FlagThresholds()


def truth(seq: str, frame: int) -> np.ndarray:
    return np.array(Image.open(DAVIS / seq / "Annotations" / f"{frame:05d}.png")) > 0


def jumps(a: np.ndarray, b: np.ndarray) -> tuple[float, float, bool]:
    area, centre = Q.area_jump(a, b), Q.centroid_jump(a, b)
    return area, centre, area > T.area_jump or centre > T.centroid_jump


def listed(clips, frame: int) -> bool:
    return any(c.start <= frame <= c.end for c in clips)



def run(seq: str, tmp: Path) -> dict:
    n = len(list((DAVIS / seq / "JPEGImages").glob("*.jpg")))
    with Project.create(tmp / f"{seq}.avsproj", DAVIS / seq / "JPEGImages", fps=24) as project:
        store = project.store
        oid = store.add_object("object")
        store.add_segment(oid, 0, n - 1)
        store.put_mask(oid, 0, truth(seq, 0), source="imported")
        propagate_project(project, engine="fallback", refine="off")
        clips = review_clips(store)
        out = {"seq": seq, "fix": None, "bad": set(), "with": set(), "without": set(),
               "seams": []}
        if not clips:
            return out
        fix = out["fix"] = clips[0].worst_frame
        store.put_mask(oid, fix, truth(seq, fix), source="manual", anchor=True)
        repropagate(project, oid, fix, engine="fallback", refine="off")
        masks = {m.frame: m for m in store.masks_of(oid)}
        decoded = {f: m.decode() for f, m in masks.items()}
        J = {f: Q.region_similarity(decoded[f], truth(seq, f)) for f in masks}
        out["bad"] = {f for f, m in masks.items() if not m.anchor and J[f] < 0.5}
        now, before = review_clips(store), clips_without_seams(store, oid)
        out["with"] = {f for f in out["bad"] if listed(now, f)}
        out["without"] = {f for f in out["bad"] if listed(before, f)}
        runs = [r for s in object_spans(store) if s.object_id == oid for r in assign_runs(s)]
        for _, f, g in seam_pairs(runs, store.frame_count):
            if f in masks and g in masks and not (masks[f].anchor or masks[g].anchor):
                area, centre, hit = jumps(decoded[f], decoded[g])
                out["seams"].append((f, g, area, centre, hit, J[f], J[g],
                                     SEAM in masks[f].flags and SEAM in masks[g].flags))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", nargs="*")
    args = ap.parse_args()
    seqs = args.sequences or sorted(p.name for p in DAVIS.iterdir() if p.is_dir())
    tmp = Path(tempfile.mkdtemp(prefix="seams-bench-"))
    rows = []
    print(f"{'sequence':18s} {'fix':>4s} {'bad':>4s} {'listed before':>13s} {'after':>6s}  seams")
    for seq in seqs:
        r = run(seq, tmp)
        rows.append(r)
        seams = "; ".join(f"{f}|{g} area {a:.2f} centre {c:.2f} J {jf:.2f},{jg:.2f}"
                          f"{' FLAG' if hit else ''}" for f, g, a, c, hit, jf, jg, _ in r["seams"])
        print(f"{seq:18s} {r['fix'] if r['fix'] is not None else '-':>4} {len(r['bad']):4d} "
              f"{len(r['without']):13d} {len(r['with']):6d}  {seams}")
    bad = sum(len(r["bad"]) for r in rows)
    before = sum(len(r["without"]) for r in rows)
    after = sum(len(r["with"]) for r in rows)
    empty_before = [r["seq"] for r in rows if r["bad"] and not r["without"]]
    empty_after = [r["seq"] for r in rows if r["bad"] and not r["with"]]
    print(f"\nbad frames after the fix: {bad}; listed without the seam score {before}, with it "
          f"{after}")
    print(f"sequences with bad frames and none listed: without the seam score "
          f"{len(empty_before)} ({', '.join(empty_before) or '-'}), with it {len(empty_after)} "
          f"({', '.join(empty_after) or '-'})")
    seams = [s for r in rows for s in r["seams"]]
    flagged = [s for s in seams if s[4]]
    bad_side = [s for s in seams if min(s[5], s[6]) < 0.5]
    hit_bad = [s for s in flagged if min(s[5], s[6]) < 0.5]
    assert all(s[7] == s[4] for s in seams), "stored seam flags differ from the jumps measured"
    print(f"seams: {len(seams)}; flagged {len(flagged)}, of which with a bad frame beside them "
          f"{len(hit_bad)}; seams with a bad frame beside them {len(bad_side)}, flagged "
          f"{len(hit_bad)}")
    pairs = hits = 0
    for seq in seqs:
        names = sorted((DAVIS / seq / "Annotations").glob("*.png"))
        prev = None
        for path in names:
            cur = np.array(Image.open(path)) > 0
            if prev is not None and (prev.any() or cur.any()):
                pairs += 1
                hits += jumps(prev, cur)[2]
            prev = cur
    print(f"false alarms if both runs were right: {hits}/{pairs} consecutive ground-truth pairs "
          f"({hits / pairs:.1%}) jump past the thresholds (area {T.area_jump}, centre "
          f"{T.centroid_jump})")


if __name__ == "__main__":
    main()
