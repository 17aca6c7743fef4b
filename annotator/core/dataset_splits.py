"""Splitting a dataset into train / val / test by video, stratified by category.

:func:`stratified` puts each video in the stratum of its *rarest* category (the one fewest
videos of the dataset use; a video without objects has a stratum of its own), shuffles each
stratum with ``random.Random(seed)`` over the sorted video ids, and walks the strata in turn,
giving a video to ``test`` while fewer than ``round(k × test)`` of the first ``k`` went
there, else to ``val`` likewise, else to ``train``: the totals are the requested shares of
the whole (to the nearest video) and every stratum gets its share within one video. The same
videos, categories and seed give the same split on any machine.

:func:`read_splits` reads a split from a file: CSV ``video,subset`` (or ``video_id,subset``)
or JSON ``{video_id: subset}`` / ``{subset: [video_id, …]}``.
"""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

from annotator.core.dataset_db import SUBSETS
from annotator.core.importers import ImportError_
from annotator.errors import UserError

NONE = ""  # the stratum of videos without a category


def stratified(categories: dict[str, set[str]], *, val: float, test: float,
               seed: int) -> dict[str, str]:
    """``{video_id: subset}`` (see the module doc); ``categories``: each video's categories."""
    for name, f in (("--val", val), ("--test", test)):
        if not (math.isfinite(f) and 0 <= f < 1):
            raise UserError(f"{name} {f}: a share of the videos, from 0 up to (not including) 1")
    if val + test >= 1:
        raise UserError(f"--val {val} and --test {test} leave no video for train; make them "
                        "add up to less than 1")
    count: dict[str, int] = {}
    for cats in categories.values():
        for c in cats:
            count[c] = count.get(c, 0) + 1
    strata: dict[str, list[str]] = {}
    for vid in sorted(categories):
        cats = categories[vid]
        key = min(cats, key=lambda c: (count[c], c)) if cats else NONE
        strata.setdefault(key, []).append(vid)
    rng = random.Random(seed)
    order: list[str] = []
    for key in sorted(strata, key=lambda k: (len(strata[k]), k)):
        members = strata[key]
        rng.shuffle(members)
        order += members
    out: dict[str, str] = {}
    n_test = n_val = 0
    for k, vid in enumerate(order, start=1):
        if n_test < round(k * test):
            out[vid], n_test = "test", n_test + 1
        elif n_val < round(k * val):
            out[vid], n_val = "val", n_val + 1
        else:
            out[vid] = "train"
    return out


def read_splits(path: str | Path) -> dict[str, str]:
    """``{video_id: subset}`` from a splits file (see the module doc), checked line by line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such splits file; give a CSV video,subset or a JSON "
                        "{video_id: subset}")
    text = path.read_text(encoding="utf-8-sig")
    pairs: list[tuple[str, object, object]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ImportError_(path, [f"not valid JSON ({exc})"]) from None
        if not isinstance(data, dict):
            raise ImportError_(path, ["expected {video_id: subset} or {subset: [video_id, …]}"])
        if data and all(isinstance(v, list) for v in data.values()):
            pairs = [(f"{s!r}", v, s) for s, vids in data.items() for v in vids]
        else:
            pairs = [(f"entry {k + 1}", v, s) for k, (v, s) in enumerate(data.items())]
    else:
        reader = csv.DictReader(text.splitlines())
        fields = {f.strip().lower() for f in reader.fieldnames or []}
        vcol = "video" if "video" in fields else "video_id"
        if vcol not in fields or "subset" not in fields:
            raise ImportError_(path, ["line 1: expected a header video,subset"])
        for r in reader:
            r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()
                 if isinstance(k, str)}
            pairs.append((f"line {reader.line_num}", r.get(vcol), r.get("subset")))
    out: dict[str, str] = {}
    problems = []
    for where, vid, subset in pairs:
        vid, subset = str(vid or "").strip(), str(subset or "").strip().lower()
        if not vid:
            problems.append(f"{where}: no video id")
        elif subset not in SUBSETS:
            problems.append(f"{where}: subset {subset[:40]!r} is not one of "
                            f"{', '.join(SUBSETS)}")
        elif vid in out and out[vid] != subset:
            problems.append(f"{where}: {vid} is in {out[vid]} already")
        else:
            out[vid] = subset
    if problems:
        raise ImportError_(path, problems)
    return out
