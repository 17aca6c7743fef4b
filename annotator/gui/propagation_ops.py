"""The window's propagation commands: current segment, all segments, from the current frame,
re-propagation between anchors; the job's progress and end in the status bar."""

from __future__ import annotations

from typing import Any

from annotator.gui import jobs


class PropagationOps:
    """Mixed into :class:`~annotator.gui.main_window.MainWindow`."""

    # -- propagation ---------------------------------------------------------------------------
    def _start_job(self, title: str, fn: Any) -> None:
        session = self.session
        if session is None:
            return
        self._play.stop()
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
        project, sid = self.session.project, seg.id
        self._start_job(f"Propagate segment {seg.start}–{seg.end}",
                        lambda ctx: jobs.propagate_segments(project, [sid], ctx))

    def propagate_all(self) -> None:
        if self.session is None:
            return
        project = self.session.project
        self._start_job("Propagate all segments",
                        lambda ctx: jobs.propagate_segments(project, None, ctx))

    def propagate_from_here(self, direction: int) -> None:
        if self.session is None or self.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        project, oid, f = self.session.project, self.object_id, self.frame
        dirs = ("forward",) if direction > 0 else ("backward",)
        self._start_job(f"Propagate {dirs[0]} from frame {f}",
                        lambda ctx: jobs.repropagate(project, oid, f, ctx, dirs))

    def repropagate_between_anchors(self) -> None:
        if self.session is None or self.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        project, oid, f = self.session.project, self.object_id, self.frame
        self._start_job(f"Re-propagate around frame {f}",
                        lambda ctx: jobs.repropagate(project, oid, f, ctx))

    def _job_started(self, job: Any) -> None:
        self.status.show_job(job.title)

    def cancel_job(self) -> None:
        if self.session is not None and self.session.cancel_job():
            self.status.cancel_btn.setEnabled(False)

    def _job_finished(self, result: Any) -> None:
        self.status.show_job(None)
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
                    + (f", {result['flagged']} flagged" if result.get("flagged") else ""))
            self.status.say(("Cancelled: " if result.get("cancelled") else "Done: ") + what
                            + (" (kept; propagate again to resume)"
                               if result.get("cancelled") else ""))
