"""When a tracked box gives way to the interpolation: the track rule, chosen held out.

Protocol: each of the 20 DAVIS-2016 sequences in ``../shared/data/davis2016`` becomes a project
with one box-only segment over the whole sequence and a keyframe (the ground truth's tight box)
every ``--gap`` frames (10 and 30); box tracking runs with the weight-free engines (GrabCut from
each keyframe's box, the fallback propagator), exactly as ``annotator propagate`` runs it. The
stored boxes are kept (``--cache``, so the choice can be rerun without tracking again), and
the segment's track is made by :func:`annotator.core.box_tracks.box_track` under each
candidate :class:`~annotator.core.box_tracks.TrackRule`: a tracked box gives way to the
interpolation where their IoU is under ``agree`` (between keyframes; also on the held box after
the last keyframe when ``held``). Scored: the box IoU with the ground truth's tight box on every
frame that is not a keyframe and whose ground truth is not empty.

**Nested leave-one-sequence-out**: for each sequence, the rule with the best mean IoU over the
frames of the other 19 (both gaps pooled) is chosen and scored on the held-out sequence; only
these held-out figures are the rule's. The rule the app ships is the one chosen on all 20.
"Always the track" (agree 0) and "always the interpolation" (agree above 1) are printed beside
it: they are not fitted.

    python bench/box_rule_bench.py [--cache /tmp/box_rule_bench.json] [--retrack]
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
DAVIS = ROOT.parent / "shared" / "data" / "davis2016"
GAPS = (10, 30)
AGREE = [round(0.05 * i, 2) for i in range(21)] + [1.01]  # 1.01: never the track between


def tight_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def track_all(cache: Path) -> dict:
    """``{seq: {gap: {"n", "rows": [[frame, box, keyframe]], "gt": {frame: box}}}}``."""
    from annotator import api
    from annotator.engines.fallback_propagator import FallbackPropagator
    from annotator.engines.fallback_segmenter import FallbackSegmenter
    from annotator.pipeline.box_tracking import track_box_segments

    out: dict = {}
    seqs = sorted(p for p in DAVIS.iterdir() if (p / "JPEGImages").is_dir())
    with tempfile.TemporaryDirectory(prefix="box_rule_bench-") as tmp:
        for seq in seqs:
            truth = {int(f.stem): np.array(Image.open(f)) > 0
                     for f in sorted((seq / "Annotations").glob("*.png"))}
            n = len(truth)
            gt = {f: tight_box(m) for f, m in truth.items() if m.any()}
            for gap in GAPS:
                t0 = time.perf_counter()
                p = api.create(seq / "JPEGImages", Path(tmp) / f"{seq.name}-{gap}.avsproj")
                oid = p.add_object(seq.name, category="object")
                p.add_segment(oid, 0, n - 1)
                for f in range(0, n, gap):
                    if f in gt:
                        p.store.put_box(oid, f, gt[f])
                (r,) = track_box_segments(p.project, FallbackPropagator(), FallbackSegmenter())
                rows = [[b.frame, list(b.box), b.keyframe] for b in p.store.boxes_of(oid)]
                p.close()
                out.setdefault(seq.name, {})[str(gap)] = {"n": n, "rows": rows, "gt": gt}
                print(f"{seq.name} gap {gap}: {r.written} tracked, {r.lost} lost, "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
    cache.write_text(json.dumps(out))
    return out


def scores(entry: dict, rule) -> list[float]:
    """The box IoU with the ground truth on each scored frame of one sequence at one gap."""
    from annotator.core.box_tracks import box_track, iou
    from annotator.core.records import BoxRecord

    rows = [BoxRecord(i, 1, f, tuple(b), False, "drawn" if k else "tracked", 0.0, 1, None)
            for i, (f, b, k) in enumerate(entry["rows"])]
    keys = {f for f, _b, k in entry["rows"] if k}
    track = {t.frame: t.box for t in box_track(0, entry["n"] - 1, rows, rule=rule)}
    return [0.0 if track.get(f) is None else iou(track[f], gt)
            for f, gt in ((int(f), g) for f, g in entry["gt"].items()) if f not in keys]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) /
                    "box_rule_bench.json", help="the tracked boxes (written, then reused)")
    ap.add_argument("--retrack", action="store_true", help="track again even with a cache")
    args = ap.parse_args(argv)
    if not DAVIS.is_dir():
        print(f"{DAVIS}: the DAVIS-2016 data is not there; nothing to measure", file=sys.stderr)
        return 2
    from annotator.core.box_tracks import TrackRule

    data = (json.loads(args.cache.read_text()) if args.cache.is_file() and not args.retrack
            else track_all(args.cache))
    rules = [TrackRule(a, h) for h in (False, True) for a in AGREE]
    # per (rule, sequence, gap): the frames' IoUs
    table = {(r, s, g): scores(data[s][g], r) for r in rules for s in data for g in data[s]}
    seqs = sorted(data)

    def pooled(rule, among, gap=None) -> float:
        v = [x for s in among for g in data[s] if gap in (None, g) for x in table[rule, s, g]]
        return float(np.mean(v)) if v else float("nan")

    held: dict[str, object] = {}
    for s in seqs:
        others = [o for o in seqs if o != s]
        held[s] = max(rules, key=lambda r: (pooled(r, others), -r.agree))
    chosen_all = max(rules, key=lambda r: (pooled(r, seqs), -r.agree))
    print(f"\n{len(seqs)} sequences; frames scored: " + ", ".join(
        f"gap {g}: {sum(len(table[rules[0], s, g]) for s in seqs)}" for g in map(str, GAPS)))
    print(f"{'sequence':20s} {'chosen on the others':22s} " +
          " ".join(f"{'held-out g' + str(g):>12s}" for g in GAPS))
    for s in seqs:
        r = held[s]
        print(f"{s:20s} agree {r.agree:4.2f} held {str(r.held):5s}  " +
              " ".join(f"{pooled(r, [s], str(g)):12.3f}" for g in GAPS))
    track_only, interp_only = TrackRule(0.0, False), TrackRule(1.01, True)
    print("\nmean box IoU over the frames (pooled over the 20 sequences):")
    for g in map(str, GAPS):
        h = [x for s in seqs for x in table[held[s], s, g]]
        print(f"  keyframe every {g}th: HELD OUT (nested) {np.mean(h):.3f}; always the track "
              f"{pooled(track_only, seqs, g):.3f}; always the interpolation "
              f"{pooled(interp_only, seqs, g):.3f}")
    print(f"rule chosen on all 20 (what the app ships): agree {chosen_all.agree:.2f}, "
          f"held {chosen_all.held}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
