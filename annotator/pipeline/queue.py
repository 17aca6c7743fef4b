"""What the GUI and the CLI call: propagate a project, many projects, or re-propagate a fix.

* :func:`propagate_project` — every pass of a project (or of some segments), in frame order,
  one :class:`~annotator.pipeline.job.PropagationJob` each; finished passes are skipped,
  interrupted ones resume.
* :func:`propagate_projects` — a queue over many project folders (each opened, locked and
  closed in turn).
* :func:`repropagate` — after a correction: only the frames whose nearest anchor is the
  corrected frame, forward and/or backward; the replaced masks stay as revisions and the whole
  re-propagation is one undo step.

All take ``on_progress`` (a plain callable, called on a worker thread) and ``cancel`` (a
:class:`threading.Event`: the frame in flight is finished and kept, nothing else starts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from annotator.core.project import Project
from annotator.engines.propagator import Propagator, available_engines, make_propagator
from annotator.errors import UserError
from annotator.pipeline.job import JobResult, ProgressCallback, PropagationJob
from annotator.pipeline.plan import BACKWARD, FORWARD, PassPlan, plan_passes, plan_repropagation
from annotator.pipeline.policy import RefinePolicy

ENGINE_CHOICES = ("auto", "xmem", "fallback")


def choose_engine(name: str | None = "auto") -> Propagator:
    """The propagator called ``name`` (``auto``/None: the best one whose model files exist)."""
    if name in (None, "auto"):
        return make_propagator(None)
    if name not in available_engines():
        known = ", ".join(available_engines())
        raise UserError(f"propagation engine {name!r} is not available here (available: {known});"
                        " for xmem, install its model file (annotator models)")
    return make_propagator(name)


def make_refiner(policy: RefinePolicy, engine: Propagator):
    """The SAM refiner for ``engine`` when the policy wants one and it can run, else None
    (``auto`` on a machine where SAM would run on the CPU: none, see ``policy.py``)."""
    if policy.mode == "off":
        return None
    if policy.mode == "auto":
        from annotator.engines.devices import choose_device

        if policy.resolve(choose_device().device.type).mode == "off":
            return None
    try:
        from annotator.engines.refiner import make_refiner as _make
    except ImportError:
        return None
    return _make(engine)


def propagate_project(project: Project, *, segments: list[int] | None = None,
                      engine: Propagator | str | None = "auto",
                      refine: RefinePolicy | str | None = None, refiner=None,
                      on_progress: ProgressCallback | None = None,
                      on_job: Callable[[PassPlan, JobResult | None], None] | None = None,
                      cancel: threading.Event | None = None) -> list[JobResult]:
    """Propagate every pass of ``project`` (``segments``: only those); one result per pass.

    ``on_job(plan, None)`` is called before a pass starts and ``on_job(plan, result)`` after.
    """
    cancel = cancel or threading.Event()
    prop = engine if engine is not None and not isinstance(engine, str) else choose_engine(engine)
    policy = RefinePolicy.parse(refine)
    if refiner is None:
        refiner = make_refiner(policy, prop)
    plans = plan_passes(project.store, segments)
    results: list[JobResult] = []
    video = project.open_video() if any(p.runs for p in plans) else None
    try:
        for plan in plans:
            if cancel.is_set():
                break
            if on_job:
                on_job(plan, None)
            job = PropagationJob(project, plan, prop, refiner=refiner, policy=policy,
                                 on_progress=on_progress, cancel=cancel, video=video)
            result = job.run()
            results.append(result)
            if on_job:
                on_job(plan, result)
    finally:
        if video is not None:
            video.close()
    return results


def propagate_projects(dirs: Iterable[str | Path], **kwargs) -> dict[Path, list[JobResult]]:
    """:func:`propagate_project` over many project folders, one after the other (the engine
    and the refiner are loaded once for all of them)."""
    out: dict[Path, list[JobResult]] = {}
    engine = kwargs.get("engine", "auto")
    if engine is None or isinstance(engine, str):
        kwargs["engine"] = engine = choose_engine(engine)
    policy = RefinePolicy.parse(kwargs.get("refine"))
    if kwargs.get("refiner") is None:
        kwargs["refiner"] = make_refiner(policy, engine)
        if kwargs["refiner"] is None:
            kwargs["refine"] = "off"
    cancel = kwargs.get("cancel")
    for d in dirs:
        if cancel is not None and cancel.is_set():
            break
        with Project.open(d) as project:
            out[Path(d)] = propagate_project(project, **kwargs)
    return out


def repropagate(project: Project, object_id: int, frame: int, *,
                directions: tuple[str, ...] = ("forward", "backward"),
                engine: Propagator | str | None = "auto",
                refine: RefinePolicy | str | None = None, refiner=None,
                on_progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> JobResult:
    """Re-propagate ``object_id`` from its (corrected) anchor ``frame``.

    Only frames between ``frame`` and its neighbouring anchors are touched — those whose
    nearest anchor ``frame`` now is; other objects' masks there win over the new ones. The
    replaced masks stay as revisions; the call is one undo step (``store.undo()``).
    ``directions``: ``forward``, ``backward`` or both ("propagate from here").
    """
    dirs = tuple({"forward": FORWARD, "backward": BACKWARD}[d] for d in directions)
    plan = plan_repropagation(project.store, object_id, frame, dirs)
    prop = engine if engine is not None and not isinstance(engine, str) else choose_engine(engine)
    policy = RefinePolicy.parse(refine)
    if refiner is None:
        refiner = make_refiner(policy, prop)
    job = PropagationJob(project, plan, prop, refiner=refiner, policy=policy,
                         on_progress=on_progress, cancel=cancel,
                         label=f"Re-propagate {project.store.object(object_id).name} "
                               f"from frame {frame}")
    # a re-propagation always runs anew: forget a finished job row of the same anchor
    row = project.store.job(job.key)
    if row and row["state"] == "done":
        project.store.job_update(job.key, params={"fingerprint": None})
    return job.run()
