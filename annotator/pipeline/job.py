"""A propagation job: run one :class:`~annotator.pipeline.plan.PassPlan`, commit every frame.

Threads: a prefetch thread decodes frames in sweep order, the job's own thread runs the models
(propagator, then the refiner when the policy asks), and a commit thread measures quality and
writes each frame's masks with the job's progress in one transaction. Progress goes to a plain
callback (``on_progress(Progress)``, called on the commit thread — and on the job's thread for
frames replayed to resume, with ``replaying`` set: a GUI marshals it to its own thread). ``cancel`` (a :class:`threading.Event`) stops the job after the frame in flight;
everything done stays.

**Passes in opposite directions.** The backward sweep removes from its masks the pixels the
forward sweep gave other objects on the same frame. It takes those masks from the job's own
record of what it produced (compressed RLE, only the frames some backward step needs), not
from the store: they may still sit in the commit queue. Masks of earlier runs of the job (a
resumed one) are in the store, and so is an anchor a person drew meanwhile, which wins.

**Resume.** The job row (``jobs`` table, key ``propagate:<plan key>``) holds the plan's
fingerprint, the undo operation the job writes into and, updated in the same transaction as
each frame's masks, the number of steps committed. A job started again with the same
fingerprint (same spans, anchors, engine and policy) continues: propagators are stateful, so
the job *replays* steps up to the last committed one — the engine steps through those frames
again, nothing is refined or written, and the masks stored for them are what the run carries
on with (what the frame after them is compared against, and what a refined frame would have
taught the engine). No frame is done twice or lost and the result equals an uninterrupted run
(engines are deterministic). Replay starts from the newest usable engine checkpoint
(:mod:`annotator.pipeline.checkpoint`, in ``project.cache_dir``) of an engine that offers
``get_state()``/``set_state()`` (XMem and the fallback do), else from the run's first anchor.
Checkpoints are taken after every ``checkpoint_s`` seconds of engine time (and at least 20
times the last checkpoint's own cost apart, so saving costs under 5 %), or every
``checkpoint_every`` steps when that is given: a resume replays about ``checkpoint_s``
seconds of engine work plus the frames the commit thread had not written yet.

A job whose anchors changed since it was interrupted (a different fingerprint) starts over in a
new operation. The whole job is one undo operation, across restarts.

**Seams.** When the job is done, the frames where its runs meet other runs (their far ends and
the frames past them: for a re-propagation, the frames beside its range) are scored for the
jump across the seam (:mod:`annotator.pipeline.seams`), in the job's operation, before the
segments' statuses are set.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from annotator.core import masks as rle
from annotator.core.project import Project
from annotator.engines.propagator import Propagator
from annotator.pipeline.checkpoint import CheckpointStore
from annotator.pipeline.frames import FramePrefetcher
from annotator.pipeline.plan import PassPlan, Step, run_length
from annotator.pipeline.policy import RefinePolicy
from annotator.pipeline.seams import rescore_seams
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
    replaying: bool = False  # resuming: the engine steps through ``frame`` again, nothing lands

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
    kept_human: int = 0  # (object, frame) masks left as a person made them meanwhile
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
                 checkpoint_every: int | None = None, checkpoint_s: float = 0.5) -> None:
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
        self.checkpoint_every = None if checkpoint_every is None else max(1, int(checkpoint_every))
        self.checkpoint_s = float(checkpoint_s)
        self._ckpt: CheckpointStore | None = None
        self._since_ckpt = 0.0  # engine seconds since the last checkpoint
        self._ckpt_cost = 0.0  # seconds the last checkpoint took
        self._committed = (-1, -1)  # (sweep, step) the store holds, as the commit thread says
        # masks of other objects that backward steps subtract, as this job produced them
        self._needed = {(st.frame, o) for sweep in plan.sweeps for st in sweep
                        for o in st.subtract}
        self._produced: dict[int, dict[int, dict]] = {}
        self._t_start = 0.0
        self._done0 = 0

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
        t_start = self._t_start = time.perf_counter()
        self._done0 = done

        def committed(item: FrameOut, total_done: int) -> None:
            self._committed = (item.progress["sweep"], item.progress["step"])
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
        res.written = writer.done - done - writer.kept_human
        res.done = writer.done
        res.flagged = dict(writer.flagged)
        res.kept_human = writer.kept_human
        res.commit_s = writer.busy_s
        if self._ckpt is not None and self._ckpt.notes:
            res.message = "; ".join(self._ckpt.notes)
        if self.cancel.is_set() and res.done < plan.total:
            res.state = "cancelled"
            self.store.job_update(self.key, state="cancelled")
        else:
            for key in rescore_seams(self.store, plan.runs, op, writer.since_rev):
                res.flagged[key[0]] = res.flagged.get(key[0], 0) + 1
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
        ckpts = self._checkpoints()
        ckpt = ckpts.load(s, start + 1, first) if ckpts is not None and first > start else None
        if ckpt is not None:
            try:
                self.engine.set_state(ckpt.engine)
                books = {k: dict(ckpt.bookkeeping[k]) for k in books}
                start = ckpt.step
            except (ValueError, KeyError, TypeError) as exc:  # the run's start resets the engine
                ckpts.note(ckpt.path or ckpts.folder, f"it does not fit this engine ({exc})")
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
            if ckpts is not None and k > first and not st.reset and self._checkpoint_due(k):
                t0 = time.perf_counter()
                committed = self._committed[1] if self._committed[0] == s else None
                ckpts.save(s, k, self.engine.get_state(), {
                    "prev": prev, "ref_area": ref_area, "index_in_run": index_in_run},
                    committed=committed)
                self._ckpt_cost = time.perf_counter() - t0
                self._since_ckpt = 0.0
            if st.reset:
                self.engine.reset()
                if hasattr(self.engine, "set_run_length"):  # SAM 2.1 (engines/propagator.py)
                    self.engine.set_run_length(run_length(steps, k))
                prev.clear()
            given = {o: self._stored(o, f) for o in st.given}
            t0 = time.perf_counter()
            out = self.engine.step(frame, given=given, active=st.active)
            took = time.perf_counter() - t0
            res.model_s += took
            self._since_ckpt += took
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
                if self.on_progress is not None:
                    self.on_progress(Progress(self.key, writer.done, self.plan.total, f,
                                              time.perf_counter() - self._t_start,
                                              str(self.project.dir), (), replaying=True))
                continue
            masks = {o: out.masks[o] for o in st.write}
            if st.subtract:
                masks = self._subtract(f, masks, st.subtract)
            items = self._outputs(f, frame, out, masks, prev, ref_area, index_in_run, res)
            for m in items:
                prev[m.object_id] = m.mask
                if (f, m.object_id) in self._needed:
                    self._produced.setdefault(f, {})[m.object_id] = rle.encode(m.mask)
            writer.put(FrameOut(f, items, {"sweep": s, "step": k + 1}, frame, given))

    def _checkpoint_due(self, k: int) -> bool:
        if self.checkpoint_every is not None:
            return k % self.checkpoint_every == 0
        return self._since_ckpt >= max(self.checkpoint_s, 20 * self._ckpt_cost)

    def _stored(self, object_id: int, frame: int) -> np.ndarray:
        rec = self.store.mask(object_id, frame)
        if rec is None or rec.rle is None:
            raise RuntimeError(f"anchor of object {object_id} on frame {frame} vanished mid-job")
        return rec.decode()

    def _subtract(self, frame: int, masks: dict[int, np.ndarray], others) -> dict[int, np.ndarray]:
        """``masks`` less the pixels of ``others`` on ``frame``: as this job produced them
        (they may not be committed yet), else as the store holds them; a person's anchor wins."""
        current = self.store.frame_masks(frame)
        produced = self._produced.pop(frame, {})
        taken = None
        for o in others:
            rec = current.get(o)
            if rec is not None and rec.rle is not None and (rec.anchor or o not in produced):
                m = rec.decode()
            elif o in produced:
                m = rle.decode(produced[o])
            else:
                continue
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
