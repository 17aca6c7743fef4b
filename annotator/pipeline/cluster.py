"""Batch propagation on Ray: one task per project, on a local instance or a team's cluster.

``run_batch(dirs, cluster="ray")`` is the cluster twin of
:func:`~annotator.pipeline.queue.propagate_projects`: each project folder becomes one Ray task
(:func:`~annotator.pipeline.cluster_worker.propagate_task`) that opens the project, holds its
lock, runs the same ``propagate_project`` and closes it, so the masks are those of the local
queue, frame for frame. Projects live on storage every worker reaches (a shared filesystem).

* **Where**: ``ray`` starts a local instance (every CPU of the machine); ``auto`` joins the
  running cluster of this node (``ray start --head`` …); ``ray://HOST:PORT`` connects through
  the Ray Client. Ray is the optional ``cluster`` extra.
* **Resources**: ``num_gpus=1`` per task when the device is CUDA (or ``auto`` on a cluster with
  GPUs), ``num_cpus`` otherwise. Ray reuses a worker process for the next task (``max_calls=0``:
  GPU tasks too, which Ray would otherwise give a fresh process each), and the models live in
  that process's engine registry, so they load once per worker.
* **Faults**: a lost worker (SIGKILL, OOM, node) is retried by Ray up to ``max_retries`` times
  and resumes from the project's checkpoints; a project open elsewhere is ``skipped``, a bad
  input ``failed`` — reported once, never retried, and the batch goes on. ``retry_exceptions``
  lists only transient errors (:data:`TRANSIENT`).
* **Progress and cancel** go through one small actor (:class:`~.cluster_worker.Board`); events
  are plain dicts (:mod:`annotator.pipeline.cluster_events`). Setting ``cancel``: running tasks
  stop after the frame in flight (every project stays consistent, a rerun resumes), queued ones
  are cancelled with ``ray.cancel``; a ``KeyboardInterrupt`` in the driver force-cancels all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from annotator.core.words import plural
from annotator.errors import UserError
from annotator.pipeline.cluster_events import (
    CANCELLED,
    FAILED,
    Tally,
)

INSTALL_HINT = "install the cluster extra: pip install 'avs-annotator[cluster]'"
MAX_RETRIES = 3
POLL_S = 0.2


class ClusterUnavailable(UserError):
    """Ray is not installed, or the cluster cannot be reached."""


def transient_errors() -> list[type[BaseException]]:
    """Exceptions Ray retries (a worker's death is always retried): a network filesystem or
    a connection that hiccupped, and the lock lease of a lost worker not yet expired."""
    from annotator.pipeline.cluster_worker import StaleLease

    return [ConnectionError, TimeoutError, StaleLease]


def require_ray():
    """The ``ray`` module, or one line saying how to install it (exit 2)."""
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(f"--cluster needs Ray, which is not installed: "
                                 f"{INSTALL_HINT}") from None
    return ray


def parse_cluster(value: str) -> dict:
    """``ray.init`` arguments for a ``--cluster`` value."""
    value = (value or "ray").strip()
    if value == "ray":
        return {}  # a local instance, every CPU (and GPU) of this machine
    if value == "auto":
        return {"address": "auto"}
    if value.startswith("ray://"):
        return {"address": value}
    raise UserError(f"--cluster {value!r}: use ray (a local instance), auto (the cluster this "
                    "node belongs to, after 'ray start') or ray://HOST:PORT (the Ray Client)")


def connect(value: str = "ray", **init_kwargs) -> bool:
    """Connect to (or start) the cluster unless this process already is; True when this call
    did (the caller shuts it down)."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    kwargs = parse_cluster(value) | {"log_to_driver": False} | init_kwargs
    if "address" not in kwargs:
        kwargs.setdefault("include_dashboard", False)
    try:
        ray.init(**kwargs)
    except ConnectionError as exc:
        token = ("; a cluster with token authentication (the default of Ray 2.59 and later) "
                 "also needs RAY_AUTH_MODE=token here, with its token in RAY_AUTH_TOKEN or "
                 "~/.ray/auth_token (ray get-auth-token on the head)"
                 if value.startswith("ray://") else "")
        raise ClusterUnavailable(f"--cluster {value}: no Ray cluster reached ({exc}); start "
                                 f"one with 'ray start --head' or use --cluster ray{token}"
                                 ) from None
    return True


def task_resources(device: str | None, cpus: float = 1) -> dict:
    """``num_gpus=1`` for a CUDA device (``auto``: when the cluster has GPUs), else CPUs."""
    import ray

    dev = (device or os.environ.get("AVS_ANNOTATOR_DEVICE") or "auto").lower()
    gpus = ray.cluster_resources().get("GPU", 0)
    if dev.startswith("cuda") or (dev == "auto" and gpus > 0):
        return {"num_gpus": 1, "num_cpus": cpus}
    return {"num_gpus": 0, "num_cpus": cpus}


@dataclass
class BatchReport:
    """What a batch did: the final event of each project and the closing summary."""

    results: dict[str, dict] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def by_state(self, state: str) -> list[str]:
        return [p for p, ev in self.results.items() if ev["event"] == state]

    @property
    def cancelled(self) -> bool:
        return bool(self.by_state(CANCELLED))


def run_batch(dirs: Iterable[str | Path], *, cluster: str = "ray", engine: str = "auto",
              refine: str | None = "auto", device: str | None = None,
              precision: str | None = None, cpus_per_project: float = 1,
              max_retries: int = MAX_RETRIES, on_event: Callable[[dict], None] | None = None,
              cancel: threading.Event | None = None) -> BatchReport:
    """Propagate every project in ``dirs`` on Ray; ``on_event(ev)`` hears every event (on the
    calling thread). Returns when every task has ended."""
    ray = require_ray()
    from annotator.pipeline.cluster_worker import Board, propagate_task

    dirs = [str(Path(d).resolve()) for d in dirs]
    cancel = cancel or threading.Event()
    emit = on_event or (lambda ev: None)
    started_here = connect(cluster)
    tally = Tally(dirs)
    report = BatchReport()
    pending: list = []
    try:
        board = Board.remote()
        from annotator.settings import person

        options = {"engine": engine, "refine": refine, "device": device,
                   "precision": precision, "threads": max(1, int(cpus_per_project)),
                   "person": person()}  # a worker's operations are the batch's person's
        task = propagate_task.options(max_retries=max_retries,
                                      retry_exceptions=transient_errors(),
                                      **task_resources(device, cpus_per_project))
        refs = {task.remote(d, options, board): d for d in dirs}
        pending = list(refs)
        told_cancel = False
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
            for ev in ray.get(board.drain.remote()):
                for shown in tally.add(ev):
                    emit(shown)
            for ref in ready:
                ev = _final(ray, ref, refs[ref], max_retries, tally)
                report.results[ev["project"]] = ev
                for shown in tally.add(ev):
                    emit(shown)
            if cancel.is_set() and not told_cancel:
                told_cancel = True
                board.cancel.remote()  # running tasks stop after the frame in flight
                for ref in pending:
                    if tally.projects[refs[ref]].state != "running":
                        ray.cancel(ref)  # queued: never starts
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)  # committed frames are whole; a rerun resumes
        raise
    finally:
        report.summary = tally.summary()
        if started_here:
            ray.shutdown()
    emit(report.summary)
    return report


def _final(ray, ref, project: str, max_retries: int, tally: Tally) -> dict:
    """The final event of one task, from its return value or its exception."""
    st = tally.projects[project]
    base = {"project": project, "done": st.done, "total": st.total}
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        return base | {"event": CANCELLED}
    except ray.exceptions.RayTaskError as exc:  # a bug in the task (or a transient error
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc  # retried out)
        return base | {"event": FAILED,
                       "message": f"{type(cause).__name__}: {cause} (see the worker's log)"}
    except ray.exceptions.RayError as exc:  # the worker or its node was lost every time
        holder = f" (last worker {st.holder})" if st.holder else ""
        return base | {"event": FAILED, "message": f"worker lost {plural(max_retries + 1, 'time')}"
                       f"{holder}: {type(exc).__name__}; run the batch again to resume it"}

