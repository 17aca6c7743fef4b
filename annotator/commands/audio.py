"""``annotator propose DIR``: audible spans proposed from the audio, headless.

Builds the project's audio analysis cache when needed (``cache/audio``), runs the weight-free
sound-activity detector (:mod:`annotator.core.sound_activity`) and stores its spans as the
project's open proposals (accepted and rejected ones stay). A proposal is never a segment: a
person accepts it for an object in the window's sound row.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from annotator.core.words import plural
from annotator.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("propose", help="propose audible spans from the audio (sound-activity "
                                       "detector); a person accepts or rejects them")
    p.add_argument("project", type=Path, metavar="DIR", help="project folder")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a detector parameter (repeatable), e.g. on_db=15; see "
                        "annotator.core.sound_activity.DEFAULTS")
    p.set_defaults(func=cmd_propose)


def _params(items: list[str]) -> dict[str, float]:
    from annotator.core.sound_activity import DEFAULTS

    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in DEFAULTS:
            raise UserError(f"--param {item!r}: expected NAME=VALUE with NAME one of "
                            f"{', '.join(DEFAULTS)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise UserError(f"--param {item!r}: {value!r} is not a number") from None
    return out


class _Progress:
    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = -1
        self.tty = sys.stderr.isatty()

    def __call__(self, fraction: float) -> None:
        pct = int(100 * fraction)
        if self.tty and pct != self.shown:
            self.shown = pct
            sys.stderr.write(f"\r{self.label}: {pct:3d}%")
            sys.stderr.flush()

    def end(self) -> None:
        if self.tty and self.shown >= 0:
            sys.stderr.write("\n")


def cmd_propose(args: argparse.Namespace) -> int:
    from annotator.core.audio import AudioAnalysis
    from annotator.core.project import Project
    from annotator.core.sound_activity import propose

    params = _params(args.param)
    with Project.open(args.project) as project:
        store = project.store
        with project.open_video(readahead=0) as video:
            analysis = AudioAnalysis(video, project.cache_dir)
            if not analysis.has_audio:
                if args.json:
                    print(json.dumps({"project": str(project.dir), "video": str(video.path),
                                      "has_audio": False, "proposals": []}, indent=2))
                else:
                    print(f"{video.path} has no audio track: nothing to propose")
                return 0
            if not analysis.ready:
                bar = _Progress(f"analysing the audio of {video.path.name}")
                try:
                    analysis.build(progress=bar)
                finally:
                    bar.end()
            spans = propose(store, video, analysis, **params)
            times = video.times
            n, duration = len(video), video.duration

            def seconds(p) -> tuple[float, float]:
                end = float(times[p.end + 1]) if p.end + 1 < n else duration
                return round(float(times[p.start]), 3), round(end, 3)

            rows = []
            for p in store.proposals():
                s, e = seconds(p)
                rows.append({"id": p.id, "start": p.start, "end": p.end, "start_s": s,
                             "end_s": e, "score": None if p.score is None else round(p.score, 2),
                             "state": p.state, "segment_id": p.segment_id})
    if args.json:
        print(json.dumps({"project": str(project.dir), "video": str(video.path),
                          "has_audio": True, "detected": len(spans), "proposals": rows},
                         indent=2))
        return 0
    for r in rows:
        score = "" if r["score"] is None else f"  score {r['score']:5.1f} dB"
        span = f"{r['start_s']:.2f}–{r['end_s']:.2f} s"
        print(f"{r['id']:5d}  frames {r['start']:6d}–{r['end']:<6d} {span:>20s}{score}  "
              f"{r['state']}")
    counts = {s: sum(r["state"] == s for r in rows) for s in ("open", "accepted", "rejected")}
    print(f"{plural(len(spans), 'audible span')} detected; proposals: {counts['open']} open, "
          f"{counts['accepted']} accepted, {counts['rejected']} rejected (accept or reject "
          "them in the window's sound row)")
    return 0
