"""The window's propagation commands: current segment, all segments, from the current frame,
re-propagation between anchors; the job's progress and end in the status bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox

from annotator import settings
from annotator.gui import jobs
from annotator.gui.ask import ask

#: statuses of a segment whose propagation has run (set by the pipeline or by a person)
_RAN = ("propagated", "review", "failed")


def _already_propagated(seg: Any, masks: list) -> bool:
    """Done, or propagated (every frame has a mask) and no anchor accepted since."""
    if seg.status == "done":
        return True
    if seg.status not in _RAN or len(masks) < seg.length:
        return False
    machine = [m.rev_id for m in masks if not m.anchor]
    return not machine or max(m.rev_id for m in masks if m.anchor) < max(machine)


def triage(store: Any, segment_ids: list[int] | None) -> dict:
    """Which segments a propagation can start (worker thread): ``run`` (segment ids),
    ``unanchored`` and, for all segments (``segment_ids`` None), ``already`` propagated or
    done — as ``(label, segment)`` pairs; ``label`` is "object start–end"."""
    names = {o.id: o.name for o in store.objects()}
    segs = (store.segments() if segment_ids is None
            else [store.segment(i) for i in segment_ids])
    out: dict[str, list] = {"run": [], "unanchored": [], "already": []}
    for seg in segs:
        masks = store.masks_of(seg.object_id, seg.start, seg.end)
        label = f"{names.get(seg.object_id, '?')} {seg.start}–{seg.end}"
        if not any(m.anchor for m in masks):
            out["unanchored"].append((label, seg))
        elif segment_ids is None and _already_propagated(seg, masks):
            out["already"].append((label, seg))
        else:
            out["run"].append(seg.id)
    return out


def _listed(pairs: list, most: int = 4) -> str:
    names = [label for label, _s in pairs[:most]]
    return ", ".join(names) + (f" and {len(pairs) - most} more" if len(pairs) > most else "")


def triage_note(t: dict) -> str:
    """What a propagation leaves out and why, for the status bar ("" when nothing)."""
    parts = []
    if t["already"]:
        n = len(t["already"])
        parts.append(f"skipped {n} segment{'s' * (n != 1)} already propagated or done "
                     f"({_listed(t['already'])}): select one and press P to propagate it again")
    if t["unanchored"]:
        first = t["unanchored"][0][1]
        parts.append(f"not started, no accepted mask yet: {_listed(t['unanchored'])} — click "
                     f"the object on frame {first.start} and press Enter first, then P")
    return "; ".join(parts)


#: re-propagating over more reviewed masks than this asks first (setting guards/reviewed_frames)
REVIEWED_FRAMES = 20


def reviewed_masks(store: Any, object_id: int, frame: int) -> tuple | None:
    """``(count, first, last, name)`` of the masks a re-propagation from ``frame`` would
    replace inside a segment marked done, or None when the segment is not marked done."""
    seg = next((s for s in store.segments(object_id) if frame in s), None)
    if seg is None or seg.status != "done":
        return None
    anchors = store.anchors(object_id, seg.start, seg.end)
    lo = max((a for a in anchors if a < frame), default=seg.start - 1) + 1
    hi = min((a for a in anchors if a > frame), default=seg.end + 1) - 1
    n = sum(1 for m in store.masks_of(object_id, lo, hi) if not m.anchor and m.frame != frame)
    return n, lo, hi, store.object(object_id).name


class PropagationOps:
    """Mixed into :class:`~annotator.gui.main_window.MainWindow`."""

    # -- propagation ---------------------------------------------------------------------------
    def _start_job(self, title: str, fn: Any) -> None:
        session = self.session
        if session is None:
            return
        self.playback.pause()
        session.start_job(title, fn)

    def current_segment(self) -> Any:
        if self.session is None:
            return None
        if self.object_id is not None:
            for s in self.session.store.segments(self.object_id):
                if self.frame in s:
                    return s
        if self.segments_panel and self.segments_panel.selected_id() is not None:
            return self.session.store.segment(self.segments_panel.selected_id())
        return None

    def propagate_current(self) -> None:
        seg = self.current_segment()
        if seg is None or self.session is None:
            self.status.say("No segment here: choose an object and a frame inside one of its "
                            "audible segments (or select a segment).", True)
            return
        self._propagate_checked([seg.id], f"Propagate segment {seg.start}–{seg.end}")

    def propagate_all(self) -> None:
        """Every segment that has an anchor and is not propagated or done yet; says what it
        skipped and which segments it could not start."""
        if self.session is None:
            return
        self._propagate_checked(None, "Propagate all segments")

    def _propagate_checked(self, segment_ids: list[int] | None, title: str) -> None:
        """Triage the segments on a worker, then start the job on those it can run."""
        session = self.session
        store = session.store

        def start(t: dict) -> None:
            if session is not self.session:
                return
            note = triage_note(t)
            if not t["run"]:
                if segment_ids is not None and t["unanchored"]:
                    label, seg = t["unanchored"][0]
                    note = (f"Segment {label} has no accepted mask yet: click the object on "
                            f"frame {seg.start} and press Enter first, then P.")
                else:
                    note = "Nothing to propagate: " + (note or "there are no segments yet")
                self.status.say(note[0].upper() + note[1:], True, 15000)
                return
            project, ids = session.project, t["run"]
            running = session.job
            self._start_job(title, lambda ctx: jobs.propagate_segments(project, ids, ctx))
            if session.job is not None and session.job is not running:
                self._propagate_note = note

        session.run(lambda: triage(store, segment_ids), start)

    def propagate_from_here(self, direction: int) -> None:
        if self.session is None or self.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        project, oid, f = self.session.project, self.object_id, self.frame
        dirs = ("forward",) if direction > 0 else ("backward",)
        self._start_job(f"Propagate {dirs[0]} from frame {f}",
                        lambda ctx: jobs.repropagate(project, oid, f, ctx, dirs))

    def repropagate_between_anchors(self) -> None:
        """Re-propagate from the anchor on this frame up to its neighbouring anchors; when that
        replaces many masks of a segment the person marked done (reviewed), ask first."""
        if self.session is None or self.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        session = self.session
        project, oid, f = session.project, self.object_id, self.frame
        limit = settings.get("guards.reviewed_frames")

        def start() -> None:
            if session is self.session:
                self._start_job(f"Re-propagate around frame {f}",
                                lambda ctx: jobs.repropagate(project, oid, f, ctx))

        def decide(reviewed: tuple | None) -> None:
            if session is not self.session:
                return
            if reviewed is None or reviewed[0] <= limit:
                start()
                return
            n, lo, hi, name = reviewed
            ask(self, "Replace reviewed masks?",
                f"Re-propagating from frame {f} replaces {n} masks of {name} (frames "
                f"{lo}–{hi}) in a segment you marked done.",
                "They stay in the project as revisions; Edit ▸ Undo brings them back in one "
                "step.", "Re-propagate", start, icon=QMessageBox.Icon.Question)

        session.run(lambda: reviewed_masks(session.store, oid, f), decide)

    def _job_started(self, job: Any) -> None:
        self.status.show_job(job.title)

    def cancel_job(self) -> None:
        if self.session is not None and self.session.cancel_job():
            self.status.cancel_btn.setEnabled(False)

    def _job_finished(self, result: Any) -> None:
        self.status.show_job(None)
        self._show_engines()  # a job may have loaded XMem, or moved a model to the CPU
        note, self._propagate_note = getattr(self, "_propagate_note", ""), ""
        if not isinstance(result, dict):
            return
        if result.get("failed"):
            return
        for line in result.get("skipped", []):
            self.status.say(line, True, 12000)
        if "message" in result:
            self.status.say(result["message"])
        elif "frames" in result and not (result.get("skipped") and not result["frames"]):
            what = (f"{result['frames']} masks propagated"
                    + (f", {result['flagged']} flagged" if result.get("flagged") else "")
                    + (f"; {result['kept']} frame{'s' if result['kept'] != 1 else ''} a person "
                       "edited while it ran kept as they were" if result.get("kept") else "")
                    + ("; already propagated from the same anchors (nothing changed since): "
                       "accept a new anchor to run it again"
                       if result.get("already") and not result["frames"] else ""))
            self.status.say(("Cancelled: " if result.get("cancelled") else "Done: ") + what
                            + (" (kept; propagate again to resume)"
                               if result.get("cancelled") else ""))
        if note:  # what the propagation left out, after what it did
            self.status.say(f"{self.status.currentMessage().rstrip('.')}; {note}.", True, 15000)
