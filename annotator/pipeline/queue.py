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

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from annotator import settings
from annotator.core.project import Project
from annotator.engines import models, registry
from annotator.engines.engine_table import available_engines, kind_of
from annotator.engines.propagator import Propagator
from annotator.engines.refiner import PrototypeRefiner
from annotator.errors import UserError
from annotator.pipeline.job import JobResult, ProgressCallback, PropagationJob
from annotator.pipeline.plan import BACKWARD, FORWARD, PassPlan, plan_passes, plan_repropagation
from annotator.pipeline.policy import RefinePolicy

log = logging.getLogger(__name__)

WRITE_BACK_SETTING = "refine.write_back"  # refined masks go into XMem's memory (off: default)


def choose_engine(name: str | None = "auto", **options) -> Propagator:
    """The propagator a person asked for by ``name`` (``auto``/None: the best one whose model
    files exist), from the process's engine registry: XMem's network is loaded once, on its
    device. One that cannot run here is a ``UserError`` naming those that can."""
    if name in (None, "auto"):
        return registry.make_propagator(None, **options)
    if name not in available_engines():
        known = ", ".join(available_engines())
        raise UserError(f"propagation engine {name!r} is not available here (available: {known});"
                        " for xmem, install its model file (annotator models)")
    return registry.make_propagator(name, **options)


def make_refiner(policy: RefinePolicy, engine: Propagator,
                 cache_dir: str | Path | None = None) -> PrototypeRefiner | None:
    """The SAM refiner for ``engine`` when the refine policy wants one and SAM can run, else
    None: policy ``off``; ``auto`` where SAM really runs on the CPU (the loaded one, or the
    registry's device when none is loaded yet: see ``policy.py``); no SAM file installed (the
    weight-free segmenter does not refine: it would cost time without making masks better);
    ``auto`` with the SAM 2.1 propagator (its masks come out of a SAM mask decoder already, and
    it has no memory prototypes to prompt from: see docs/design.md).
    SAM is the process's one loaded model, its embeddings cached in ``cache_dir`` (None: in
    memory only); the ``refine.write_back`` setting says whether refined masks are written
    back into the propagator's memory."""
    if policy.mode == "off":
        return None
    if policy.mode == "auto" and kind_of(engine) == "sam2":
        return None  # SAM 2's masks are already a SAM decoder's (docs/design.md: refinement)
    if policy.mode == "auto":
        if models.find_sam() is None or policy.resolve(sam_device_type()).mode == "off":
            return None  # (no SAM: decided without choosing a device, so without torch)
    segmenter = registry.get().segmenter(cache_dir, allow_fallback=False)
    if segmenter is None:
        return None
    return PrototypeRefiner(segmenter, engine,
                            write_back=bool(settings.get(WRITE_BACK_SETTING, False)))


def sam_device_type() -> str:
    """The device type SAM runs on: asked of the loaded model, else where it will load."""
    reg = registry.get()
    loaded = reg.devices().get("SAM")
    return _device_type(loaded) if loaded else reg.choice.device.type


def _device_type(device) -> str:
    """``cuda`` for ``cuda:1`` or ``torch.device("cuda", 1)`` (no torch import needed)."""
    return str(getattr(device, "type", device)).split(":")[0]


def _is_oom(exc: BaseException) -> bool:
    import sys

    torch = sys.modules.get("torch")  # nothing ran out of CUDA memory in a run without torch
    return torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError)


def _run(project: Project, plan, prop, refiner, policy, on_message, **job_kw):
    """Run one job; after a CUDA out-of-memory, load the engines again on the CPU through the
    registry and let the job go on there from the last committed frame (nothing done is lost:
    every frame is committed in its own transaction). Returns (result, engine, refiner)."""
    job = PropagationJob(project, plan, prop, refiner=refiner, policy=policy, **job_kw)
    try:
        return job.run(), prop, refiner
    except BaseException as exc:
        if not _is_oom(exc) or prop_device_type(prop, refiner) == "cpu":
            raise
        msg = registry.get().fall_back_to_cpu(f"{project.dir}: {job.label}")
        (on_message or log.warning)(msg)
    prop, refiner = _on_cpu(prop, refiner)
    again = PropagationJob(project, plan, prop, refiner=refiner, policy=policy, **job_kw)
    row = project.store.job(again.key) or {}
    params = dict(row.get("params") or {})
    if params:  # the same job, now on the CPU: go on from its last committed frame
        params.update(fingerprint=again.fingerprint(), engine=prop.name)
        project.store.job_update(again.key, params=params)
    return again.run(), prop, refiner


def _on_cpu(prop, refiner):
    """The same kind of engine (and refiner) from the registry, which is on the CPU now."""
    name = kind_of(prop)
    options = {"size": prop.size} if hasattr(prop, "size") else {}
    if name == "xmem":
        options["config"] = prop.core.config
    prop = registry.get().propagator(name, **options)
    if refiner is not None:
        refiner = _rebind(refiner, prop)
    return prop, refiner


def _rebind(refiner, prop):
    """``refiner`` for the new engine ``prop``; its SAM (if SAM) the registry's, now on the
    CPU, with the same embedding cache folder."""
    import copy

    new = copy.copy(refiner)
    new.propagator = prop
    seg = refiner.segmenter
    if hasattr(seg, "share"):  # SAM: load it again where the registry now is
        folder = getattr(getattr(seg, "cache", None), "directory", None)
        new.segmenter = registry.get().segmenter(folder, allow_fallback=False)
        new.name = f"{new.segmenter.name} refiner" + (" (written back)" if new.write_back else "")
    if hasattr(prop, "want_vote"):
        prop.want_vote = True
    if new.write_back:
        prop.keep_for_write_back = True
    return new


def prop_device_type(prop, refiner) -> str:
    """``cuda`` when the propagator or the refiner's SAM runs on a GPU, else ``cpu``."""
    for dev in (getattr(prop, "device", None),
                getattr(getattr(refiner, "segmenter", None), "device", None)):
        if dev is not None and _device_type(dev) != "cpu":
            return _device_type(dev)
    return "cpu"


def propagate_project(project: Project, *, segments: list[int] | None = None,
                      engine: Propagator | str | None = "auto",
                      refine: RefinePolicy | str | None = None, refiner=None,
                      on_progress: ProgressCallback | None = None,
                      on_job: Callable[[PassPlan, JobResult | None], None] | None = None,
                      cancel: threading.Event | None = None,
                      on_message: Callable[[str], None] | None = None) -> list[JobResult]:
    """Propagate every pass of ``project`` (``segments``: only those); one result per pass.

    ``on_job(plan, None)`` is called before a pass starts and ``on_job(plan, result)`` after.
    ``on_message(text)`` hears what the person should know mid-run (a CUDA out-of-memory that
    moved the job to the CPU); default: the log.
    """
    cancel = cancel or threading.Event()
    prop = engine if engine is not None and not isinstance(engine, str) else choose_engine(engine)
    policy = RefinePolicy.parse(refine)
    if refiner is None:
        refiner = make_refiner(policy, prop, project.cache_dir / "embeddings")
    if registry.get().fell_back and prop_device_type(prop, refiner) != "cpu":
        prop, refiner = _on_cpu(prop, refiner)  # an earlier project ran the GPU out of memory
    plans = plan_passes(project.store, segments)
    results: list[JobResult] = []
    video = project.open_video() if any(p.runs for p in plans) else None
    try:
        for plan in plans:
            if cancel.is_set():
                break
            if on_job:
                on_job(plan, None)
            result, prop, refiner = _run(project, plan, prop, refiner, policy, on_message,
                                         on_progress=on_progress, cancel=cancel, video=video)
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
                cancel: threading.Event | None = None,
                on_message: Callable[[str], None] | None = None) -> JobResult:
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
    label = f"Re-propagate {project.store.object(object_id).name} from frame {frame}"
    job = PropagationJob(project, plan, prop, refiner=refiner, policy=policy, label=label)
    # a re-propagation always runs anew: forget a finished job row of the same anchor
    row = project.store.job(job.key)
    if row and row["state"] == "done":
        project.store.job_update(job.key, params={"fingerprint": None})
    result, _, _ = _run(project, plan, prop, refiner, policy, on_message,
                        on_progress=on_progress, cancel=cancel, label=label)
    return result
