"""``annotator dataset status | stats | propagate | export | check``: what is done, the LU-AVS
table, the work that is left, the deliverable, and whether every part is sound."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from annotator.core.words import plural
from annotator.errors import UserError


def register(ds) -> None:
    p = ds.add_parser("status", help="per video: frames, segments, masks, flagged, review, "
                                     "assignee, active time")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--json", action="store_true", help="a JSON list, one object per video")
    p.set_defaults(func=cmd_status)

    p = ds.add_parser("stats", help="the LU-AVS table: videos, categories, segments, masks")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = ds.add_parser("propagate", help="propagate every video that has anchors and frames "
                                        "left to fill")
    p.add_argument("dir", type=Path, metavar="DIR")
    from annotator.engines.engine_table import ENGINES

    p.add_argument("--engine", choices=["auto", *ENGINES], default="auto")
    p.add_argument("--refine", default="auto", metavar="auto|every|k=N|uncertain|off")
    p.add_argument("--masks-from-boxes", action="store_true")
    from annotator.commands import add_device_option
    from annotator.commands.propagate_cluster import add_options

    add_device_option(p)
    add_options(p)  # --cluster, --retries, --json
    p.set_defaults(func=cmd_propagate)

    p = ds.add_parser("export", help="one deliverable: every video, label ids from the "
                                     "vocabulary, subsets from the splits")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--format", choices=["lu-avs", "coco", "unav", "avis"], required=True)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help="the folder to write")
    p.add_argument("--approved-only", action="store_true",
                   help="only segments a reviewer approved")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a folder that is not an earlier export of this dataset")
    p.set_defaults(func=cmd_export)

    p = ds.add_parser("check", help="the dataset database, every project and every video")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.set_defaults(func=cmd_check)


def _open(args, readonly: bool = False):
    from annotator.core.dataset import Dataset

    return Dataset.open(args.dir, readonly=readonly)


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def cmd_status(args: argparse.Namespace) -> int:
    from annotator.core.dataset_summary import status_rows

    with _open(args) as ds:
        rows = status_rows(ds)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'video':24s} {'frames':>7} {'segs':>5} {'masks':>7} {'done':>5} {'flag':>5} "
          f"{'review':26s} {'assignee':12s} {'active':>8} subset")
    for r in rows:
        if "error" in r:
            print(f"{r['video_id']:24.24s} {r['error']}")
            continue
        done = (1 - r["todo_frames"] / r["segment_frames"]) if r["segment_frames"] else 0.0
        print(f"{r['video_id']:24.24s} {r['frames']:>7} {r['segments']:>5} {r['masks']:>7} "
              f"{done:>5.0%} {r['flagged']:>5} {r['review']:26s} {r['assignee'] or '-':12.12s} "
              f"{_hms(r['active_s']):>8} {r['subset']}")
    total = sum(r.get("segment_frames") or 0 for r in rows)
    todo = sum(r.get("todo_frames") or 0 for r in rows)
    share = f"{1 - todo / total:.0%}" if total else "-"
    print(f"{plural(len(rows), 'video')}; masks on {share} of the audible frames")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from annotator.core.dataset_summary import stats

    with _open(args) as ds:
        s = stats(ds)
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"videos              {s['videos']}" + (f" ({s['unreadable']} unreadable)"
                                                  if s["unreadable"] else ""))
    print(f"categories          {s['categories']}")
    print(f"duration            {_hms(s['duration_s'])} ({s['frames']} frames)")
    print(f"segments            {s['segments']} ({s['segments_per_video']:.2f} per video)")
    print(f"mean segment        {s['mean_segment_s']:.2f} s ({s['mean_segment_frames']:.1f} "
          "frames)")
    print(f"silent share        {s['silent_share']:.1%}")
    print(f"masks, boxes        {s['masks']}, {s['boxes']}")
    if s["per_category"]:
        print(f"\n{'category':24s} {'videos':>6} {'segs':>6} {'mean s':>7} {'masks':>8} "
              f"{'boxes':>6}")
        for cat, c in s["per_category"].items():
            print(f"{cat:24.24s} {c['videos']:>6} {c['segments']:>6} {c['mean_segment_s']:>7.2f}"
                  f" {c['masks']:>8} {c['boxes']:>6}")
    return 0


def needs_propagation(summary: dict) -> bool:
    """Whether a video has a segment with an anchor and frames without a mask, or a box-only
    segment with frames without a box."""
    return "error" not in summary and summary["propagate_frames"] > 0


def cmd_propagate(args: argparse.Namespace) -> int:
    from annotator.commands.pipeline import cmd_propagate as propagate
    from annotator.core.dataset_summary import summaries

    with _open(args) as ds:
        sums = summaries(ds)
        chosen = [v for v in ds.videos() if needs_propagation(sums[v.video_id])]
        skipped = len(sums) - len(chosen)
    if not chosen:
        print(f"{args.dir}: nothing to propagate ({plural(skipped, 'video')} need nothing: "
              "no segment with an anchor has a frame without a mask)")
        return 0
    print(f"{args.dir}: {plural(len(chosen), 'video')} to propagate, {skipped} need nothing")
    forwarded = argparse.Namespace(**{**vars(args), "projects": [v.project for v in chosen],
                                      "segment": None})
    return propagate(forwarded)


def cmd_export(args: argparse.Namespace) -> int:
    from annotator.core.dataset_export import export_dataset

    with _open(args) as ds:
        res = export_dataset(ds, args.format, args.output, approved_only=args.approved_only,
                             overwrite=args.overwrite)
    subsets = ", ".join(f"{k} {n}" for k, n in sorted(res["subsets"].items()))
    print(f"wrote {args.format} {res['path']}: {plural(res['videos'], 'video')} ({subsets}), "
          f"{plural(res['segments'], 'segment')}"
          + (f", {plural(res['masks'], 'mask')}" if res["masks"] else "")
          + (" (approved only)" if args.approved_only else ""))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from annotator.core.dataset_db import PROJECTS
    from annotator.core.project import DB_NAME, Project, is_project
    from annotator.core.salvage import check
    from annotator.core.vocabulary import vocabulary
    from annotator.errors import DamagedError

    problems: list[str] = []
    with _open(args) as ds:
        got = ds.query("PRAGMA integrity_check")[0][0]
        if got != "ok":
            problems.append(f"{ds.path}: SQLite integrity check: {got}")
        if ds.query("PRAGMA foreign_key_check"):
            problems.append(f"{ds.path}: rows that point at no video")
        videos = ds.videos()
        for v in videos:
            if not is_project(v.project):
                problems.append(f"{v.video_id}: no project at {v.project}; run: annotator "
                                f"dataset add {ds.root} {v.source}")
                continue
            try:
                found = check(v.project / DB_NAME)
            except DamagedError as exc:
                found = [str(exc)]
            problems += [f"{v.video_id}: {line}" for line in found]
            if found:
                continue
            try:
                with Project.open(v.project, readonly=True) as project:
                    project.video_path()
            except UserError as exc:
                problems.append(f"{v.video_id}: {exc}")
        known = {v.project.name for v in videos}
        strays = sorted(p.name for p in (ds.root / PROJECTS).iterdir()
                        if not p.name.startswith(".") and p.name not in known)
        proposed = [c.label for c in vocabulary(ds) if c.state == "proposed"]
    for name in strays:
        print(f"note: {ds.root / PROJECTS / name} is not a video of the dataset (left as it is)")
    if proposed:
        print(f"note: proposed categories, not yet in the vocabulary: {', '.join(proposed)}")
    if not problems:
        print(f"{ds.path}: ok ({plural(len(videos), 'video')}: every project is whole and "
              "its video is where it says)")
        return 0
    for line in problems:
        print(line)
    raise UserError(f"{ds.path}: {plural(len(problems), 'problem')} found (listed above); "
                    "'annotator check' and 'annotator salvage' repair a project")
