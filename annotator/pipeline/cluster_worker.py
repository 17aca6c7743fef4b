"""What runs on the Ray workers of a batch: the progress actor and the per-project task.

Imported only where Ray is installed (:mod:`annotator.pipeline.cluster` checks first).

* :class:`Board` — one actor per batch: workers push ``start``/``progress`` events, the driver
  drains them; the driver sets its cancel flag and every running task sees it within a
  fraction of a second (it stops after the frame in flight, as the local queue does).
* :func:`propagate_task` — one project: open it (taking its lock), run the very
  :func:`~annotator.pipeline.queue.propagate_project` of the local queue and then, as
  ``annotator propagate`` does, box tracking of its box-only segments
  (:func:`~annotator.pipeline.box_tracking.track_box_segments`, resumable the same way), close
  it. A project
  open elsewhere comes back ``skipped``, a bad input ``failed``: neither raises, so Ray does not
  retry them. A worker that dies (SIGKILL, OOM killer, lost node) is retried by Ray
  (``max_retries``); the next attempt resumes from the project's checkpoints. The engines come
  from the worker process's registry, so a reused worker keeps its models loaded.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import ray

from annotator.pipeline.cluster_events import PROGRESS, RETRY, START

CANCEL_POLL_S = 0.25
PROGRESS_EVERY_S = 0.5
LEASE_WAIT_S = 120.0  # for the lock of a lost worker's host to expire, before a Ray retry
LEASE_POLL_S = 1.0


class StaleLease(TimeoutError):
    """The project's lock is still held by a worker of this batch that was lost (a lock on a
    network filesystem outlives its dead host until the server's lease expires): a transient
    error, so Ray retries the task."""


@ray.remote(num_cpus=0)
class Board:
    """The batch's progress and cancel channel (plain method calls, in order per caller)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.cancel_set = False
        self.holders: dict[str, str] = {}  # project -> "PID on HOST" of its latest attempt

    def push(self, event: dict) -> None:
        if event.get("event") == START:
            self.holders[event["project"]] = event.get("holder", "")
        self.events.append(event)

    def flush(self) -> bool:
        return True  # returns once every earlier push of the caller is in

    def drain(self) -> list[dict]:
        out, self.events = self.events, []
        return out

    def cancel(self) -> None:
        self.cancel_set = True

    def cancelled(self) -> bool:
        return self.cancel_set

    def held_by_us(self, project: str, holder: str) -> bool:
        """Whether ``holder`` is the worker that ran an earlier attempt of ``project``."""
        return bool(holder) and self.holders.get(project) == holder


def _watch_cancel(board, cancel: threading.Event, stop: threading.Event) -> None:
    while not stop.wait(CANCEL_POLL_S):
        try:
            if ray.get(board.cancelled.remote()):
                cancel.set()
                return
        except Exception:  # noqa: BLE001 - the driver went away: stop after this frame
            cancel.set()
            return


def _open(Project, ProjectLockedError, name: str, options: dict, board):
    """``Project.open(name)``; when its lock is held by this batch's own lost worker (a lock
    on a network filesystem outlives its dead host until the server's lease expires, ~90 s on
    NFSv4), wait for the lease up to ``lease_wait_s`` (then :class:`StaleLease`, which Ray
    retries). A lock held by anyone else raises ``ProjectLockedError`` at once."""
    try:
        return Project.open(name)
    except ProjectLockedError as exc:
        if not ray.get(board.held_by_us.remote(name, exc.pid)):
            raise
        lost = exc.pid
    wait = options.get("lease_wait_s", LEASE_WAIT_S)
    board.push.remote({"event": RETRY, "project": name, "message": f"the lock of lost worker "
                       f"{lost} is still held (a network filesystem keeps it until its lease "
                       f"expires): waiting up to {wait:.0f} s"})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(LEASE_POLL_S)
        try:
            return Project.open(name)
        except ProjectLockedError as exc:
            if exc.pid != lost:  # someone else took it meanwhile: theirs now
                raise
    raise StaleLease(f"{name}: the lock of lost worker {lost} was not released in {wait:.0f} s")


def _start_registry(options: dict) -> None:
    from annotator.engines import registry

    if not registry.started():  # once per worker process: a reused worker keeps its models
        registry.start(options.get("device"), precision=options.get("precision"),
                       threads=options.get("threads"), lazy=True)


@ray.remote(max_calls=0)  # a worker runs any number of projects (GPU tasks too): models stay
def propagate_task(project_dir: str, options: dict, board) -> dict:
    """Propagate every pass of one project; returns its final event (``done``, ``cancelled``,
    ``skipped`` or ``failed``)."""
    from annotator.core.lock import ProjectLockedError
    from annotator.core.project import Project
    from annotator.errors import explain
    from annotator.pipeline.box_tracking import box_jobs as track_boxes_jobs
    from annotator.pipeline.box_tracking import track_box_segments
    from annotator.pipeline.job import Progress, job_key
    from annotator.pipeline.plan import plan_passes
    from annotator.pipeline.queue import choose_engine, propagate_project

    holder = f"{os.getpid()} on {socket.gethostname()}"
    name = str(project_dir)
    t0 = time.monotonic()
    try:
        _start_registry(options)
        project = _open(Project, ProjectLockedError, name, options, board)
        project.store.person = options.get("person")  # who started the batch
    except ProjectLockedError as exc:
        return {"event": "skipped", "project": name, "message": f"already open by process "
                f"{exc.pid}: close it there, then run the batch again for this project"}
    except StaleLease:
        raise  # transient: Ray runs the task again
    except Exception as exc:  # noqa: BLE001 - a bad input is reported, a bug raised
        user = explain(exc, Path(project_dir))
        if user is None:
            raise
        return {"event": "failed", "project": name, "message": str(user)}
    cancel, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(target=_watch_cancel, args=(board, cancel, stop), daemon=True)
    watcher.start()
    try:
        with project:
            plans = plan_passes(project.store)
            totals = {job_key(p): p.total for p in plans if p.runs}
            done = {k: int((project.store.job(k) or {}).get("done") or 0) for k in totals}
            box_jobs = track_boxes_jobs(project.store)
            for key, d, t in box_jobs.values():
                totals[key], done[key] = t, d
            board.push.remote({"event": START, "project": name, "holder": holder,
                               "done": sum(done.values()), "total": sum(totals.values())})
            last = [0.0]

            def on_progress(pr) -> None:
                done[pr.key] = pr.done
                now = time.monotonic()
                if now - last[0] >= PROGRESS_EVERY_S or pr.done == pr.total:
                    last[0] = now
                    board.push.remote({"event": PROGRESS, "project": name,
                                       "done": sum(done.values()), "total": sum(totals.values()),
                                       "frame": pr.frame})

            engine = options.get("engine", "auto")
            results = propagate_project(project, engine=engine, refine=options.get("refine"),
                                        on_progress=on_progress, cancel=cancel)
            boxes = []
            for sid, (key, _d, total) in box_jobs.items():
                if cancel.is_set():
                    break

                def on_boxes(d: int, _t: int, frame: int, key: str = key) -> None:
                    on_progress(Progress(key, d, totals[key], frame, 0.0))

                boxes += track_box_segments(project, choose_engine(engine), segments=[sid],
                                            progress=on_boxes, cancel=cancel)
                if boxes and boxes[-1].state != "cancelled":
                    done[key] = total
            cancelled = any(r.state == "cancelled" for r in [*results, *boxes])
            return {"event": "cancelled" if cancelled else "done", "project": name,
                    "holder": holder, "written": sum(r.written for r in results),
                    "boxes": sum(b.written for b in boxes),
                    "done": sum(r.done for r in results if r.key in totals)
                    + sum(done[k] for k, _d, _t in box_jobs.values()),
                    "total": sum(totals.values()), "wall_s": round(time.monotonic() - t0, 3),
                    "flagged": sum(sum(r.flagged.values()) for r in results),
                    "states": [r.state for r in results] + [b.state for b in boxes]}
    except Exception as exc:  # noqa: BLE001 - a bad input met mid-run (a missing video …)
        user = explain(exc, Path(project_dir))
        if user is None:
            raise
        return {"event": "failed", "project": name, "message": str(user)}
    finally:
        stop.set()
        try:
            ray.get(board.flush.remote())  # the driver sees every event before the result
        except Exception:  # noqa: BLE001 - the driver is gone; nothing to tell
            pass

