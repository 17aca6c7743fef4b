"""Planning a propagation: which engine steps, on which frames, write which masks.

Words (see DESIGN.md): an object's *span* is one of its audible segments (or, in a project
with no segments at all, the implicit segment from its first anchor to the video's end — the
semi-supervised VOS convention: an object exists from the frame its first mask is given on).

**Nearest anchor.** Inside a span, every frame that is not an anchor is propagated from its
nearest anchor: forward from the anchor before it, backward from the anchor after it (a tie
goes forward; before the first anchor everything is backward, after the last everything is
forward). So a forward run from an anchor stops at most at the next anchor (at the midpoint,
in fact) and a backward run at most at the previous one; no frame is computed twice, and adding
an anchor changes exactly the frames whose nearest anchor it becomes — which is what
:func:`plan_repropagation` re-runs. A :class:`Run` is one anchor, one direction and the frames
it writes.

**Passes.** Spans of different objects that overlap (transitively) form one :class:`PassPlan`
and run together, so their masks exclude each other: a forward *sweep* steps through the
pass's frames in order feeding every run that covers the frame (objects join at their anchor
and leave where their run ends), then a backward sweep does the same in reverse. Each sweep is
a list of :class:`Step`; where no run is active the engine is reset (its memory is cleared
between segments and across gaps). Anchors of the pass's objects on a stepped frame are always
given to the engine, so propagated masks never take an anchor's pixels. In the backward sweep,
masks the forward sweep wrote on the same frame for other objects are subtracted (they were
there first).

A plan is pure data computed from the store; :meth:`PassPlan.fingerprint` identifies it so a
resumed job can tell whether the anchors changed meanwhile.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

from annotator.core.store import Store

FORWARD, BACKWARD = 1, -1


@dataclass(frozen=True)
class Span:
    """One object's stretch of frames in a pass, with its anchors."""

    object_id: int
    segment_id: int | None  # None: the implicit segment of a project without segments
    start: int
    end: int
    anchors: tuple[int, ...]
    anchor_revs: tuple[int, ...] = ()

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Run:
    """Propagation of one object from one anchor in one direction over ``frames``."""

    object_id: int
    anchor: int
    direction: int
    frames: tuple[int, ...]  # in processing order, anchor excluded

    @property
    def last(self) -> int:
        return self.frames[-1]


def assign_runs(span: Span) -> list[Run]:
    """The runs that cover every non-anchor frame of ``span`` by the nearest-anchor rule."""
    anchors = sorted(a for a in span.anchors if span.start <= a <= span.end)
    if not anchors:
        return []
    runs: list[Run] = []
    oid = span.object_id
    first, last = anchors[0], anchors[-1]
    if first > span.start:
        runs.append(Run(oid, first, BACKWARD, tuple(range(first - 1, span.start - 1, -1))))
    for a, b in zip(anchors, anchors[1:]):
        if b - a < 2:
            continue
        mid = (a + b) // 2  # frames a+1..mid forward (ties forward), mid+1..b-1 backward
        runs.append(Run(oid, a, FORWARD, tuple(range(a + 1, mid + 1))))
        if mid + 1 <= b - 1:
            runs.append(Run(oid, b, BACKWARD, tuple(range(b - 1, mid, -1))))
    if last < span.end:
        runs.append(Run(oid, last, FORWARD, tuple(range(last + 1, span.end + 1))))
    return runs


@dataclass(frozen=True)
class Step:
    """One engine step: the frame, what is given, what is asked for, what gets written."""

    frame: int
    given: tuple[int, ...]  # objects with an anchor on this frame (masks read from the store)
    active: tuple[int, ...]  # objects the engine outputs (runs covering the frame, anchors)
    write: tuple[int, ...]  # objects whose propagated mask is written on this frame
    subtract: tuple[int, ...] = ()  # other objects whose current mask here wins over ours
    reset: bool = False  # clear the engine's memory before this step


@dataclass
class PassPlan:
    """Everything one propagation job does; see the module docstring."""

    key: str
    spans: list[Span]
    runs: list[Run]
    sweeps: list[list[Step]] = field(default_factory=list)
    skipped: list[Span] = field(default_factory=list)  # spans without an anchor

    @property
    def object_ids(self) -> list[int]:
        return sorted({s.object_id for s in self.spans})

    @property
    def segment_ids(self) -> list[int]:
        return sorted({s.segment_id for s in self.spans if s.segment_id is not None})

    @property
    def start(self) -> int:
        return min(s.start for s in self.spans)

    @property
    def end(self) -> int:
        return max(s.end for s in self.spans)

    @property
    def total(self) -> int:
        """(object, frame) masks this plan writes."""
        return sum(len(r.frames) for r in self.runs)

    @property
    def steps(self) -> int:
        return sum(len(s) for s in self.sweeps)

    def fingerprint(self, extra: dict | None = None) -> str:
        """Identity of the plan (spans, anchors and their revisions, runs) plus ``extra``."""
        body = {
            "spans": [[s.object_id, s.segment_id, s.start, s.end, list(s.anchors),
                       list(s.anchor_revs)] for s in self.spans],
            "runs": [[r.object_id, r.anchor, r.direction, r.frames[0], r.last]
                     for r in self.runs],
            "extra": extra or {},
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]


def run_length(steps: list[Step], k: int) -> int:
    """How many steps the engine takes from ``steps[k]`` (a reset) to the next reset: the
    length of that engine run (what SAM 2.1's ``set_run_length`` is told)."""
    end = next((j for j in range(k + 1, len(steps)) if steps[j].reset), len(steps))
    return end - k


def build_sweeps(spans: list[Span], runs: list[Run]) -> list[list[Step]]:
    """The forward and the backward sweep of ``runs`` (see the module docstring)."""
    anchors = {(s.object_id, a) for s in spans for a in s.anchors if s.start <= a <= s.end}
    spans_at = _spans_index(spans)
    written_fwd: dict[int, set[int]] = {}
    for r in runs:
        if r.direction == FORWARD:
            for f in r.frames:
                written_fwd.setdefault(f, set()).add(r.object_id)
    sweeps = []
    for direction in (FORWARD, BACKWARD):
        cover: dict[int, set[int]] = {}
        writes: dict[int, set[int]] = {}
        for r in runs:
            if r.direction != direction:
                continue
            cover.setdefault(r.anchor, set()).add(r.object_id)
            for f in r.frames:
                cover.setdefault(f, set()).add(r.object_id)
                writes.setdefault(f, set()).add(r.object_id)
        steps: list[Step] = []
        prev = None
        for f in sorted(cover, reverse=direction == BACKWARD):
            objs = spans_at(f)
            given = tuple(sorted(o for o in objs if (o, f) in anchors))
            write = tuple(sorted(writes.get(f, ())))
            if direction == BACKWARD:
                sub = tuple(sorted(written_fwd.get(f, set()) - set(write)))
            else:
                sub = ()
            reset = prev is None or abs(f - prev) != 1
            steps.append(Step(f, given, tuple(sorted(cover[f] | set(given))), write, sub, reset))
            prev = f
        sweeps.append(steps)
    return sweeps


def _spans_index(spans: list[Span]):
    def at(frame: int) -> set[int]:
        return {s.object_id for s in spans if s.start <= frame <= s.end}
    return at


def object_spans(store: Store, segment_ids: list[int] | None = None) -> list[Span]:
    """Spans of the project: its audible segments, or implicit ones when it has none.

    ``segment_ids`` limits them to those segments (an error names an unknown one).
    """
    segments = store.segments()
    if segment_ids is not None:
        known = {s.id: s for s in segments}
        missing = [i for i in segment_ids if i not in known]
        if missing:
            from annotator.core.records import StoreError

            raise StoreError(f"{store.path}: no segment {', '.join(map(str, missing))} "
                             f"(segments: {', '.join(map(str, sorted(known))) or 'none'})")
        segments = [known[i] for i in segment_ids]
    spans = []
    if segments or segment_ids is not None:
        for seg in segments:
            spans.append(_span(store, seg.object_id, seg.id, seg.start, seg.end))
        return spans
    last = store.frame_count - 1
    for obj in store.objects():
        frames = store.anchors(obj.id)
        if frames:
            spans.append(_span(store, obj.id, None, frames[0], last))
    return spans


def _span(store: Store, oid: int, sid: int | None, start: int, end: int) -> Span:
    recs = [m for m in store.masks_of(oid, start, end) if m.anchor]
    return Span(oid, sid, start, end, tuple(m.frame for m in recs), tuple(m.rev_id for m in recs))


def group_spans(spans: list[Span]) -> list[list[Span]]:
    """Spans grouped by transitive overlap, in frame order."""
    groups: list[list[Span]] = []
    end = -1
    for s in sorted(spans, key=lambda s: (s.start, s.end, s.object_id)):
        if groups and s.start <= end:
            groups[-1].append(s)
            end = max(end, s.end)
        else:
            groups.append([s])
            end = s.end
    return groups


def plan_passes(store: Store, segment_ids: list[int] | None = None) -> list[PassPlan]:
    """One plan per group of overlapping spans (``segment_ids``: only those segments)."""
    plans = []
    spans = object_spans(store, segment_ids)
    _check_no_overlap(store, spans)
    for group in group_spans(spans):
        with_anchor = [s for s in group if s.anchors]
        runs = [r for s in with_anchor for r in assign_runs(s)]
        plan = PassPlan(_key(group), with_anchor, runs,
                        skipped=[s for s in group if not s.anchors])
        if with_anchor:
            plan.sweeps = build_sweeps(with_anchor, runs)
        plans.append(plan)
    return plans


def _check_no_overlap(store: Store, spans: list[Span]) -> None:
    """Two audible segments of one object must not overlap: which anchor would a frame use?
    The store refuses such segments (:func:`~annotator.core.segments.segment_problem`), but a
    project written before it did may still hold them."""
    from annotator.core.records import StoreError
    from annotator.core.segments import first_overlap, segment_problem

    known = {s.id: s for s in store.segments()}
    segs = sorted((known[s.segment_id] for s in spans if s.segment_id in known),
                  key=lambda s: (s.object_id, s.start, s.id))
    n = store.frame_count
    for k, seg in enumerate(segs):
        name = store.object(seg.object_id).name
        problem = segment_problem(segs[:k], seg.object_id, seg.start, seg.end, n, name=name)
        if problem is None:
            continue
        other = first_overlap(segs[:k], seg.object_id, seg.start, seg.end)
        if other is None:
            raise StoreError(f"{store.path}: segment {seg.id} of object {name!r}: {problem}; "
                             "change it, then propagate again")
        raise StoreError(
            f"{store.path}: segments {other.id} ({other.start}–{other.end}) and {seg.id} "
            f"({seg.start}–{seg.end}) of object {name!r} overlap; merge them or shorten one, "
            "then propagate again")


def _key(group: list[Span]) -> str:
    if all(s.segment_id is not None for s in group):
        return "seg:" + "+".join(str(s.segment_id) for s in sorted(group, key=lambda s: s.segment_id))
    return "video:" + "+".join(str(s.object_id) for s in sorted(group, key=lambda s: s.object_id))


def plan_repropagation(store: Store, object_id: int, frame: int,
                       directions: tuple[int, ...] = (FORWARD, BACKWARD)) -> PassPlan:
    """Re-propagate ``object_id`` from its anchor ``frame``: only the frames whose nearest
    anchor it is (between it and the neighbouring anchors), in ``directions``."""
    from annotator.core.records import StoreError

    rec = store.mask(object_id, frame)
    if rec is None or not rec.anchor:
        raise StoreError(f"frame {frame} of object {object_id} is not an anchor: draw or accept "
                         "a mask there first, then re-propagate")
    spans = [s for s in object_spans(store) if s.object_id == object_id and s.start <= frame <= s.end]
    if not spans:
        raise StoreError(f"frame {frame} is outside every audible segment of object {object_id}")
    span = spans[0]
    runs = [r for r in assign_runs(span) if r.anchor == frame and r.direction in directions]
    others = [s for s in object_spans(store) if s.object_id != object_id
              and s.start <= span.end and s.end >= span.start]
    plan = PassPlan(f"repropagate:{object_id}:{frame}", [span], runs)
    plan.sweeps = build_sweeps([span], runs)
    for sweep in plan.sweeps:  # the other objects' current masks win where we write
        sweep[:] = [replace(st, subtract=tuple(sorted(
            {s.object_id for s in others if s.start <= st.frame <= s.end})) if st.write else ())
            for st in sweep]
    return plan
