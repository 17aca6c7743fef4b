"""Simulated annotator: NoC@85 / NoC@90 and per-click latency of a point-prompt segmenter.

Protocol (the usual interactive-segmentation one, ``bench/clicker.py``): on every ``--every``-th frame of the DAVIS
sequences in ``../shared/data/davis2016`` (at most ``--frames`` per sequence, from its first),
start with an empty mask; each click goes to the interior-most point (largest distance to the
region's edge) of the largest error region, positive if that region is missed object, negative
if it is false object; all clicks so far are passed to ``predict`` together with the previous
best low-resolution logits; at most ``--max-clicks`` clicks. NoC@t is the number of clicks
needed to reach IoU ≥ t (``--max-clicks`` when never reached). Frames whose ground truth is
empty are skipped (NoC is undefined there). Figures are per sequence, then the mean of the
sequences; ``ms 1st`` is the first click's time.

Choosing the fallback's parameters (held-out or it did not happen): ``--param NAME=V1,V2``
(repeatable) makes a grid. Without ``--choose-on`` every sequence is measured with the
configuration chosen (fewest mean NoC@85, then NoC@90) on the other sequences (leave-one-
sequence-out); with ``--choose-on SEQ ...`` the configuration is chosen on those sequences and
reported on the others, never seen, plus leave-one-out among them. The per-configuration lines
printed first are in-sample and are not results. ``--cache FILE`` (outside the repository)
keeps each configuration's runs so a rerun prints without recomputing.

    python bench/click_bench.py --every 1 --frames 1          # first frames, the fallback
    python bench/click_bench.py --every 1 --frames 1 --choose-on SEQ ... \
        --param first_box=0.14,0.18,0.22 --param click_reach=0.5,0.8
    python bench/click_bench.py --sam PATH --arch vit_b

Published figures for GrabCut on DAVIS under this protocol: NoC@85 ≈ 15.1, NoC@90 ≈ 17.4.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clicker import next_click  # noqa: E402  (bench/clicker.py: the NoC protocol's clicks)

from annotator.engines.segmenter import Segmenter  # noqa: E402


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def run_frame(seg: Segmenter, image: np.ndarray, gt: np.ndarray, max_clicks: int):
    seg.embed(image)
    pred = np.zeros_like(gt)
    points: list[tuple[int, int]] = []
    labels: list[int] = []
    logits = None
    ious: list[float] = []
    latencies: list[float] = []
    for _ in range(max_clicks):
        click = next_click(pred, gt)
        if click is None:  # perfect already
            ious.append(1.0)
            continue
        points.append((click.x, click.y))
        labels.append(int(click.positive))
        t0 = time.perf_counter()
        res = seg.predict(np.array(points), np.array(labels), mask_logits=logits,
                          multimask=len(points) == 1)
        latencies.append(time.perf_counter() - t0)
        pred = res.best_mask
        logits = res.best_logits
        ious.append(iou(pred, gt))
    return ious, latencies


def noc(ious: list[float], thr: float, max_clicks: int) -> int:
    for k, v in enumerate(ious, start=1):
        if v >= thr:
            return k
    return max_clicks


# -- one engine configuration on the sequences ---------------------------------------------------
def frames_of(data: Path, seq: str, every: int, frames: int) -> list[tuple[str, Path, Path]]:
    """(name, image, ground truth) of every ``every``-th frame, at most ``frames`` (0: all)."""
    images = sorted((data / seq / "JPEGImages").glob("*.jpg"))[::every]
    images = images[:frames] if frames > 0 else images
    return [(f"{seq}/{p.stem}", p, data / seq / "Annotations" / (p.stem + ".png")) for p in images]


def run_sequences(seg: Segmenter, data: Path, seqs: list[str], every: int, frames: int,
                  max_clicks: int, verbose: bool = False) -> dict[str, list[dict]]:
    """Per sequence, per frame: the IoU after each click and each click's latency (s)."""
    out: dict[str, list[dict]] = {}
    for seq in seqs:
        out[seq] = []
        for name, img_path, gt_path in frames_of(data, seq, every, frames):
            gt = cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE) > 127
            if not gt.any():  # NoC is undefined on an empty ground truth
                continue
            image = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
            ious, lats = run_frame(seg, image, gt, max_clicks)
            out[seq].append({"frame": name, "ious": ious, "lat": lats})
            if verbose:
                print(f"  {name}: NoC85={noc(ious, 0.85, max_clicks):2d} "
                      f"NoC90={noc(ious, 0.90, max_clicks):2d} IoU@1={ious[0]:.3f} "
                      f"IoU@5={ious[min(4, len(ious) - 1)]:.3f} IoU@20={ious[-1]:.3f}", flush=True)
    return out


def seq_figures(runs: list[dict], max_clicks: int) -> dict[str, float]:
    """Mean NoC@85, NoC@90, IoU after the first click and ms per click of one sequence."""
    lat = [v for r in runs for v in r["lat"]]
    return {"noc85": statistics.mean(noc(r["ious"], 0.85, max_clicks) for r in runs),
            "noc90": statistics.mean(noc(r["ious"], 0.90, max_clicks) for r in runs),
            "iou1": statistics.mean(r["ious"][0] for r in runs),
            "ms": 1000 * statistics.mean(lat) if lat else 0.0,
            "ms1": 1000 * statistics.mean(r["lat"][0] for r in runs if r["lat"]),
            "frames": len(runs)}


def print_table(title: str, rows: dict[str, dict[str, float]], extra: dict[str, str] | None = None):
    print(f"\n{title}")
    print(f"{'sequence':18s} {'NoC@85':>6s} {'NoC@90':>6s} {'IoU@1':>6s} {'ms/click':>8s} "
          f"{'ms 1st':>6s}" + ("  chosen" if extra else ""))
    for seq, f in rows.items():
        print(f"{seq:18s} {f['noc85']:6.2f} {f['noc90']:6.2f} {f['iou1']:6.3f} {f['ms']:8.0f} "
              f"{f['ms1']:6.0f}" + (f"  {extra[seq]}" if extra else ""))
    if rows:
        mean = {k: statistics.mean(f[k] for f in rows.values()) for k in ("noc85", "noc90", "iou1")}
        print(f"{'mean of ' + str(len(rows)):18s} {mean['noc85']:6.2f} {mean['noc90']:6.2f} "
              f"{mean['iou1']:6.3f}")


# -- choosing parameters: nested leave-sequences-out ---------------------------------------------
def grid_of(params: list[str]) -> list[dict[str, float]]:
    """``["a=1,2", "b=3"]`` → every combination, as keyword arguments."""
    grid: list[dict[str, float]] = [{}]
    for spec in params:
        name, _, values = spec.partition("=")
        grid = [{**g, name: float(v)} for g in grid for v in values.split(",")]
    return grid


def choose(figures: list[dict[str, dict[str, float]]], on: list[str]) -> int:
    """The configuration with the fewest mean NoC@85 on the sequences ``on`` (then NoC@90)."""
    return min(range(len(figures)), key=lambda i: (
        statistics.mean(figures[i][s]["noc85"] for s in on),
        statistics.mean(figures[i][s]["noc90"] for s in on), i))


def held_out(figures, grid, seqs: list[str], choose_on: list[str] | None):
    """Held-out rows: with ``choose_on``, parameters chosen on those sequences and reported on
    the rest (never seen), plus leave-one-out inside ``choose_on``; without it, leave-one-
    sequence-out over all (each sequence measured with parameters chosen on the others)."""
    def label(i):
        return " ".join(f"{k}={v:g}" for k, v in grid[i].items())

    tables = []
    pool = choose_on or seqs
    print(f"\neach configuration on the {len(pool)} sequences it is chosen on (in-sample: "
          f"not a result)")
    for i in range(len(grid)):
        print(f"  {label(i):40s} NoC@85 "
              f"{statistics.mean(figures[i][s]['noc85'] for s in pool):5.2f}  NoC@90 "
              f"{statistics.mean(figures[i][s]['noc90'] for s in pool):5.2f}  IoU@1 "
              f"{statistics.mean(figures[i][s]['iou1'] for s in pool):.3f}")
    loo = {s: choose(figures, [t for t in pool if t != s]) for s in pool}
    tables.append((f"leave-one-sequence-out over {len(pool)} (chosen on the other "
                   f"{len(pool) - 1}, measured on the one left out)",
                   {s: figures[loo[s]][s] for s in pool}, {s: label(loo[s]) for s in pool}))
    unseen = [s for s in seqs if s not in pool]
    if unseen:
        i = choose(figures, pool)
        tables.append((f"never seen: chosen on the {len(pool)} ({label(i)}), measured on "
                       f"{', '.join(unseen)}", {s: figures[i][s] for s in unseen},
                       {s: label(i) for s in unseen}))
    return tables


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "davis2016")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--frames", type=int, default=0,
                    help="at most this many frames per sequence, from its first (0: all)")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--sequences", nargs="*", default=None)
    ap.add_argument("--sam", type=Path, default=None, help="a SAM checkpoint (default: fallback)")
    ap.add_argument("--arch", default=None)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2,...",
                    help="a FallbackSegmenter keyword argument; several values (or several "
                         "--param) make a grid, chosen by nested leave-sequences-out")
    ap.add_argument("--choose-on", nargs="*", default=None, metavar="SEQ",
                    help="choose the grid's parameters on these sequences only (leave-one-out "
                         "among them) and report the others as never seen")
    ap.add_argument("--cache", type=Path, default=None,
                    help="a JSON file (outside the repository) keeping each configuration's runs")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    from annotator.engines import registry

    registry.start(None)  # threads and allocator once, as the app and the CLI start up
    if not args.data.is_dir():
        ap.error(f"{args.data} is not there: pass --data, a folder of DAVIS sequences "
                 "(SEQ/JPEGImages/*.jpg, SEQ/Annotations/*.png)")
    seqs = args.sequences or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    try:
        grid = grid_of(args.param)
    except ValueError:
        ap.error(f"--param wants NAME=V1,V2,... with numbers, got {args.param}")
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    figures, runs_of = [], {}
    for kwargs in grid:
        if args.sam:
            from annotator.engines.sam import SamSegmenter

            seg: Segmenter = SamSegmenter.from_checkpoint(args.sam, arch=args.arch)
        else:
            from annotator.engines.fallback_segmenter import FallbackSegmenter

            try:
                seg = FallbackSegmenter(**kwargs)
            except TypeError as e:
                ap.error(f"--param: {e}")
        key = json.dumps([seg.name, kwargs, args.every, args.frames, args.max_clicks])
        print(f"engine: {seg.name} {kwargs or ''}", flush=True)
        done = cache.setdefault(key, {})
        todo = [s for s in seqs if s not in done]
        done.update(run_sequences(seg, args.data, todo, args.every, args.frames,
                                  args.max_clicks, args.verbose))
        if args.cache and todo:
            args.cache.write_text(json.dumps(cache))
        runs_of[key] = done
        figures.append({s: seq_figures(done[s], args.max_clicks) for s in seqs if done[s]})
    seqs = [s for s in seqs if s in figures[0]]
    if len(grid) == 1:
        print_table(f"every {args.every}th frame, at most {args.frames or 'all'} per sequence; "
                    f"max {args.max_clicks} clicks", figures[0])
        lat_ms = sorted(1000 * v for r in runs_of[key].values() for f in r for v in f["lat"])
        n_frames = sum(f["frames"] for f in figures[0].values())
        print(f"frames: {n_frames}; per-click latency: median {statistics.median(lat_ms):.0f} "
              f"ms, p90 {lat_ms[int(0.9 * (len(lat_ms) - 1))]:.0f} ms, max {lat_ms[-1]:.0f} ms "
              f"over {len(lat_ms)} clicks")
        runs = [f for r in runs_of[key].values() for f in r]
        first = [1000 * f["lat"][0] for f in runs if f["lat"]]
        later = [1000 * v for f in runs for v in f["lat"][1:]]
        print(f"first click: median {statistics.median(first):.0f} ms (max {max(first):.0f}); "
              f"later clicks: median {statistics.median(later):.0f} ms" if later else "")
        return 0
    for title, rows, chosen in held_out(figures, grid, seqs, args.choose_on):
        print_table(title, rows, chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
