"""``annotator status``: a project's segments with their review state and active time, who
made the latest operations; and the verdicts of ``annotator review --approve / --needs-work``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from annotator.core.words import plural, span
from annotator.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("status", help="a project's segments with their review state and active "
                                      "time, and who made its latest changes")
    p.add_argument("project", type=Path, metavar="DIR")
    p.add_argument("--history", type=int, default=10, metavar="N",
                   help="the newest N operations with who made them (default 10, 0: none)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)


def status_dict(project) -> dict:
    from annotator.core.active_time import active_seconds
    from annotator.core.review import review_summary

    store = project.store
    review = review_summary(store)
    active = active_seconds(store)
    rows = []
    for r in review["segments"]:
        rows.append({**r, "active_s": round(active.by_segment.get(r["segment_id"], 0.0), 1)})
    return {"project": str(project.dir), "review": review["overall"],
            "review_counts": review["counts"], "segments": rows,
            "active_s": round(active.total, 1),
            "active_by_person": {k: round(v, 1) for k, v in active.by_person.items()},
            "active_by_day": {k: round(v, 1) for k, v in active.by_day.items()},
            "active_off_segments_s": round(active.by_segment.get(None, 0.0), 1)}


def cmd_status(args: argparse.Namespace) -> int:
    from annotator.core.project import Project

    with Project.open(args.project, readonly=True) as project:
        out = status_dict(project)
        ops = project.store.history(max(0, args.history)) if args.history > 0 else []
    out["history"] = [{"id": o.id, "kind": o.kind, "label": o.label, "author": o.author,
                       "created": o.created, "undone": o.undone} for o in ops]
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from annotator.core.review import STATE_WORDS

    counts = ", ".join(f"{n} {STATE_WORDS[k]}" for k, n in out["review_counts"].items() if n)
    print(f"project   {out['project']}")
    print(f"review    {out['review']}" + (f" ({counts})" if counts else ""))
    people = ", ".join(f"{k} {span(v)}" for k, v in out["active_by_person"].items())
    print(f"active    {span(out['active_s'])}" + (f" ({people})" if people else "")
          + (f"; {span(out['active_off_segments_s'])} on no segment"
             if out["active_off_segments_s"] else ""))
    if out["segments"]:
        print(f"{'segment':>7}  {'object':14s} {'frames':>11}  {'active':>10}  review")
    for r in out["segments"]:
        said = f"{r['words']}"
        if r["by"]:
            said += f" by {r['by']}"
        if r["comment"]:
            said += f" at frame {r['frame']}: {r['comment']}"
        print(f"{r['segment_id']:>7}  {str(r['object'])[:14]:14s} "
              f"{r['start']:>5}–{r['end']:<5}  {span(r['active_s']):>10}  {said}")
    if ops:
        print(f"latest    {plural(len(ops), 'operation')}, newest first:")
        for o in ops:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(o.created))
            undone = " (undone)" if o.undone else ""
            print(f"  {when}  {o.author or 'unknown':12.12s} {o.label or o.kind}{undone}")
    return 0


def cmd_verdict(args: argparse.Namespace) -> int:
    """``annotator review DIR --approve SEG`` / ``--needs-work SEG --comment TEXT [--frame F]``."""
    from annotator.core.project import Project
    from annotator.core.review import segment_reviews

    approve, needs = getattr(args, "approve", None), getattr(args, "needs_work", None)
    seg = approve if approve is not None else needs
    state = "approved" if approve is not None else "needs_work"
    if state == "needs_work" and not (args.comment or "").strip():
        raise UserError("--needs-work needs --comment TEXT saying what needs work (and "
                        "--frame F, the frame it is about)")
    with Project.open(args.project) as project:
        store = project.store
        store.add_review(seg, state, comment=args.comment, frame=args.frame)
        r = segment_reviews(store)[seg]
    where = f" at frame {r.frame}" if r.comment else ""
    print(f"segment {seg}: {r.words} by {r.by}{where}" + (f": {r.comment}" if r.comment else ""))
    return 0
