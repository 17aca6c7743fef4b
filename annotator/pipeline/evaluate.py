"""The LU-AVS metrics: predicted audible segments (:class:`~annotator.core.tracks.Track`) scored
against ground-truth ones, the definitions of docs/evaluate.md.

::

    scores = evaluate(gt_tracks, pred_tracks)              # or symmetric=True (two annotators)
    scores.overall["m_vIoU"]; scores.per_category["guitar"]["J&F"]; scores.rows[0]
    print(render_table(scores, per=("category",))); write_csv(scores, "segments.csv")
    json.dumps(scores.to_json(per=("video",)))

Each GT segment is matched to the prediction of its label in its video with the largest
temporal IoU (:func:`match`), then scored frame by frame over its own range (:func:`score_segment`):
one frame of each side in memory at a time, each mask decoded once. Every number is a mean over
segments; groups (category, video) are means over their segments.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from annotator.core.quality import boundary_f_measure
from annotator.core.tracks import Track, box_of
from annotator.errors import UserError

__all__ = ["METRICS", "Scores", "avs_f_measure", "box_iou", "evaluate", "match", "percent",
           "render_table", "score_segment", "temporal_iou", "write_csv"]

METRICS = ("m_tIoU", "m_vIoU", "m_tF", "m_vF", "m_tIoU_box", "m_vIoU_box", "t_IoU",
           "J", "F", "J&F")
BETA2 = 0.3  # the AVS F-measure's β² (weights precision)
PER = ("category", "video", "segment")
#: ``on_frame(g, t, iou, n_gt, n_pred)``: one scored frame of the GT segment ``g``
OnFrame = Callable[[Track, int, float, int, int], None]


def temporal_iou(a: Track, b: Track) -> Fraction:
    """|frames in both| / |frames in either| of two closed ranges, exactly (0 when disjoint)."""
    inter = min(a.end, b.end) - max(a.start, b.start) + 1
    if inter <= 0:
        return Fraction(0)
    return Fraction(inter, a.length + b.length - inter)


def match(g: Track, pred: Sequence[Track]) -> Track | None:
    """The prediction ``g`` is scored against: same video and label, largest temporal IoU > 0;
    ties go to the one with ``g``'s name, then the earliest start (then end, then input
    order). None when no prediction of that label overlaps ``g`` in time."""
    best, best_key = None, None
    for i, p in enumerate(pred):
        if p.video != g.video or p.label != g.label:
            continue
        tiou = temporal_iou(g, p)
        if tiou <= 0:
            continue
        key = (-tiou, p.name != g.name, p.start, p.end, i)
        if best_key is None or key < best_key:
            best, best_key = p, key
    return best


def avs_f_measure(inter: int, n_pred: int, n_gt: int, beta2: float = BETA2) -> float:
    """(1+β²)·prec·rec / (β²·prec + rec) from pixel counts; 1 when both masks are empty, 0 when
    one is (or when they do not meet)."""
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0 or inter == 0:
        return 0.0
    prec, rec = inter / n_pred, inter / n_gt
    return (1 + beta2) * prec * rec / (beta2 * prec + rec)


def box_iou(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """IoU of two ``[x0, y0, x1, y1]`` boxes (pixel edges, area (x1-x0)·(y1-y0)); 1 when neither
    side has a box, 0 when one has."""
    if a is None and b is None:
        return 1.0
    if a is None or b is None:
        return 0.0
    ax0, ay0, ax1, ay1 = (float(v) for v in a)
    bx0, by0, bx1, by1 = (float(v) for v in b)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    area_a = max(0.0, ax1 - ax0) * max(0.0, ay1 - ay0)
    union = area_a + max(0.0, bx1 - bx0) * max(0.0, by1 - by0) - inter
    if union <= 0:  # two degenerate (zero-area) boxes
        return 1.0 if np.array_equal(np.asarray(a), np.asarray(b)) else 0.0
    return inter / union


def _mask(track: Track, t: int) -> np.ndarray | None:
    m = track.mask(t)
    if m is None:
        return None
    m = np.asarray(m)
    if m.ndim != 2:
        raise UserError(f"{track.video}: frame {t}: the mask of {track.label!r} has shape "
                        f"{m.shape}, not H×W")
    return m.astype(bool, copy=False)


def _box(track: Track, t: int, mask: np.ndarray | None) -> np.ndarray | None:
    b = track.box(t)
    return box_of(mask) if b is None else b


def score_segment(g: Track, p: Track | None, tick: Callable[[], None] | None = None,
                  on_frame: Callable[[int, float, int, int], None] | None = None) -> dict:
    """One row: ``g``'s video, label, range and name, the matched span (``pred``: (start, end) or
    None) and every metric of :data:`METRICS` for this segment. ``on_frame(t, iou, n_gt,
    n_pred)``: each frame's IoU and both masks' pixel counts, as scored."""
    sums = dict.fromkeys(("iou", "f", "iou_in", "f_in", "box", "box_in", "bf"), 0.0)
    for t in range(g.start, g.end + 1):
        gm = _mask(g, t)
        in_p = p is not None and t in p
        pm = _mask(p, t) if in_p else None
        if gm is not None and pm is not None and gm.shape != pm.shape:
            raise UserError(f"{g.video}: frame {t}: the ground-truth mask of {g.label!r} is "
                            f"{gm.shape[1]}×{gm.shape[0]} but the predicted one is "
                            f"{pm.shape[1]}×{pm.shape[0]}; both must be the video's size")
        n_g = int(np.count_nonzero(gm)) if gm is not None else 0
        n_p = int(np.count_nonzero(pm)) if pm is not None else 0
        inter = int(np.count_nonzero(gm & pm)) if n_g and n_p else 0
        union = n_g + n_p - inter
        iou = 1.0 if union == 0 else inter / union
        f = avs_f_measure(inter, n_p, n_g)
        bi = box_iou(_box(g, t, gm), _box(p, t, pm) if in_p else None)
        if n_g == 0 and n_p == 0:
            bf = 1.0
        elif n_g == 0 or n_p == 0:
            bf = 0.0
        else:
            bf = boundary_f_measure(pm, gm)
        sums["iou"] += iou
        sums["f"] += f
        sums["box"] += bi
        sums["bf"] += bf
        if on_frame is not None:
            on_frame(t, iou, n_g, n_p)
        if in_p:
            sums["iou_in"] += iou
            sums["f_in"] += f
            sums["box_in"] += bi
        if tick is not None:
            tick()
    n = g.length
    tiou = temporal_iou(g, p) if p is not None else Fraction(0)
    n_union = n if p is None else max(g.end, p.end) - min(g.start, p.start) + 1  # they overlap
    row = {"video": g.video, "label": g.label, "start": g.start, "end": g.end, "name": g.name,
           "pred": (p.start, p.end) if p is not None else None,
           "m_tIoU": sums["iou"] / n, "m_vIoU": sums["iou_in"] / n_union,
           "m_tF": sums["f"] / n, "m_vF": sums["f_in"] / n_union,
           "m_tIoU_box": sums["box"] / n, "m_vIoU_box": sums["box_in"] / n_union,
           "t_IoU": float(tiou), "J": sums["iou"] / n, "F": sums["bf"] / n}
    row["J&F"] = (row["J"] + row["F"]) / 2
    return row


def _means(rows: Sequence[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
    out["n_segments"] = len(rows)
    return out


def _groups(rows: Sequence[dict], key: str) -> dict[str, dict]:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r[key], []).append(r)
    return {k: _means(v) for k, v in sorted(by.items())}


@dataclass
class Scores:
    """What :func:`evaluate` returns. ``overall`` and each group map every name of
    :data:`METRICS` to a value in [0, 1] (groups also hold their ``n_segments``); ``rows`` are
    the segments as :func:`score_segment` gives them, with ``direction`` ("gt": a GT segment
    against the predictions, "pred": symmetric mode's other half)."""

    overall: dict[str, float]
    n_segments: int
    per_category: dict[str, dict]
    per_video: dict[str, dict] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    symmetric: bool = False

    def to_json(self, per: Iterable[str] = ()) -> dict:
        """A JSON-ready dict: the metrics, ``n_segments``, ``per_category``; ``per_video`` and
        ``per_segment`` (the rows) when ``per`` names "video" / "segment"."""
        per = _check_per(per)
        out: dict = {k: self.overall[k] for k in METRICS}
        out["n_segments"] = self.n_segments
        out["per_category"] = self.per_category
        if "video" in per:
            out["per_video"] = self.per_video
        if "segment" in per:
            out["per_segment"] = [dict(r, pred=list(r["pred"]) if r["pred"] else None)
                                  for r in self.rows]
        return out


def _check_per(per: Iterable[str]) -> tuple[str, ...]:
    per = (per,) if isinstance(per, str) else tuple(per)
    for p in per:
        if p not in PER:
            raise UserError(f"unknown grouping {p!r}: one of {', '.join(PER)}")
    return per


def _one_way(ref: Sequence[Track], other: Sequence[Track], direction: str,
             tick: Callable[[], None], on_frame: OnFrame | None = None) -> list[dict]:
    by: dict[tuple[str, str], list[Track]] = {}  # a dataset has thousands of videos
    for p in other:
        by.setdefault((p.video, p.label), []).append(p)
    return [dict(score_segment(g, match(g, by.get((g.video, g.label), ())), tick,
                               None if on_frame is None else
                               (lambda t, iou, n_g, n_p, g=g: on_frame(g, t, iou, n_g, n_p))),
                 direction=direction) for g in ref]


def _average(a: dict, b: dict) -> dict:
    """Two directions' groups averaged key by key; a group only one direction has keeps its
    numbers (the other direction had no segment of it to score)."""
    out = {}
    for k in sorted(set(a) | set(b)):
        if k in a and k in b:
            out[k] = {m: (a[k][m] + b[k][m]) / 2 for m in METRICS}
            out[k]["n_segments"] = a[k]["n_segments"] + b[k]["n_segments"]
        else:
            out[k] = dict(a.get(k) or b[k])
    return out


def evaluate(gt: Sequence[Track], pred: Sequence[Track], *, symmetric: bool = False,
             progress: Callable[[int, int], None] | None = None,
             on_frame: OnFrame | None = None) -> Scores:
    """Score ``pred`` against ``gt`` (docs/evaluate.md). ``symmetric``: also score ``gt``
    against ``pred`` and average every number of the two directions (the agreement of two
    annotators; ``n_segments`` then counts both sides' segments). ``progress(done, total)``:
    frames scored so far, after each frame. ``on_frame(g, t, iou, n_gt, n_pred)``: every
    scored frame ``t`` of the GT segment ``g`` (of forward rows only) with its IoU and pixel
    counts (what :mod:`annotator.pipeline.disagreement` ranks)."""
    gt, pred = list(gt), list(pred)
    total = sum(g.length for g in gt) + (sum(p.length for p in pred) if symmetric else 0)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    forward = _one_way(gt, pred, "gt", tick, on_frame)
    backward = _one_way(pred, gt, "pred", tick) if symmetric else []
    if not forward and not backward:
        raise UserError("no ground-truth segments to score (and none predicted)" if symmetric
                        else "no ground-truth segments to score")
    halves = [rows for rows in (forward, backward) if rows]
    overall = {m: float(np.mean([_means(rows)[m] for rows in halves])) for m in METRICS}
    cats = [_groups(rows, "label") for rows in halves]
    vids = [_groups(rows, "video") for rows in halves]
    if len(halves) == 2:
        cats, vids = [_average(*cats)], [_average(*vids)]
    return Scores(overall=overall, n_segments=len(forward) + len(backward),
                  per_category=cats[0], per_video=vids[0], rows=forward + backward,
                  symmetric=symmetric)


def percent(x: float) -> str:
    """A metric as the tables print it: percent, one decimal ("-" for NaN)."""
    return "-" if math.isnan(x) else f"{100 * x:.1f}"


def render_table(scores: Scores, per: Iterable[str] = ("category",)) -> str:
    """A plain-text table: the overall line, then one line per category (and per video when
    ``per`` names "video", per segment for "segment"); metrics in percent, one decimal."""
    per = _check_per(per)
    lines: list[tuple[str, ...]] = [("", "n", *METRICS)]

    def add(name: str, d: dict, n: int) -> None:
        lines.append((name, str(n), *(percent(d[m]) for m in METRICS)))

    add("overall", scores.overall, scores.n_segments)
    if "category" in per:
        for name, d in scores.per_category.items():
            add(name, d, d["n_segments"])
    if "video" in per:
        for name, d in scores.per_video.items():
            add(name, d, d["n_segments"])
    if "segment" in per:
        for r in scores.rows:
            mark = " (pred)" if r["direction"] == "pred" else ""
            add(f"{r['video']} {r['label']} {r['start']}-{r['end']}{mark}", r, 1)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    def fmt(line: tuple[str, ...]) -> str:
        cells = (c.ljust(w) if i == 0 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths)))
        return "  ".join(cells).rstrip()

    return "\n".join(fmt(line) for line in lines) + "\n"


CSV_COLUMNS = ("direction", "video", "label", "start", "end", "name", "pred_start", "pred_end",
               *METRICS)


def write_csv(scores: Scores, path: str | Path) -> Path:
    """The per-segment rows as CSV (UTF-8, a header line; metrics as fractions in [0, 1],
    ``pred_start``/``pred_end`` empty for an unmatched segment)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in scores.rows:
            span = r["pred"] or ("", "")
            w.writerow([r["direction"], r["video"], r["label"], r["start"], r["end"], r["name"],
                        *span, *(f"{r[m]:.6f}" for m in METRICS)])
    return path
