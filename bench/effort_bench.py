"""Annotation effort: a simulated annotator works whole DAVIS sequences through ``annotator.api``.

Every sequence of ``--data`` (DAVIS-2016: ``JPEGImages`` + ``Annotations``) becomes a project
(``api.create`` on its frames, under ``--work``), one object, one audible segment over every
frame. Clicks follow the NoC protocol (``bench/clicker.py``): on a frame, each click goes to
the interior-most point of the largest error region against the ground truth, until IoU ≥
``--target`` (0.85) or ``--max-clicks`` (20). A frame is *good* at J ≥ ``--good`` (0.8).

* **check view** — stage 1: the first frame clicked and accepted; stage 2: ``propagate``;
  stage 3: the clips of ``project.review()`` in their order: the first clip whose worst
  frame is bad (and not tried yet) has that frame clicked from its propagated mask; where
  that makes it good (J ≥ ``--good``) it is accepted and ``repropagate``-d (an empty mask —
  the object has left the frame — is kept without either), else the clicks are undone
  (``project.undo()``: a bad anchor would spoil the frames re-propagated from it) but still
  count; the list is asked for again; until no frame is bad, no clip offers a bad
  worst frame, or the budget — ``--budget`` clicks per 10 frames of the segment (3:
  ``ceil(0.3 × frames)``) — is spent.
* **oracle** — stage 3 with the truly worst frame by the ground truth fixed each time, same
  budget, from the same propagated project (a copy).
* **keyframes every N** (``--keyframes``, 25 and 10) — frames 0, N, 2N … clicked from an
  empty mask and accepted, then one ``propagate`` between them.
* **every frame** — every frame clicked, no propagation: J is each frame's final IoU. Frames
  are clicked independently, so the keyframes of the smallest N (every 10th frame, clicked
  from empty anyway) estimate it; its curve is the cap on clicks per frame, 1 … 20.

Reported per sequence and pooled (all sequences, and the ``--held-out`` ones: those the
failure flags' defaults were not fitted on): clicks per 100 frames, good frames, mean J over
all frames, the area under J against clicks (``bench/effort_curve.py``; axis 0–``--auc-max``
clicks per 100 frames) and machine seconds per segment (wall clock of the propagations and of
the clicks). Curves go to ``--plot`` (a PNG where matplotlib is installed) and a CSV beside.

    python bench/effort_bench.py [--sequences boat tennis] [--budget 3] [--plot PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import effort_report  # noqa: E402  (bench/effort_report.py: tables, goals, plot)
from clicker import MAX_CLICKS, TARGET, click_to  # noqa: E402  (bench/clicker.py)

from annotator import api  # noqa: E402
from annotator.core.quality import region_similarity  # noqa: E402
from annotator.errors import UserError  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "davis2016"
#: added after the failure score's defaults were fitted (docs/benchmarks.md, "Finding the
#: failures": fitted on the other fourteen)
HELD_OUT = ["mallard-fly", "motorbike", "rollerblade", "scooter-gray", "surf", "swing"]


class Run:
    """One project of one protocol on one sequence: its clicks, J and machine time."""

    def __init__(self, project: api.Project, oid: int, truths: list[np.ndarray], args) -> None:  # noqa: ANN001
        self.project, self.oid, self.truths, self.args = project, oid, truths, args
        self.clicks = 0
        self.prop_s = 0.0
        self.click_s = 0.0
        self.forced = 0  # accepts the window would have asked about (simulated: accepted)
        self.engines: set[str] = set()  # the propagation engines and refine policies that ran

    def js(self) -> list[float]:
        masks = self.project.masks(self.oid)
        empty = np.zeros(self.truths[0].shape, bool)
        return [region_similarity(masks.get(f, empty), gt) for f, gt in enumerate(self.truths)]

    def click(self, frame: int, max_clicks: int, accept_at: float = 0.0):  # noqa: ANN201
        """Click ``frame`` (NoC protocol) and accept the mask where it improved on what the
        frame had and reaches ``accept_at``; ``done.accepted`` says whether it did. An empty
        mask (the object is not in the frame) is kept but not accepted: propagating from it
        would wipe the object out of the frames around."""
        with self.project.prompt(frame, self.oid) as p:
            done = click_to(p, self.truths[frame], self.args.target, max_clicks)
            self.clicks += done.clicks
            self.click_s += sum(done.seconds)
            mask = p.mask
            done.accepted = (done.final > done.start and done.final >= accept_at
                             and mask is not None and mask.any())
            if done.accepted:
                try:
                    p.accept()
                except UserError:  # the simulated annotator checked it against the truth
                    p.accept(force=True)
                    self.forced += 1
        return done

    def undo(self, clicks: int) -> None:
        for _ in range(clicks):
            self.project.undo()

    def propagate(self, frame: int | None = None) -> None:
        t0 = time.perf_counter()
        if frame is None:
            done = self.project.propagate(engine=self.args.engine, refine=self.args.refine)
        else:
            done = [self.project.repropagate(self.oid, frame, engine=self.args.engine,
                                             refine=self.args.refine)]
        self.prop_s += time.perf_counter() - t0
        self.engines |= {f"{r.engine} (refine {r.refine})" for r in done if r.engine}

    def summary(self, js: list[float], curve: list) -> dict:  # noqa: ANN001
        n = len(js)
        return {"clicks": self.clicks, "per100": 100 * self.clicks / n, "mean_j": float(np.mean(js)),
                "good": int(sum(j >= self.args.good for j in js)), "curve": curve,
                "machine_s": self.prop_s + self.click_s, "prop_s": self.prop_s,
                "click_s": self.click_s, "forced": self.forced, "engines": sorted(self.engines)}


def fix_loop(run: Run, choose, budget: int) -> dict:  # noqa: ANN001
    """Stage 3: fix the frame ``choose(run, js, tried)`` names until nothing is bad, nothing
    is offered or ``budget`` clicks are spent."""
    n = len(run.truths)
    js = run.js()
    curve = [(100 * run.clicks / n, float(np.mean(js)))]
    tried, spent, fixes = {0}, 0, []
    while spent < budget and min(js) < run.args.good:
        frame = choose(run, js, tried)
        if frame is None:
            break
        tried.add(frame)
        before = run.project.mask(run.oid, frame)
        done = run.click(frame, min(run.args.max_clicks, budget - spent), run.args.good)
        spent += done.clicks
        if done.accepted:  # fixed: good now
            run.propagate(frame)
            js = run.js()
        elif done.final >= run.args.good and done.final > done.start:  # fixed by emptying it
            js = run.js()
        else:
            run.undo(done.clicks)
            after = run.project.mask(run.oid, frame)
            if (before is None) != (after is None) or (
                    before is not None and not np.array_equal(before, after)):
                raise RuntimeError(f"undo did not bring back frame {frame}'s mask")
        fixes.append({"frame": frame, "j_before": done.start, "clicks": done.clicks,
                      "j_after": done.final,
                      "kept": done.accepted or done.final >= run.args.good > done.start})
        curve.append((100 * run.clicks / n, float(np.mean(js))))
    out = run.summary(js, curve)
    out["fixes"] = fixes
    out["bad_left"] = int(sum(j < run.args.good for j in js))
    return out


def check_view_choice(run: Run, js: list[float], tried: set[int]) -> int | None:
    for clip in run.project.review():
        f = clip.worst_frame
        if clip.object_id == run.oid and f not in tried and js[f] < run.args.good:
            return f
    return None


def oracle_choice(run: Run, js: list[float], tried: set[int]) -> int | None:
    order = [f for f in np.argsort(js, kind="stable") if f not in tried]
    return int(order[0]) if order and js[order[0]] < run.args.good else None


def run_sequence(seq: Path, args, work: Path) -> dict:  # noqa: ANN001
    truths = [np.array(Image.open(p)) > 0 for p in sorted((seq / "Annotations").glob("*.png"))]
    n = len(truths)
    budget = math.ceil(args.budget * n / 10)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t_all = time.perf_counter()

    def project_copy(src: str, dst: str) -> Path:
        shutil.copytree(work / src, work / dst)
        return work / dst

    # stage 1: the first frame
    with api.create(seq / "JPEGImages", work / "stage1") as project:
        if project.frame_count != n:
            raise SystemExit(f"{seq}: {project.frame_count} frames but {n} masks in Annotations")
        oid = project.add_object(seq.name)
        project.add_segment(oid, 0, n - 1)
        first = Run(project, oid, truths, args).click(0, args.max_clicks)
    for name in ["check", *(f"kf{k}" for k in args.keyframes)]:
        project_copy("stage1", name)
    out = {"sequence": seq.name, "frames": n, "budget": budget, "first_clicks": first.clicks,
           "first_j": first.final}

    # stage 2 and 3: propagate, then the check view's clips; the oracle from the same masks
    with api.open(work / "check") as project:
        run = Run(project, oid, truths, args)
        run.clicks, run.click_s = first.clicks, sum(first.seconds)
        run.propagate()
        js = run.js()
        out["stage2"] = run.summary(js, [(100 * run.clicks / n, float(np.mean(js)))])
    project_copy("check", "oracle")
    for name, choose in (("check", check_view_choice), ("oracle", oracle_choice)):
        with api.open(work / name) as project:
            run = Run(project, oid, truths, args)
            run.clicks, run.prop_s, run.click_s = (first.clicks, out["stage2"]["prop_s"],
                                                   out["stage2"]["click_s"])
            run.engines = set(out["stage2"]["engines"])
            out[name] = fix_loop(run, choose, budget)

    # keyframes every N (N descending: the curve's clicks grow); every frame from the
    # smallest N's keyframes
    per_frame = {}
    kf_curve = list(out["stage2"]["curve"])
    for k in sorted(args.keyframes, reverse=True):
        with api.open(work / f"kf{k}") as project:
            run = Run(project, oid, truths, args)
            run.clicks, run.click_s = first.clicks, sum(first.seconds)
            per_frame[0] = first
            for f in range(k, n, k):
                per_frame[f] = run.click(f, args.max_clicks)
            run.propagate()
            js = run.js()
            kf_curve.append((100 * run.clicks / n, float(np.mean(js))))
            out[f"kf{k}"] = run.summary(js, list(kf_curve))
    k = min(args.keyframes)
    out["every"] = every_frame([per_frame[f] for f in range(0, n, k)], args, k)
    out["wall_s"] = time.perf_counter() - t_all
    return out


def every_frame(sample: list, args, stride: int) -> dict:  # noqa: ANN001
    """The every-frame baseline from independently clicked frames: its curve caps the
    clicks per frame at 1 … ``max_clicks``; J is each frame's IoU after its clicks."""
    curve = []
    for cap in range(1, args.max_clicks + 1):
        clicks = [min(cap, d.clicks) for d in sample]
        ious = [d.ious[c - 1] if c else d.start for d, c in zip(sample, clicks)]
        curve.append((100 * float(np.mean(clicks)), float(np.mean(ious))))
    finals = [d.final for d in sample]
    return {"per100": curve[-1][0], "mean_j": curve[-1][1], "curve": curve,
            "good_fraction": float(np.mean([j >= args.good for j in finals])),
            "sampled": len(sample), "stride": stride,
            "machine_s_per_frame": float(np.mean([sum(d.seconds) for d in sample]))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--sequences", nargs="+", default=None, help="default: every sequence")
    ap.add_argument("--budget", type=float, default=3.0, help="stage-3 clicks per 10 frames")
    ap.add_argument("--target", type=float, default=TARGET, help="IoU a frame is clicked to")
    ap.add_argument("--max-clicks", type=int, default=MAX_CLICKS, help="clicks per frame at most")
    ap.add_argument("--good", type=float, default=0.8, help="J of a frame that needs no fix")
    ap.add_argument("--keyframes", type=int, nargs="+", default=[25, 10])
    ap.add_argument("--auc-max", type=float, default=50.0, help="clicks per 100 frames")
    ap.add_argument("--held-out", nargs="*", default=HELD_OUT)
    ap.add_argument("--engine", default="auto", help="propagation engine (annotator propagate)")
    ap.add_argument("--refine", default="auto")
    ap.add_argument("--work", type=Path, default=Path("/tmp/effort_bench"),
                    help="projects and per-sequence results (never inside the repository)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the results of sequences --work already has")
    ap.add_argument("--plot", type=Path, default=Path("/tmp/effort_bench/effort_curve.png"))
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data}: no such folder of DAVIS sequences; pass --data", file=sys.stderr)
        return 2
    names = args.sequences or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    missing = [s for s in names if not (args.data / s / "Annotations").is_dir()]
    if missing:
        print(f"{args.data}: no sequence {', '.join(missing)} (JPEGImages + Annotations)",
              file=sys.stderr)
        return 2
    results = []
    for name in names:
        cached = args.work / f"{name}.json"
        if args.reuse and cached.exists():
            results.append(json.loads(cached.read_text()))
            continue
        r = run_sequence(args.data / name, args, args.work / name)
        cached.write_text(json.dumps(r))
        shutil.rmtree(args.work / name)  # the projects: only the figures are kept
        print(effort_report.one_line(r), flush=True)
        results.append(r)
    effort_report.report(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
