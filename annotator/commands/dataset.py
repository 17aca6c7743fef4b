"""``annotator dataset …``: many videos, one vocabulary, splits, assignees, one deliverable.

new, add, import, vocabulary, accept, rename, merge, split, assign, status, stats, propagate,
export, check. See docs/dataset.md. The work is in ``annotator.core.dataset*`` and
``annotator.core.vocabulary``; status and stats print through
:mod:`annotator.commands.dataset_report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from annotator.core.words import plural
from annotator.errors import UserError


def register(sub) -> None:
    top = sub.add_parser("dataset", help="a dataset of many videos: new, add, import, split, "
                                         "assign, status, stats, propagate, export, check")
    ds = top.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = ds.add_parser("new", help="make a dataset folder (DIR/dataset.avsds, DIR/projects/)")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--videos", type=Path, nargs="+", default=[], metavar="PATH",
                   help="videos to add: files, frame folders, DAVIS sequence folders")
    p.add_argument("--from-list", type=Path, metavar="FILE",
                   help="a text file with one video path a line")
    p.add_argument("--vocabulary", type=Path, metavar="FILE",
                   help="categories: CSV label_id,label or JSON")
    p.set_defaults(func=cmd_new)

    p = ds.add_parser("add", help="add videos, each with a project of its own")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("paths", type=Path, nargs="*", metavar="PATH")
    p.add_argument("--from-list", type=Path, metavar="FILE")
    p.set_defaults(func=cmd_add)

    p = ds.add_parser("import", help="audible segments of many videos from one file")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--segments", type=Path, required=True, metavar="FILE",
                   help="CSV/JSON rows video,object,category,start,end")
    p.add_argument("--unit", choices=["seconds", "frames"], default="seconds")
    p.set_defaults(func=cmd_import)

    p = ds.add_parser("vocabulary", help="list the categories (accepted, proposed); --import")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--import", dest="source", type=Path, metavar="FILE",
                   help="add categories from CSV label_id,label or JSON")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_vocabulary)

    p = ds.add_parser("accept", help="accept a proposed category into the vocabulary")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("labels", nargs="+", metavar="CATEGORY")
    p.add_argument("--label-id", type=int, help="its label id (one category only; default: "
                                                "one above the highest)")
    p.set_defaults(func=cmd_accept)

    p = ds.add_parser("rename", help="rename a category in the vocabulary and every project")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(func=cmd_rename)

    p = ds.add_parser("merge", help="merge categories into one, in the vocabulary and every "
                                    "project")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("sources", nargs="+", metavar="CATEGORY")
    p.add_argument("--into", required=True, metavar="CATEGORY")
    p.set_defaults(func=cmd_merge)

    p = ds.add_parser("split", help="train/val/test by video, stratified by category")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--val", type=float, default=0.0, metavar="F", help="share of videos")
    p.add_argument("--test", type=float, default=0.0, metavar="F", help="share of videos")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--from", dest="source", type=Path, metavar="FILE",
                   help="CSV video,subset or JSON {video_id: subset}")
    p.set_defaults(func=cmd_split)

    p = ds.add_parser("assign", help="assign videos to a person")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--to", required=True, metavar="NAME")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    p.set_defaults(func=cmd_assign)

    from annotator.commands import dataset_report

    dataset_report.register(ds)


def _open(args, *, readonly: bool = False):
    from annotator.core.dataset import Dataset

    return Dataset.open(args.dir, readonly=readonly)


def _paths(args) -> list[Path]:
    from annotator.core.dataset import read_list

    paths = list(getattr(args, "videos", None) or getattr(args, "paths", None) or [])
    if args.from_list:
        paths += read_list(args.from_list)
    return paths


def _add(ds, paths: list[Path]) -> None:
    done = ds.add(paths)
    for vid, what in done:
        print(f"{vid}: {what}")
    added = sum(what == "added" for _v, what in done)
    print(f"{ds.root}: {plural(len(ds.videos()), 'video')} ({added} added now)")


def cmd_new(args: argparse.Namespace) -> int:
    from annotator.core.dataset import Dataset

    paths = _paths(args)  # a bad list file: nothing made
    with Dataset.create(args.dir, vocabulary=args.vocabulary) as ds:
        print(f"made dataset {ds.path}")
        if paths:
            _add(ds, paths)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    paths = _paths(args)
    with _open(args) as ds:
        _add(ds, paths)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from annotator.core.dataset_import import import_dataset_segments

    with _open(args) as ds:
        added = import_dataset_segments(ds, args.segments, unit=args.unit)
        print(f"{plural(sum(added.values()), 'segment')} imported into "
              f"{plural(len(added), 'video')}")
    return 0


def cmd_vocabulary(args: argparse.Namespace) -> int:
    import json

    from annotator.core.vocabulary import import_vocabulary, vocabulary

    with _open(args, readonly=not args.source) as ds:
        if args.source:
            added, already = import_vocabulary(ds, args.source)
            print(f"{args.source}: {plural(added, 'category', 'categories')} added, "
                  f"{already} already there")
        cats = vocabulary(ds)
        if args.json:
            print(json.dumps([{"label": c.label, "label_id": c.label_id, "state": c.state,
                               "videos": list(c.videos)} for c in cats], indent=1))
            return 0
        for c in cats:
            lid = "-" if c.label_id is None else c.label_id
            print(f"{lid!s:>6}  {c.label:24s} {c.state:9s} {plural(len(c.videos), 'video')}")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from annotator.core.vocabulary import accept

    if args.label_id is not None and len(args.labels) > 1:
        raise UserError("--label-id goes with one category")
    with _open(args) as ds:
        for label in args.labels:
            print(f"{label}: accepted, label_id {accept(ds, label, args.label_id)}")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    from annotator.core.vocabulary import rename

    with _open(args) as ds:
        n = rename(ds, args.old, args.new)
    print(f"{args.old} is now {args.new} (in {plural(n, 'project')})")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from annotator.core.vocabulary import merge

    with _open(args) as ds:
        n = merge(ds, args.sources, args.into)
    print(f"{', '.join(args.sources)} merged into {args.into} (in {plural(n, 'project')})")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from annotator.core.dataset_splits import read_splits, stratified
    from annotator.core.dataset_summary import summaries

    with _open(args) as ds:
        if args.source:
            subsets = read_splits(args.source)
            known = {v.video_id for v in ds.videos()}
            unknown = sorted(set(subsets) - known)
            if unknown:
                raise UserError(f"{args.source}: no video {unknown[0]!r} in the dataset "
                                f"{ds.root}; nothing was split (annotator dataset status lists "
                                "the video ids)")
        else:
            cats = {v: set(s.get("categories", {})) for v, s in summaries(ds).items()}
            subsets = stratified(cats, val=args.val, test=args.test, seed=args.seed)
        ds.set_splits(subsets)
        counts = {s: 0 for s in ("train", "val", "test")}
        for s in ds.splits().values():
            counts[s] += 1
    print(", ".join(f"{k} {plural(n, 'video')}" for k, n in counts.items()))
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    with _open(args) as ds:
        ds.assign(args.to, args.videos)
    print(f"{plural(len(args.videos), 'video')} assigned to {args.to.strip()}")
    return 0
