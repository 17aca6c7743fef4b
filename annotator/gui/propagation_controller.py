"""Propagate ▸ …: the current segment, all segments, from the current frame, between anchors;
the running job in the status bar, its cancel, and the question before closing during one.

What can start is decided on a worker (:mod:`annotator.pipeline.triage`); the job runs on the
session's job thread (:mod:`annotator.gui.jobs`) and ends in a
:class:`~annotator.pipeline.outcome.JobOutcome`, whose sentence the status bar shows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from annotator import settings
from annotator.gui import jobs
from annotator.gui.ask import ask
from annotator.gui.status_bar import StatusBar
from annotator.gui.view_state import ViewState, current_segment
from annotator.pipeline.outcome import JobOutcome
from annotator.pipeline.triage import reviewed_masks, triage, triage_note


class PropagationController(QObject):
    """The window's propagation commands (see the module docstring)."""

    def __init__(self, state: ViewState, status: StatusBar, parent: QWidget,
                 before_job: Any = None) -> None:
        super().__init__(parent)
        self.state = state
        self.status = status
        self.parent_widget = parent
        self.before_job = before_job or (lambda: None)  # e.g. pause playback
        self.session: Any = None
        self._note = ""  # what the running propagation left out, said after it ends
        status.cancel_requested.connect(self.cancel_job)

    def attach(self, session: Any) -> None:
        self.session = session
        session.job_started.connect(lambda job: self.status.show_job(job.title))
        session.job_progress.connect(self.status.job_progress)
        session.job_finished.connect(self._job_finished)

    def detach(self) -> None:
        self.session = None

    # -- commands ------------------------------------------------------------------------------
    def _editable(self) -> bool:
        s = self.session
        if s is None:
            return False
        if s.readonly:
            self.status.say(self.session.store.readonly_reason, True)
            return False
        return True

    def _start(self, title: str, fn: Any) -> bool:
        self.before_job()
        return self.session.start_job(title, fn) is not None

    def _segment_here(self) -> Any:
        """The segment under the playhead, or None (said in the status bar)."""
        seg = current_segment(self.session, self.state)
        if seg is None:
            self.status.say("No segment here: choose an object and a frame inside one of its "
                            "audible segments (or select a segment).", True)
        return seg

    def propagate_current(self) -> None:
        if not self._editable():
            return
        seg = self._segment_here()
        if seg is None:
            return
        self._propagate_checked([seg.id], f"Propagate segment {seg.start}–{seg.end}")

    def propagate_all(self) -> None:
        """Every segment that has an anchor and is not propagated or done yet; says what it
        skipped and which segments it could not start."""
        if self._editable():
            self._propagate_checked(None, "Propagate all segments")

    def _propagate_checked(self, segment_ids: list[int] | None, title: str) -> None:
        """Triage the segments on a worker, then start the job on those it can run."""
        session = self.session
        store = session.store

        def start(t: dict) -> None:
            if session is not self.session:
                return
            note = triage_note(t)
            if not t["run"] and not t["boxes"]:
                if segment_ids is not None and t["unanchored"]:
                    label, seg = t["unanchored"][0]
                    note = (f"Segment {label} has no accepted mask yet: click the object on "
                            f"frame {seg.start} and press Enter first, then P.")
                else:
                    note = "Nothing to propagate: " + (note or "there are no segments yet")
                self.status.say(note[0].upper() + note[1:], True, 15000)
                return
            project, ids, boxes = session.project, t["run"], t["boxes"]
            if self._start(title, lambda ctx: jobs.propagate_segments(project, ids, ctx,
                                                                      boxes)):
                self._note = note

        session.run(lambda: triage(store, segment_ids), start)

    def masks_from_boxes(self) -> None:
        """Propagate ▸ Masks from boxes: the segment under the playhead, box-only, gets the
        segmenter's mask of each box keyframe as an anchor, then is propagated (the boxes
        stay; undo takes back each step)."""
        if not self._editable():
            return
        seg = self._segment_here()
        if seg is None:
            return
        project = self.session.project
        self._start(f"Masks from the boxes of segment {seg.start}–{seg.end}",
                    lambda ctx: jobs.masks_from_boxes(project, seg.id, ctx))

    def propagate_from_here(self, direction: int) -> None:
        if not self._editable():
            return
        if self.state.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        project, oid, f = self.session.project, self.state.object_id, self.state.frame
        dirs = ("forward",) if direction > 0 else ("backward",)
        self._start(f"Propagate {dirs[0]} from frame {f}",
                    lambda ctx: jobs.repropagate(project, oid, f, ctx, dirs))

    def repropagate_between_anchors(self) -> None:
        """Re-propagate from the anchor on this frame up to its neighbouring anchors; when that
        replaces many masks of a segment the person marked done (reviewed), ask first."""
        if not self._editable():
            return
        if self.state.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        session = self.session
        project, oid, f = session.project, self.state.object_id, self.state.frame
        limit = settings.get("guards.reviewed_frames")

        def start() -> None:
            if session is self.session:
                self._start(f"Re-propagate around frame {f}",
                            lambda ctx: jobs.repropagate(project, oid, f, ctx))

        def decide(reviewed: tuple | None) -> None:
            if session is not self.session:
                return
            if reviewed is None or reviewed[0] <= limit:
                start()
                return
            n, lo, hi, name = reviewed
            ask(self.parent_widget, "Replace reviewed masks?",
                f"Re-propagating from frame {f} replaces {n} masks of {name} (frames "
                f"{lo}–{hi}) in a segment you marked done.",
                "They stay in the project as revisions; Edit ▸ Undo brings them back in one "
                "step.", "Re-propagate", start, icon=QMessageBox.Icon.Question)

        session.run(lambda: reviewed_masks(session.store, oid, f), decide)

    def cancel_job(self) -> None:
        if self.session is not None and self.session.cancel_job():
            self.status.cancel_btn.setEnabled(False)

    # -- the end of a job ----------------------------------------------------------------------
    def _job_finished(self, outcome: JobOutcome) -> None:
        self.status.show_job(None)
        note, self._note = self._note, ""
        if outcome.failed:
            return
        for line in outcome.skipped:
            self.status.say(line, msecs=12000, warning=True)
        text = outcome.text()
        if text:
            self.status.say(text)
        if note:  # what the propagation left out, after what it did
            self.status.say(f"{self.status.currentMessage().rstrip('.')}; {note}.", msecs=15000,
                            warning=True)

    def may_close(self) -> bool:
        """Ask before closing a project whose job is still running (False: the person said
        no). A job that ends while the person reads the question leaves nothing to stop: the
        box closes itself and the project closes, as asked."""
        session = self.session
        if session is None or session.job is None:
            return True
        yes = QMessageBox.StandardButton.Yes
        box = QMessageBox(
            QMessageBox.Icon.Question, "A job is running",
            f"“{session.job.title}” is still running. Stop it and close the project? "
            "Frames already done are kept and the job can be run again later.",
            yes | QMessageBox.StandardButton.No, self.parent_widget)
        ended = session.job_finished.connect(lambda _outcome: box.done(yes))
        self.parent_widget.dialog = box
        try:
            return box.exec() == yes
        finally:
            session.job_finished.disconnect(ended)
            if self.parent_widget.dialog is box:
                self.parent_widget.dialog = None
