"""Propagation jobs as the window starts them: one call into :mod:`annotator.pipeline` each.

The pipeline does the work (passes of overlapping objects, refinement, flags, resume, one undo
operation per job, every frame its own transaction). These wrappers run on a
:class:`~annotator.gui.workers.JobWorker` thread: they translate the pipeline's progress
callback into the worker's signals (progress, and the (object, frame) keys that just landed so
the canvas repaints them) and its results into one
:class:`~annotator.pipeline.outcome.JobOutcome` for the status bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotator import settings
from annotator.core.words import plural
from annotator.pipeline.outcome import JobOutcome, summarize


def options() -> dict[str, Any]:
    """Engine and refine policy from the preferences (the JSON settings); a refine policy the
    pipeline does not know is a ``UserError`` naming the settings file."""
    from annotator.errors import UserError
    from annotator.pipeline.policy import RefinePolicy

    refine = settings.get("pipeline.refine")
    try:
        RefinePolicy.parse(refine)
    except UserError:
        raise UserError(f"the settings file {settings.settings_path()}: pipeline.refine must be "
                        f"auto, every, k=N (N ≥ 1), uncertain or off, not {refine!r}: choose "
                        "one in Edit ▸ Preferences ▸ Engines") from None
    return {"engine": settings.get("engines.propagator"), "refine": refine}


class _Relay:
    """Pipeline callbacks → worker signals."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.objects: list[int] = []
        self.notes: list[str] = []  # what the person should know (a CUDA OOM moved the job …)

    def on_message(self, text: str) -> None:
        self.notes.append(text)

    def on_job(self, plan: Any, result: Any) -> None:
        if result is None:
            self.objects = list(plan.object_ids)

    def on_progress(self, pr: Any) -> None:
        if getattr(pr, "replaying", False):  # resuming: the engine catches up, nothing lands
            self.ctx.progress(pr.done, pr.total, f"resuming: replaying frame {pr.frame}")
            return
        self.ctx.progress(pr.done, pr.total, f"frame {pr.frame}")
        self.ctx.frames([(o, pr.frame) for o in self.objects])


def propagate_segments(project: Any, segment_ids: list[int] | None, ctx: Any,
                       boxes: list[int] = ()) -> JobOutcome:
    """Propagate the given segments (None: all) from their anchors, then track the boxes of
    the box-only segments ``boxes`` (:mod:`annotator.pipeline.box_tracking`)."""
    from annotator.pipeline.queue import propagate_project

    relay = _Relay(ctx)
    results = []
    if segment_ids is None or segment_ids:
        results = propagate_project(project, segments=segment_ids,
                                    on_progress=relay.on_progress, on_job=relay.on_job,
                                    cancel=ctx.cancel_event, on_message=relay.on_message,
                                    **options())
    label = "Propagate all segments" if segment_ids is None else "Propagate segment"
    out = summarize(results, label, project.store)
    out.skipped = relay.notes + out.skipped
    if boxes and not ctx.cancel_event.is_set():
        track_boxes(project, list(boxes), ctx, out)
    if not results and not boxes:
        out.skipped.append("Nothing to propagate: no segment has an accepted mask yet")
    return out


def track_boxes(project: Any, segment_ids: list[int], ctx: Any, out: JobOutcome) -> None:
    """Box tracking of the box-only segments ``segment_ids``, counted into ``out``."""
    from annotator.pipeline.box_tracking import track_box_segments
    from annotator.pipeline.queue import choose_engine

    store = project.store
    objects = sorted({store.segment(sid).object_id for sid in segment_ids})

    def progress(done: int, total: int, frame: int) -> None:
        ctx.progress(done, total, f"box tracking: frame {frame}")
        ctx.frames([(oid, frame) for oid in objects])  # the canvas repaints the frame

    for r in track_box_segments(project, choose_engine(options()["engine"]),
                                segments=segment_ids, progress=progress,
                                cancel=ctx.cancel_event):
        out.boxes += r.written
        out.kept += r.kept
        out.boxes_already += r.state == "already"
        out.cancelled = out.cancelled or r.state == "cancelled"
        out.states.append(r.state)
        if r.state == "skipped":
            seg = store.segment(r.segment_id)
            out.skipped.append(f"{store.object(seg.object_id).name} frames {seg.start}–"
                               f"{seg.end}: every box keyframe is an outside one — draw the "
                               "object's box with K on a frame where it is visible")


def masks_from_boxes(project: Any, segment_id: int, ctx: Any) -> JobOutcome:
    """Propagate ▸ Masks from boxes: a box-only segment's keyframe boxes become anchor masks
    (the segmenter's), then the segment is propagated from them; the boxes stay."""
    from annotator.core.box_tracks import box_only
    from annotator.pipeline.box_tracking import masks_from_boxes as anchors_from_boxes

    store = project.store
    seg = store.segment(segment_id)
    name = store.object(seg.object_id).name
    label = f"Masks from boxes, {name} {seg.start}–{seg.end}"
    if not box_only(store, seg.object_id, seg.start, seg.end):
        has = store.masks_of(seg.object_id, seg.start, seg.end)
        why = ("it has masks already (they stay as they are)" if has else
               "it has no box keyframe: draw the object's box with K first")
        return JobOutcome(label, skipped=[f"{name} frames {seg.start}–{seg.end}: no masks "
                                          f"made from boxes, {why}"])
    n = anchors_from_boxes(project, seg)
    if n == 0:
        return JobOutcome(label, sync_history=True, skipped=[
            f"{name} frames {seg.start}–{seg.end}: every box keyframe is an outside one — "
            "draw the object's box with K on a frame where it is visible"])
    out = propagate_segments(project, [segment_id], ctx)
    out.label, out.anchors = label, n
    return out


def repropagate(project: Any, object_id: int, frame: int, ctx: Any,
                directions: tuple[str, ...] = ("forward", "backward")) -> JobOutcome:
    """From the anchor on ``frame`` up to the neighbouring anchors (``directions``)."""
    from annotator.pipeline.queue import repropagate as run

    relay = _Relay(ctx)
    relay.objects = [object_id]
    result = run(project, object_id, frame, directions=directions,
                 on_progress=relay.on_progress, cancel=ctx.cancel_event,
                 on_message=relay.on_message, **options())
    word = {("forward",): "forward", ("backward",): "backward"}.get(directions, "around")
    out = summarize([result], f"Re-propagate {word} from frame {frame}", project.store)
    out.skipped = relay.notes + out.skipped
    return out


def batch(folders: list[str | Path], ctx: Any) -> JobOutcome:
    """Propagate every segment of several projects, one after the other (or on Ray, one
    task per project, when the batch dialog chose a cluster: :mod:`gui.batch_ray`)."""
    from annotator.pipeline.queue import propagate_projects

    cluster = settings.get("pipeline.cluster")
    if cluster:
        from annotator.gui.batch_ray import batch_on_ray

        return batch_on_ray(folders, cluster, ctx, **options())
    relay = _Relay(ctx)
    relay.objects = []
    by_project = propagate_projects([Path(f) for f in folders], on_progress=relay.on_progress,
                                    cancel=ctx.cancel_event, **options())
    lines, frames = [], 0
    for path, results in by_project.items():
        s = summarize(results, path.name)
        tracked = _batch_boxes(path, ctx, s) if not ctx.cancel_event.is_set() else ""
        frames += s.frames
        lines.append(f"{path.name}: {plural(s.frames, 'mask')}, {s.flagged} flagged{tracked}")
    return JobOutcome("Batch", message="Batch: " + ("; ".join(lines) or "nothing to do"),
                      frames=frames, cancelled=ctx.cancelled())


def _batch_boxes(path: Path, ctx: Any, out: JobOutcome) -> str:
    """Track the box-only segments of the batch's project ``path`` after its masks (as
    ``annotator propagate`` and P do); the words the batch's line adds ("" when none)."""
    from annotator.core.project import Project
    from annotator.pipeline.box_tracking import box_jobs

    with Project.open(path) as project:
        todo = sorted(box_jobs(project.store))
        if not todo:
            return ""
        track_boxes(project, todo, ctx, out)
    if out.boxes:
        return f", {plural(out.boxes, 'box', 'boxes')} tracked"
    return ", boxes already tracked" if out.boxes_already else ""
