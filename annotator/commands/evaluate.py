"""``annotator evaluate``: score a prediction or a second annotator against ground truth with
the LU-AVS metrics (m_tIoU, m_vIoU, m_tF, m_vF, their box variants, t_IoU, J, F, J&F)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a prediction or a second annotator against "
                                        "ground truth (LU-AVS metrics)")
    p.add_argument("--gt", type=Path, required=True,
                   help="ground truth: a project folder or an LU-AVS export (folder or JSON)")
    p.add_argument("--pred", type=Path, required=True,
                   help="what is scored: a project folder or an LU-AVS export (folder or JSON)")
    p.add_argument("--per", choices=["category", "video", "segment"],
                   help="also a row per category (the default table has them), video or "
                        "segment")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--csv", type=Path, metavar="FILE", help="write a row per segment to FILE")
    p.add_argument("--symmetric", action="store_true",
                   help="agreement of two annotators: the mean of both directions")
    p.add_argument("--end", choices=["inclusive", "exclusive"],
                   help="LU-AVS files' end convention (default: their format.json, else "
                        "inclusive)")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from annotator.pipeline import evaluate as E
    from annotator.pipeline.track_sources import open_tracks

    with open_tracks(args.gt, end=args.end) as gt, open_tracks(args.pred, end=args.end) as pred:
        gt_videos = {t.video for t in gt}
        pred = _same_video_names(gt_videos, pred, args.pred)
        scores = E.evaluate(gt, pred, symmetric=args.symmetric)
    per = ("category",) + ((args.per,) if args.per and args.per != "category" else ())
    if args.csv:
        E.write_csv(scores, args.csv)
    if args.json:
        print(json.dumps(scores.to_json(per=per), indent=1))
    else:
        print(E.render_table(scores, per=per))
    return 0


def _same_video_names(gt_videos: set[str], pred: list, where: Path) -> list:
    """A project beside an export of the same video: a prediction with one video that the
    ground truth does not name is taken as the ground truth's only video (a project's video
    name need not be the release's id)."""
    from dataclasses import replace

    pred_videos = {t.video for t in pred}
    if len(gt_videos) == 1 and len(pred_videos) == 1 and gt_videos != pred_videos:
        (vid,) = gt_videos
        return [replace(t, video=vid) for t in pred]
    return pred
