"""The batch on a local Ray instance (2 CPUs), real projects on the shared DAVIS sequences,
the weight-free fallback engine, the real SQLite stores: the masks are the local queue's, a
worker killed by its PID is retried and resumes, a project open elsewhere is skipped, a
damaged one fails once, and a cancel leaves every store consistent and resumable.

Ray's start and its worker processes cost tens of seconds on 2 cores: slow tests, run in CI
after ``pip install -e ".[cluster]"`` (skipped where Ray is not installed)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("ray")

from annotator.core.project import DB_NAME, Project  # noqa: E402
from annotator.pipeline.cluster import run_batch, transient_errors  # noqa: E402
from annotator.pipeline.cluster_events import describe  # noqa: E402
from annotator.pipeline.cluster_worker import Board, propagate_task  # noqa: E402
from annotator.pipeline.queue import propagate_projects  # noqa: E402
from tests.cluster.conftest import SEQUENCES, make_projects, masks_of  # noqa: E402
from tests.conftest import shared_path  # noqa: E402

pytestmark = pytest.mark.slow

OPTS = {"engine": "fallback", "refine": "off"}
LONG = ("boat", "bus", "car-turn"), 40  # 3 projects on 2 CPUs: one is queued


def events_of(kind, events, project=None):
    return [e for e in events if e["event"] == kind and (project is None
                                                          or e["project"] == str(project))]


def test_six_projects_give_the_masks_of_the_local_queue(ray_local, local_masks, tmp_path):
    from annotator.settings import acting_as

    dirs = make_projects(tmp_path, shared_path)
    events: list[dict] = []
    with acting_as("batcher"):  # who started the batch: the author of its workers' operations
        report = run_batch(dirs, on_event=events.append, **OPTS)
    assert sorted(report.by_state("done")) == sorted(str(d) for d in dirs)
    assert masks_of(dirs) == local_masks()
    for d in dirs:  # every project started once, on a worker of this instance, and reported
        (start,) = events_of("start", events, d)
        assert start["total"] == 19 and start["done"] == 0
        assert events_of("progress", events, d)[-1]["done"] == 19
    assert events[-1]["event"] == "batch" and events[-1]["written"] == 6 * 19
    assert {e["holder"] for e in events_of("start", events)} <= {
        e["holder"] for e in events_of("done", events)}
    for d in dirs:
        with Project.open(d) as project:  # every lock was released
            assert project.store.integrity_check() == "ok"
            ops = project.store.history()
            assert ops[0].kind != "import" and ops[0].author == "batcher"


def test_a_worker_killed_by_its_pid_is_retried_and_resumes(ray_local, local_masks, tmp_path):
    seqs, frames = ("boat", "bus"), 70  # long enough to be killed mid-way on a fast machine
    dirs = make_projects(tmp_path, shared_path, seqs, frames)
    victim = str(dirs[0])
    killed: list[int] = []
    events: list[dict] = []

    def on_event(ev):
        events.append(ev)
        if (not killed and ev["event"] == "progress" and ev["project"] == victim
                and ev["done"] >= 5):
            (start,) = events_of("start", events, victim)
            pid = int(start["holder"].split()[0])  # "PID on HOST"
            assert pid != os.getpid()
            os.kill(pid, signal.SIGKILL)
            killed.append(ev["done"])

    report = run_batch(dirs, on_event=on_event, max_retries=2, **OPTS)
    assert killed, "the worker finished before it could be killed"
    assert report.by_state("done") == [str(d) for d in dirs] or \
        sorted(report.by_state("done")) == sorted(str(d) for d in dirs)
    (retry,) = events_of("retry", events, victim)
    assert retry["attempt"] == 2 and "was lost" in retry["message"]
    starts = events_of("start", events, victim)
    assert len(starts) == 2 and starts[1]["holder"] != starts[0]["holder"]
    assert starts[1]["done"] >= killed[0]  # the committed masks stayed
    done = report.results[victim]
    assert done["written"] == frames - 1 - starts[1]["done"]  # resumed, not from the anchor
    assert masks_of(dirs) == local_masks(seqs, frames)


def test_a_project_open_elsewhere_is_skipped_and_a_damaged_one_fails_once(ray_local, tmp_path):
    dirs = make_projects(tmp_path, shared_path, SEQUENCES[:3])
    locked, damaged, fine = dirs
    (damaged / DB_NAME).write_bytes(b"this is not a database" * 100)
    for extra in damaged.glob(DB_NAME + "-*"):
        extra.unlink()
    events: list[dict] = []
    with Project.open(locked):  # the app holds it
        report = run_batch(dirs, on_event=events.append, **OPTS)
    (skip,) = events_of("skipped", events, locked)
    assert f"already open by process {os.getpid()}" in skip["message"]
    (fail,) = events_of("failed", events, damaged)
    assert str(damaged) in fail["message"]
    assert not events_of("start", events, locked) and not events_of("start", events, damaged)
    assert not events_of("retry", events)
    assert report.by_state("done") == [str(fine)]
    summary = events[-1]
    assert summary["skipped"] == [str(locked)] and summary["failed"] == [str(damaged)]


def test_cancel_stops_after_the_frame_in_flight_and_a_rerun_completes(ray_local, local_masks,
                                                                     tmp_path):
    seqs, frames = LONG
    dirs = make_projects(tmp_path, shared_path, seqs, frames)
    cancel = threading.Event()
    events: list[dict] = []

    def on_event(ev):
        events.append(ev)
        if ev["event"] == "progress" and ev["done"] >= 5:
            cancel.set()  # what Ctrl-C or the dialog's Cancel does

    report = run_batch(dirs, on_event=on_event, cancel=cancel, **OPTS)
    assert report.cancelled
    assert not report.by_state("failed") and len(report.results) == 3
    queued = [d for d in dirs if not events_of("start", events, d)]  # 3 projects, 2 CPUs
    assert len(queued) == 1 and report.results[str(queued[0])]["event"] == "cancelled"
    for d in dirs:
        with Project.open(d) as project:
            assert project.store.integrity_check() == "ok"
            masks = list(project.store.iter_masks())
            assert len(masks) < frames  # stopped early
    propagate_projects(dirs, **OPTS)  # the local queue resumes what the cluster left
    assert masks_of(dirs) == local_masks(seqs, frames)


def test_a_lock_still_held_by_a_lost_worker_of_the_batch_is_waited_for_not_skipped(
        ray_local, tmp_path):
    """On a shared filesystem a lost host's lock lives until its lease expires: when the
    holder is the worker that ran the project's earlier attempt, the task waits for the lease
    and then opens the project; when the wait runs out, it raises a transient error that Ray
    retries. (The test process stands in for that lost worker: it holds the lock, and the
    batch's progress actor recorded it as the project's last worker.)"""
    ray = ray_local
    (d,) = make_projects(tmp_path, shared_path, ["boat"])
    board = Board.remote()
    me = f"{os.getpid()} on {socket.gethostname()}"
    ray.get(board.push.remote({"event": "start", "project": str(d), "holder": me}))
    task = propagate_task.options(max_retries=2, retry_exceptions=transient_errors(),
                                  num_cpus=1)
    events: list[dict] = []

    def seen_retry() -> bool:
        events.extend(ray.get(board.drain.remote()))
        return any(e["event"] == "retry" for e in events)

    with Project.open(d):
        ref = task.remote(str(d), OPTS | {"lease_wait_s": 60.0}, board)
        deadline = time.monotonic() + 60
        while not seen_retry() and time.monotonic() < deadline:
            time.sleep(0.1)  # until the first attempt met the lock
    (wait,) = [e for e in events if e["event"] == "retry"]
    assert f"lost worker {me} is still held" in wait["message"]
    result = ray.get(ref, timeout=120)  # the lease "expired": the task opens it, propagates
    assert result["event"] == "done" and result["written"] == 19
    starts = [e for e in events + ray.get(board.drain.remote()) if e["event"] == "start"]
    assert starts[0]["holder"] == me and len(starts) == 2  # ours, then the retry's
    assert starts[1]["holder"] != me and starts[1]["done"] == 0

    (d2,) = make_projects(tmp_path / "again", shared_path, ["bus"])
    ray.get(board.push.remote({"event": "start", "project": str(d2), "holder": me}))
    task = propagate_task.options(max_retries=1, retry_exceptions=transient_errors(),
                                  num_cpus=1)
    with Project.open(d2):  # never released: each attempt waits 1 s, then Ray retries once
        with pytest.raises(ray.exceptions.RayTaskError) as caught:
            ray.get(task.remote(str(d2), OPTS | {"lease_wait_s": 1.0}, board), timeout=120)
    assert "was not released in 1 s" in str(caught.value)
    waits = [e for e in ray.get(board.drain.remote())
             if e["event"] == "retry" and e["project"] == str(d2)]
    assert len(waits) == 2  # the first attempt and Ray's retry


def test_box_only_segments_are_tracked_on_the_cluster_as_locally(ray_local, tmp_path):
    """A project with a masked object and a box-only one: the Ray task propagates the masks
    and tracks the boxes (as ``annotator propagate`` does locally), a person's keyframes
    kept; the tracked boxes are those the local box tracking makes of a twin project."""
    from PIL import Image

    from annotator.engines.fallback_propagator import FallbackPropagator
    from annotator.engines.fallback_segmenter import FallbackSegmenter
    from annotator.pipeline.box_tracking import track_box_segments

    folder = shared_path("data", "davis2016", "dog-agility")
    gt = {f: np.array(Image.open(folder / "Annotations" / f"{f:05d}.png")) > 0
          for f in (0, 10)}

    def tight(m):
        ys, xs = np.nonzero(m)
        return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)

    twins = []
    for name in ("cluster", "local"):
        (d,) = make_projects(tmp_path / name, shared_path, ("dog-agility",), 20)
        with Project.open(d) as project:
            store = project.store
            dog = store.add_object("dog")
            store.add_segment(dog, 0, 19)
            for f, m in gt.items():
                store.put_box(dog, f, tight(m))
        twins.append(d)
    events: list[dict] = []
    report = run_batch([twins[0]], on_event=events.append, **OPTS)
    assert report.by_state("done") == [str(twins[0])]
    (start,) = events_of("start", events)
    assert start["total"] == 19 + 18  # 19 masks, 18 boxes to track
    (done,) = events_of("done", events)
    assert done["boxes"] == 18 and done["done"] == done["total"] == 37
    assert "18 boxes tracked" in describe(done)
    with Project.open(twins[1]) as project:
        (r,) = track_box_segments(project, FallbackPropagator(), FallbackSegmenter())
        assert r.written == 18
        want = {(b.frame, b.source): b.box for b in project.store.boxes_of(2)}
    with Project.open(twins[0]) as project:
        got = {(b.frame, b.source): b.box for b in project.store.boxes_of(2)}
        assert project.store.object(2).name == "dog" and not project.store.masks_of(2)
    assert got == want and got[0, "drawn"] == tight(gt[0])
