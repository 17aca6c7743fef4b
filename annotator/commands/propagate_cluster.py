"""``annotator propagate DIR … --cluster ray|auto|ray://HOST:PORT``: the batch on Ray.

Lines for the person (stdout: one per project event; stderr: the projects in flight and the
total, redrawn on a terminal, every few seconds otherwise), or with ``--json`` one JSON event
per line on stdout. Ctrl-C: running projects stop after the frame in flight, queued ones are
cancelled (exit 130); Ctrl-C again aborts at once. Exit 2 when a project failed or was
skipped (open elsewhere), as the local queue does.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from annotator.errors import UserError
from annotator.pipeline.cluster_events import PROGRESS, Tally, describe


def add_options(p) -> None:
    """``--cluster``, ``--retries``, ``--json`` on the ``propagate`` parser."""
    p.add_argument("--cluster", default=None, metavar="ray|auto|ray://HOST:PORT",
                   help="run the batch on Ray, one task per project: ray = a local instance, "
                        "auto = the cluster of 'ray start', ray://HOST:PORT = the Ray Client "
                        "(needs the cluster extra: pip install 'avs-annotator[cluster]')")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="with --cluster: run a project again up to N times when its worker is "
                        "lost (default 3); it resumes from its checkpoints")
    p.add_argument("--json", action="store_true",
                   help="with --cluster: one JSON event per line (start, progress, done, "
                        "failed, skipped, retry, cancelled, batch)")


class _Live:
    """The projects in flight and the total on stderr."""

    def __init__(self, tally: Tally, stream=None) -> None:
        self.tally = tally
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._lines = 0
        self._last = 0.0

    def clear(self) -> None:
        if self.tty and self._lines:
            self.stream.write("\x1b[F\x1b[K" * self._lines)
            self._lines = 0

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else 5.0):
            return
        self._last = now
        running = [s.line() for s in self.tally.projects.values() if s.state == "running"]
        lines = [f"  {line}" for line in running] + [self.tally.total_line()]
        self.clear()
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()
        self._lines = len(lines) if self.tty else 0


def run(args: argparse.Namespace) -> int:
    from annotator.commands.interrupt import stop_on_sigint
    from annotator.pipeline.cluster import parse_cluster, require_ray, run_batch

    if args.segment:
        raise UserError("--segment names a segment of one project; --cluster runs whole "
                        "projects: drop one of them")
    parse_cluster(args.cluster)  # a wrong value: one line, before Ray starts
    require_ray()
    cancel = threading.Event()
    tally = Tally(str(d.resolve()) for d in args.projects)
    live = _Live(tally)

    def on_event(ev: dict) -> None:
        tally.add(ev)
        if args.json:
            print(json.dumps(ev), flush=True)
            return
        if ev["event"] != PROGRESS:
            live.clear()
            print(describe(ev), flush=True)
        live.draw(force=live.tty and ev["event"] not in (PROGRESS, "batch"))

    with stop_on_sigint(cancel, "every project after the frame in flight"):
        report = run_batch(args.projects, cluster=args.cluster, engine=args.engine,
                           refine=args.refine, device=args.device, precision=args.precision,
                           max_retries=max(0, args.retries), on_event=on_event, cancel=cancel)
    if not args.json:
        live.clear()
    bad = report.by_state("failed") + report.by_state("skipped")
    if bad and not args.json:
        print(f"annotator: {len(bad)} of {len(args.projects)} projects failed or were skipped: "
              f"{', '.join(bad)}", file=sys.stderr)
    if report.cancelled or cancel.is_set():
        return 130
    return 2 if bad else 0
