"""A propagation job: run one :class:`~annotator.pipeline.plan.PassPlan`, commit every frame.

Threads: a prefetch thread decodes frames in sweep order, the job's own thread runs the models
(propagator, then the refiner when the policy asks), and a commit thread measures quality and
writes each frame's masks with the job's progress in one transaction. Progress goes to a plain
callback (``on_progress(Progress)``, called on the commit thread: a GUI marshals it to its own
thread). ``cancel`` (a :class:`threading.Event`) stops the job after the frame in flight;
everything done stays.

**Resume.** The job row (``jobs`` table, key ``propagate:<plan key>``) holds the plan's
fingerprint, the undo operation the job writes into and, updated in the same transaction as
each frame's masks, the number of steps committed. A job started again with the same
fingerprint (same spans, anchors, engine and policy) continues: propagators are stateful, so
the job *replays* the current run of steps from its last reset (the run's first anchor) up to
the last committed step — the engine steps through those frames again, nothing is refined or
written, and the masks stored for them are what the run carries on with (what the frame
after them is compared against, and what a refined frame would have taught the engine). No
frame is done twice or lost and the result equals an uninterrupted run (engines are
deterministic). Replay needs nothing from the engines and is exact; it costs propagator time
only (no SAM) for the frames since the run's anchor — nothing for the fast fallback, but up to
a whole run for XMem on a CPU. So an engine that offers ``get_state()``/``set_state()`` (XMem
does) also gets a checkpoint every ``checkpoint_every`` steps in ``project.cache_dir``
(:mod:`annotator.pipeline.checkpoint`) and the replay starts from the newest usable one.

A job whose anchors changed since it was interrupted (a different fingerprint) starts over in a
new operation. The whole job is one undo operation, across restarts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from annotator.core.project import Project
from annotator.engines.propagator import Propagator
from annotator.pipeline.checkpoint import CheckpointStore
from annotator.pipeline.frames import FramePrefetcher
from annotator.pipeline.plan import PassPlan, Step
from annotator.pipeline.policy import RefinePolicy
from annotator.pipeline.writer import CommitWriter, FrameOut, MaskOut


@dataclass(frozen=True)
class Progress:
    """Where a job stands; ``done``/``total`` count (object, frame) masks."""

    key: str
    done: int
    total: int
    frame: int
    elapsed_s: float
    project: str = ""
    objects: tuple[int, ...] = ()  # the objects whose masks on ``frame`` just landed

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass
class JobResult:
    """What a job did; ``state`` is done, cancelled, skipped (already done) or no_anchor."""

    key: str
    state: str
    engine: str = ""
    refine: str = ""
    written: int = 0  # masks written by this call
    done: int = 0  # masks of the job in the store
    total: int = 0
    replayed: int = 0  # steps replayed to resume
    flagged: dict[int, int] = field(default_factory=dict)  # object -> flagged frames (this call)
    refined: int = 0
    wall_s: float = 0.0
    model_s: float = 0.0  # time in the propagator's and the refiner's calls
    decode_wait_s: float = 0.0  # time the model thread waited for a decoded frame
    commit_s: float = 0.0  # time the commit thread spent on flags, RLE and SQLite
    segments: list[int] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)
    frames: tuple[int, int] = (0, 0)
    op: int | None = None  # the undo operation holding the job's writes (store.op_frames(op))
    message: str = ""

    @property
    def fps(self) -> float:
        frames = self.written / max(1, len(self.objects))
        return frames / self.wall_s if self.wall_s else 0.0

    @property
    def non_model_share(self) -> float:
        """Share of the wall time the model thread spent outside the models."""
        return max(0.0, 1.0 - self.model_s / self.wall_s) if self.wall_s else 0.0


ProgressCallback = Callable[[Progress], None]


def job_key(plan: PassPlan) -> str:
    return f"propagate:{plan.key}"


def describe(store, plan: PassPlan) -> str:
    """The pass as the undo history shows it: ``Propagate bell, drum (frames 10–80)``."""
    if not plan.spans:
        return f"Propagate {plan.key}"
    names = []
    for oid in plan.object_ids:
        obj = store.object(oid)
        names.append(obj.name if obj is not None and obj.name else f"object {oid}")
    lo, hi = min(s.start for s in plan.spans), max(s.end for s in plan.spans)
    return f"Propagate {', '.join(names)} (frames {lo}–{hi})"


class PropagationJob:
    """Run ``plan`` on ``project`` with ``engine`` (see the module docstring).

    ``refiner`` (optional) has ``refine(frame, masks, result) -> {id: Refinement}`` and a
    ``name``; ``policy`` says on which frames it runs.
    """

    def __init__(self, project: Project, plan: PassPlan, engine: Propagator, *,
                 refiner=None, policy: RefinePolicy | str | None = None,
                 on_progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None, video=None, label: str = "",
                 checkpoint_every: int = 50) -> None:
        self.project = project
        self.store = project.store
        self.plan = plan
        self.engine = engine
        self.policy = RefinePolicy.parse(policy).for_refiner(refiner)
        self.refiner = refiner if self.policy.mode != "off" else None
        self.on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self._video = video
        self.label = label or describe(self.store, plan)
        self.key = job_key(plan)
        self.checkpoint_every = max(1, int(checkpoint_every))
        self._ckpt: CheckpointStore | None = None

    # -- bookkeeping -----------------------------------------------------------------------
    def fingerprint(self) -> str:
        return self.plan.fingerprint({"engine": self.engine.name, "refine": str(self.policy),
                                      "refiner": getattr(self.refiner, "name", None)})

    def _op_live(self, op: int) -> bool:
        found = self.store.operation(op)
        return found is not None and not found.undone

    def _checkpoints(self) -> CheckpointStore | None:
        """Where this job's engine checkpoints go (None: the engine cannot be checkpointed)."""
        if not (hasattr(self.engine, "get_state") and hasattr(self.engine, "set_state")):
            return None
        if self._ckpt is None:
            self._ckpt = CheckpointStore(self.project.cache_dir / "jobs", self.key,
                                         self.fingerprint())
        return self._ckpt

    def _start(self) -> tuple[int, int, int, int, str]:
        """(op, sweep, step, done, previous state) — resuming when the job row matches."""
        fp = self.fingerprint()
        job = self.store.job(self.key)
        params = (job or {}).get("params") or {}
        if job and params.get("fingerprint") == fp and self._op_live(params.get("op", -1)):
            prog = job.get("progress") or {}
            return params["op"], prog.get("sweep", 0), prog.get("step", 0), job["done"], job["state"]
        op = self.store.new_op("propagate", self.label)
        if self._checkpoints() is not None:
            self._checkpoints().clear()
        self.store.job_update(self.key, kind="propagate", state="running", done=0,
                              total=self.plan.total, progress={"sweep": 0, "step": 0},
                              params={"fingerprint": fp, "op": op, "engine": self.engine.name,
                                      "refine": str(self.policy)}, message="")
        return op, 0, 0, 0, "new"

    # -- running ---------------------------------------------------------------------------
    def run(self) -> JobResult:
        plan = self.plan
        res = JobResult(self.key, "done", self.engine.name, str(self.policy), total=plan.total,
                        segments=plan.segment_ids, objects=plan.object_ids)
        if not plan.runs:
            res.state = "no_anchor"
            return res
        res.frames = (plan.start, plan.end)
        op, sweep0, step0, done, prev_state = self._start()
        res.done, res.op = done, op
        if prev_state == "done":
            res.state = "skipped"
            return res
        self.store.job_update(self.key, state="running")
        t_start = time.perf_counter()

        def committed(item: FrameOut, total_done: int) -> None:
            if self.on_progress is not None:
                self.on_progress(Progress(self.key, total_done, plan.total, item.frame,
                                          time.perf_counter() - t_start, str(self.project.dir),
                                          tuple(m.object_id for m in item.masks)))

        writer = CommitWriter(self.store, self.key, op, done, committed)
        video = self._video or self.project.open_video()
        try:
            with self._holding_memory():
                for s, steps in enumerate(plan.sweeps):
                    if s < sweep0 or not steps or self.cancel.is_set():
                        continue
                    first = step0 if s == sweep0 else 0
                    if first >= len(steps):
                        continue
                    self._sweep(video, s, steps, first, writer, res)
            writer.close()
        except BaseException as exc:
            try:
                writer.close()
            except BaseException:  # noqa: BLE001 - the first error is the one to report
                pass
            self.store.job_update(self.key, state="failed", message=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if self._video is None:
                video.close()
            release = getattr(self.engine, "release_memory", None)
            if release is not None:  # memory an engine kept for reuse between frames
                release()
        res.wall_s = time.perf_counter() - t_start
        res.written = writer.done - done
        res.done = writer.done
        res.flagged = dict(writer.flagged)
        res.commit_s = writer.busy_s
        if self.cancel.is_set() and res.done < plan.total:
            res.state = "cancelled"
            self.store.job_update(self.key, state="cancelled")
        else:
            self._finish(op)
            self.store.job_update(self.key, state="done")
            if self._checkpoints() is not None:
                self._checkpoints().clear()
        return res

    def _holding_memory(self) -> contextlib.AbstractContextManager:
        """The refiner's segmenter keeps its freed memory from one frame's embedding to the
        next for the whole run (SamSegmenter.holding_memory), not just within one."""
        hold = getattr(getattr(self.refiner, "segmenter", None), "holding_memory", None)
        return hold() if hold is not None else contextlib.nullcontext()

    def _finish(self, op: int) -> None:
        """Segment statuses: ``review`` when a frame of the object is flagged, else propagated."""
        with self.store.transaction():
            for span in self.plan.spans:
                if span.segment_id is None:
                    continue
                flagged = any(m.flags for m in self.store.masks_of(span.object_id, span.start, span.end)
                              if not m.anchor)
                status = "review" if flagged else "propagated"
                if self.store.segment(span.segment_id).status != status:
                    self.store.update_segment(span.segment_id, status=status, op=op)

    def _sweep(self, video, s: int, steps: list[Step], first: int, writer: CommitWriter,
               res: JobResult) -> None:
        start = max(k for k in range(first + 1) if steps[k].reset)  # replay from the run start
        books: dict = {"prev": {}, "ref_area": {}, "index_in_run": {}}
        ckpt = self._checkpoints().load(s, start + 1, first) if self._checkpoints() else None
        if ckpt is not None:
            self.engine.set_state(ckpt.engine)
            start, books = ckpt.step, ckpt.bookkeeping
        res.replayed += first - start
        with FramePrefetcher(video, [st.frame for st in steps[start:]]) as frames:
            try:
                self._steps(frames, s, steps, start, first, writer, res, books)
            finally:
                res.decode_wait_s += frames.wait_s

    def _steps(self, frames, s: int, steps: list[Step], start: int, first: int,
               writer: CommitWriter, res: JobResult, books: dict) -> None:
        """Step the engine through ``steps[start:]``: replay up to ``first``, then commit.
        ``books``: the per-object bookkeeping at ``start`` (from a checkpoint, or empty)."""
        prev: dict[int, np.ndarray] = books["prev"]
        ref_area: dict[int, float] = books["ref_area"]
        index_in_run: dict[int, int] = books["index_in_run"]
        ckpts = self._checkpoints()
        for k, (f, frame) in enumerate(frames, start=start):
            if k >= first and self.cancel.is_set():
                return
            st = steps[k]
            if ckpts is not None and k > first and k % self.checkpoint_every == 0 \
                    and not st.reset:
                ckpts.save(s, k, self.engine.get_state(), {
                    "prev": prev, "ref_area": ref_area, "index_in_run": index_in_run})
            if st.reset:
                self.engine.reset()
                prev.clear()
            given = {o: self._stored(o, f) for o in st.given}
            t0 = time.perf_counter()
            out = self.engine.step(frame, given=given, active=st.active)
            res.model_s += time.perf_counter() - t0
            for o in list(prev):
                if o not in st.active:
                    del prev[o]
            for o, m in given.items():
                prev[o] = m
                ref_area[o] = float(m.sum())
                index_in_run[o] = 0
            if k < first:  # replay: carry on from what the store holds
                refined = {}
                for o in st.write:
                    index_in_run[o] = index_in_run.get(o, 0) + 1
                    stored = self.store.mask(o, f)
                    prev[o] = stored.decode() if stored and stored.rle else out.masks[o]
                    if stored is not None and stored.source == "refined":
                        refined[o] = prev[o]
                if refined and getattr(self.refiner, "write_back", False):
                    self.engine.replace_last(refined)  # as the refiner did the first time
                continue
            masks = {o: out.masks[o] for o in st.write}
            if st.subtract:
                masks = self._subtract(f, masks, st.subtract)
            items = self._outputs(f, frame, out, masks, prev, ref_area, index_in_run, res)
            writer.put(FrameOut(f, items, {"sweep": s, "step": k + 1}))
            for m in items:
                prev[m.object_id] = m.mask

    def _stored(self, object_id: int, frame: int) -> np.ndarray:
        rec = self.store.mask(object_id, frame)
        if rec is None or rec.rle is None:
            raise RuntimeError(f"anchor of object {object_id} on frame {frame} vanished mid-job")
        return rec.decode()

    def _subtract(self, frame: int, masks: dict[int, np.ndarray], others) -> dict[int, np.ndarray]:
        current = self.store.frame_masks(frame)
        taken = None
        for o in others:
            if o in current and current[o].rle is not None:
                m = current[o].decode()
                taken = m if taken is None else taken | m
        if taken is None:
            return masks
        return {o: m & ~taken for o, m in masks.items()}

    def _outputs(self, f, frame, out, masks, prev, ref_area, index_in_run, res) -> list[MaskOut]:
        items = []
        wants = []
        for o, m in masks.items():
            index_in_run[o] = index_in_run.get(o, 0) + 1
            conf = out.confidence.get(o)
            item = MaskOut(o, m, prev.get(o), conf, ref_area.get(o), model=self.engine.name)
            items.append(item)
            if self.refiner is not None and self.policy.wants_frame(
                    index_in_run[o], m, item.prev, conf, item.reference_area):
                wants.append(o)
        if wants:
            t0 = time.perf_counter()
            refined = self.refiner.refine(frame, {o: masks[o] for o in wants}, out,
                                          others={**out.masks, **masks})
            res.model_s += time.perf_counter() - t0
            for item in items:
                r = refined.get(item.object_id)
                if r is None:
                    continue
                res.refined += 1
                item.extra.update(r.quality)
                if r.accepted:
                    item.alt, item.alt_source = item.mask, "propagated"
                    item.mask, item.source = r.mask, "refined"
                    item.model = f"{self.engine.name} + {self.refiner.name}"
                else:
                    item.alt, item.alt_source = r.mask, "refined"
        return items
