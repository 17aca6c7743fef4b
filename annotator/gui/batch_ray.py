"""The window's batch on Ray (*Propagate ▸ Batch*, "Run on" a Ray choice): the job body.

Runs on the window's job worker thread, like :func:`annotator.gui.jobs.batch`: the cluster
driver (:func:`annotator.pipeline.cluster.run_batch`) reports plain events; the status shows
the lines the terminal shows (the latest project event and the total), the progress bar the
masks done of all projects. Cancel sets the batch's cancel: running projects stop after the
frame in flight, queued ones never start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotator.pipeline.cluster_events import PROGRESS, Tally, describe
from annotator.pipeline.outcome import JobOutcome


def batch_on_ray(folders: list[str | Path], cluster: str, ctx: Any,
                 **options: Any) -> JobOutcome:
    from annotator.pipeline.cluster import run_batch

    tally = Tally(str(Path(f).resolve()) for f in folders)
    last = [""]

    def on_event(ev: dict) -> None:
        tally.add(ev)
        if ev["event"] != PROGRESS and ev["event"] != "batch":
            last[0] = describe(ev) or last[0]
        done, total = tally.masks()
        ctx.progress(done, max(total, 1), f"{last[0]} — {tally.total_line()}".lstrip(" —"))

    report = run_batch(folders, cluster=cluster, cancel=ctx.cancel_event, on_event=on_event,
                       **options)
    lines = [tally.projects[p].line() for p in tally.projects]
    summary = describe(report.summary) or ""
    return JobOutcome("Batch", message=f"Batch on Ray ({cluster}): {summary}: " + "; ".join(lines),
                      frames=report.summary.get("written", 0), cancelled=report.cancelled)
