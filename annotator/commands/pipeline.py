"""Pipeline sub-commands: ``propagate`` (with a progress bar and a per-pass summary) and
``review`` (flagged clips, worst first)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import threading
import time
from pathlib import Path

from annotator.commands import add_device_option
from annotator.core.words import plural
from annotator.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("propagate", help="propagate anchor masks through the audible segments")
    p.add_argument("projects", type=Path, nargs="+", metavar="DIR", help="project folder(s)")
    p.add_argument("--segment", type=int, action="append", metavar="ID",
                   help="only this segment (repeatable; one project only)")
    from annotator.engines.engine_table import ENGINES

    p.add_argument("--engine", choices=["auto", *ENGINES], default="auto",
                   help="propagator (default auto: XMem when its model file is installed; "
                        "sam2: SAM 2.1's video model, the [sam2] extra and a SAM 2.1 file; "
                        "flow-warp: the plain optical-flow baseline)")
    p.add_argument("--refine", default="auto", metavar="auto|every|k=N|uncertain|off",
                   help="when SAM refines a propagated frame (default auto: every frame where "
                        "SAM runs on a GPU, none on the CPU; see bench/policy_bench.py)")
    p.add_argument("--masks-from-boxes", action="store_true",
                   help="turn box-only segments into masks first: the segmenter's mask of "
                        "each box keyframe becomes an anchor, then propagation fills between "
                        "(without it, box-only segments are box-tracked)")
    add_device_option(p)
    from annotator.commands.propagate_cluster import add_options

    add_options(p)  # --cluster, --retries, --json: the batch on Ray
    p.set_defaults(func=cmd_propagate)

    p = sub.add_parser("review", help="list flagged clips of a project, worst first; or approve "
                                      "a segment, or ask for work on it")
    p.add_argument("project", type=Path, metavar="DIR")
    p.add_argument("--limit", type=int, default=50, help="at most this many clips (default 50)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    verdict = p.add_mutually_exclusive_group()
    verdict.add_argument("--approve", type=int, metavar="SEG",
                         help="approve audible segment SEG (annotator status lists them)")
    verdict.add_argument("--needs-work", type=int, metavar="SEG",
                         help="ask for work on segment SEG (with --comment, and --frame)")
    p.add_argument("--comment", metavar="TEXT", help="what needs work (or a note on approval)")
    p.add_argument("--frame", type=int, metavar="F",
                   help="the frame the comment is about (default: the segment's first)")
    p.set_defaults(func=cmd_review)


class _Bar:
    """A one-line progress bar on stderr (redrawn at most 10 times a second)."""

    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream = stream or sys.stderr  # looked up now: the stderr of this run
        self.width = width
        self.label = ""
        self._last = 0.0
        self._shown = False

    def update(self, pr) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and pr.done < pr.total:
            return
        self._last = now
        n = int(self.width * pr.fraction)
        rate = pr.done / pr.elapsed_s if pr.elapsed_s else 0.0
        what = ("resuming: replaying frame " if getattr(pr, "replaying", False)
                else f"{rate:.1f} masks/s, frame ")
        self.stream.write(f"\r{self.label:24.24s} [{'#' * n}{'.' * (self.width - n)}] "
                          f"{pr.done}/{pr.total} masks, {what}{pr.frame} ")
        self.stream.flush()
        self._shown = True

    def end(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
        self._shown = False


def add_anchor_hint(project_dir, name: str | None = None) -> str:
    """How to give an object (``name``; None: any) its first mask, an anchor: from the command
    line, or in the window."""
    d = shlex.quote(str(project_dir))
    who, flag = (name, shlex.quote(name)) if name else ("an object", "NAME")
    return (f"give {who} a mask on one of its frames: from the command line, "
            f"annotator import {d} --masks FOLDER --object {flag} (PNG masks named by frame "
            f"number, e.g. 00012.png; or --masks a COCO .json / CVAT .xml file); in the window "
            f"(annotator open {d}), click the object on a frame and press Enter")


def _describe(project_dir, store, plan, result) -> str:
    spans = plan.spans or plan.skipped
    names = ", ".join(store.object(o).name for o in sorted({s.object_id for s in spans})) or "-"
    where = (f"frames {min(s.start for s in spans)}–{max(s.end for s in spans)}"
             if spans else "")
    head = f"{plan.key:14s} {names} {where}"
    if result.state == "no_anchor":
        segs = ", ".join(str(s.segment_id) for s in plan.skipped) or "?"
        one = len({s.object_id for s in plan.skipped}) == 1
        return (f"{head}: no anchor mask in segment {segs}; "
                f"{add_anchor_hint(project_dir, names if one else None)}")
    if result.state == "skipped":
        return f"{head}: already propagated ({plural(result.done, 'mask')}), skipped"
    flagged = sum(result.flagged.values())
    line = (f"{head}: {plural(result.written, 'mask')} in {result.wall_s:.1f} s "
            f"({result.fps:.2f} frames/s, {100 * result.non_model_share:.1f}% outside the models)"
            f", {flagged} flagged, {result.refined} refined")
    if result.replayed:
        line += f", resumed (replayed {plural(result.replayed, 'frame')})"
    if result.state == "cancelled":
        line += f" — cancelled at {result.done}/{result.total}; run again to resume"
    if result.message:  # e.g. a checkpoint that was ignored, and why
        line += f"\n  note: {result.message}"
    return line


def cmd_propagate(args: argparse.Namespace) -> int:
    from annotator.commands.interrupt import stop_on_sigint
    from annotator.engines import models
    from annotator.pipeline.policy import RefinePolicy
    from annotator.pipeline.queue import choose_engine, make_refiner

    if getattr(args, "cluster", None):
        from annotator.commands.propagate_cluster import run

        return run(args)
    if getattr(args, "json", False):
        raise UserError("--json prints the events of a batch on Ray: use it with --cluster")
    if args.segment and len(args.projects) > 1:
        raise UserError("--segment names a segment of one project: give one DIR with it")
    policy = RefinePolicy.parse(args.refine)
    engine = choose_engine(args.engine)
    refiner = make_refiner(policy, engine)
    chosen = policy.for_refiner(refiner)
    auto = " (auto)" if policy.mode == "auto" else ""
    if refiner is not None:
        refining = f"refine {chosen}{auto} with {refiner.segmenter.name}"
    elif policy.mode == "auto" and getattr(engine, "kind", None) == "sam2":
        refining = "refine off (auto: SAM 2.1's masks come out of a SAM decoder already; " \
                   "--refine uncertain|every|k=N to refine anyway)"
    elif policy.mode == "auto" and models.find_sam() is not None:
        refining = "refine off (auto: SAM would run on the CPU, where refining costs more " \
                   "time than it saves; --refine uncertain|every|k=N to refine anyway)"
    else:
        refining = "refine off" + ("" if policy.mode == "off" else " (no SAM model installed)")
    policy = chosen
    print(f"devices: {_devices_line()}")
    cancel = threading.Event()
    bar = _Bar()
    with stop_on_sigint(cancel, "after the frame in flight"):
        cancelled, failed = _propagate_all(args, engine, refining, policy, refiner, bar, cancel)
    if failed:
        print(f"annotator: {len(failed)} of {plural(len(args.projects), 'project')} failed: "
              f"{', '.join(failed)}", file=sys.stderr)
        return 2
    return 130 if cancelled or cancel.is_set() else 0


def _propagate_all(args, engine, refining, policy, refiner, bar, cancel) -> tuple[bool, list]:
    """The local queue: each project in turn; a project's bad input is reported and the batch
    goes on (with one project, it is the command's error). Returns (cancelled, failed)."""
    cancelled, failed = False, []
    try:
        for d in args.projects:
            if cancel.is_set():
                break
            try:
                cancelled |= _propagate_one(d, args, engine, refining, policy, refiner, bar,
                                            cancel)
            except UserError as exc:
                bar.end()
                if len(args.projects) == 1:
                    raise
                failed.append(str(d))
                print(f"annotator: {exc}", file=sys.stderr)  # the batch goes on
    finally:
        bar.end()
    return cancelled, failed


def _devices_line() -> str:
    """Where each loaded model really runs (asked of its weights), and the device choice."""
    from annotator.engines import registry

    reg = registry.get()
    loaded = ", ".join(f"{k} on {v}" for k, v in reg.devices().items())
    if not loaded and not reg.chosen:  # a lazy start with no model installed: no device needed
        return "no model loaded (weight-free engines on the CPU; no model file installed)"
    return f"{loaded or 'no model loaded (weight-free engines)'}; chosen {reg.choice.describe()}"


def _propagate_one(d, args, engine, refining, policy, refiner, bar, cancel) -> bool:
    """Propagate one project; True when it was cancelled."""
    from annotator.core.project import Project
    from annotator.pipeline.queue import propagate_project

    with Project.open(d) as project:
        print(f"{project.dir}: engine {engine.name}, {refining}")

        def on_job(plan, result, store=project.store):
            if result is None:
                bar.label = plan.key
                return
            bar.end()
            print("  " + _describe(project.dir, store, plan, result), flush=True)

        def on_message(text: str) -> None:
            bar.end()
            print(f"annotator: {text}", file=sys.stderr, flush=True)

        if getattr(args, "masks_from_boxes", False):
            _masks_from_boxes(project, args.segment)
        results = propagate_project(project, segments=args.segment, engine=engine,
                                    refine=policy, refiner=refiner, on_progress=bar.update,
                                    on_job=on_job, cancel=cancel, on_message=on_message)
        boxes = _track_boxes(project, engine, args.segment, bar, cancel)
        if not results and not boxes:
            print(f"  nothing to propagate: no object has a mask yet; "
                  f"{add_anchor_hint(project.dir)}")
        return any(r.state == "cancelled" for r in [*results, *boxes])


def _masks_from_boxes(project, segments) -> None:
    """``--masks-from-boxes``: each box-only segment's keyframe boxes become anchor masks
    (the segmenter's), so the mask passes propagate them."""
    from annotator.core.export_boxes import box_only_segments
    from annotator.pipeline.box_tracking import masks_from_boxes

    for s in box_only_segments(project.store):
        if segments is None or s.id in segments:
            n = masks_from_boxes(project, s)
            name = project.store.object(s.object_id).name
            print(f"  {name} frames {s.start}–{s.end}: "
                  f"{plural(n, 'anchor mask')} from its box keyframes")


def _track_boxes(project, engine, segments, bar, cancel) -> list:
    """Box tracking of the box-only segments, a line for each (see
    :mod:`annotator.pipeline.box_tracking`)."""
    from annotator.pipeline.box_tracking import track_box_segments
    from annotator.pipeline.job import Progress

    started = time.monotonic()
    bar.label = "box tracking"

    def progress(done: int, total: int, frame: int) -> None:
        bar.update(Progress("boxes", done, total, frame, time.monotonic() - started))

    results = track_box_segments(project, engine, segments=segments, progress=progress,
                                 cancel=cancel)
    for r in results:
        bar.end()
        seg = project.store.segment(r.segment_id)
        name = project.store.object(seg.object_id).name
        head = f"{name} frames {seg.start}–{seg.end} (box-only)"
        if r.state in ("skipped", "already"):
            print(f"  {head}: " + ("no visible keyframe, nothing to track" if r.state ==
                                   "skipped" else "already tracked from these keyframes, "
                                   "skipped"))
            continue
        print(f"  {head}: {r.state}, {plural(r.written, 'box tracked', 'boxes tracked')}"
              + (f", {plural(r.lost, 'frame')} lost (interpolated)" if r.lost else "")
              + (f", {plural(r.kept, 'box')} a person drew kept" if r.kept else "")
              + (f", resumed (replayed {plural(r.replayed, 'frame')})" if r.replayed else "")
              + ("; run again to resume" if r.state == "cancelled" else ""), flush=True)
    return results


_MODEL_ON = re.compile(r"(XMem|SAM(?: \w+)?) \(((?:cpu|cuda|mps)(?::\d+)?)")


def model_devices(model: str | None) -> dict[str, str]:
    """``{"XMem": "cuda:0", "SAM vit_b": "cuda:0"}`` from a mask's model identity — the names
    the loaded models gave themselves, with the device their weights were on, when they made
    the mask (empty for a weight-free engine or a mask a person drew)."""
    return {m.group(1): m.group(2) for m in _MODEL_ON.finditer(model or "")}


def cmd_review(args: argparse.Namespace) -> int:
    from annotator.core.project import Project

    if args.approve is not None or args.needs_work is not None:
        from annotator.commands.status import cmd_verdict

        return cmd_verdict(args)
    if args.comment is not None or args.frame is not None:
        raise UserError("--comment and --frame go with --approve SEG or --needs-work SEG")
    from annotator.pipeline.clips import review_clips
    from annotator.pipeline.flags import flag_label

    with Project.open(args.project, readonly=True) as project:
        store = project.store
        clips = review_clips(store)
        names = {o.id: o.name for o in store.objects()}
        shown = clips[: max(0, args.limit)]
        if args.json:
            out = []
            for c in shown:
                rec = store.mask(c.object_id, c.worst_frame)
                model = getattr(rec, "model", None)
                out.append({"object_id": c.object_id, "object": names.get(c.object_id),
                            "start": c.start, "end": c.end, "score": round(c.score, 3),
                            "expected_failed_frames": round(c.score, 3),
                            "worst_frame": c.worst_frame, "worst_p_fail": round(c.worst, 3),
                            "flagged_frames": c.flagged, "flags": dict(c.flags),
                            "why": [flag_label(k) for k, _ in c.flags.most_common()],
                            "model": model, "devices": model_devices(model)})
            print(json.dumps(out, indent=2))
            return 0
        if not clips:
            print(f"{project.dir}: no flagged clips")
            return 0
        print(f"{project.dir}: {plural(len(clips), 'flagged clip')}, worst first (score: the expected "
              "number of failed frames in the clip; P: the worst frame's estimated probability "
              "that its mask is wrong)")
        print(f"{'score':>6}  {'object':16s} {'frames':>13}  {'worst':>6} {'P':>4}  why")
        for c in shown:
            why = ", ".join(f"{flag_label(k)} ×{v}" for k, v in c.flags.most_common())
            print(f"{c.score:6.2f}  {names.get(c.object_id, c.object_id)!s:16.16s} "
                  f"{c.start:>6}–{c.end:<6}  {c.worst_frame:>6} {c.worst:4.0%}  {why}")
    return 0
