"""Review ▸ Reviewer mode: a second person approves the segment under the playhead or asks
for work on it, with a comment pinned to a frame; the comment shows on that frame.

The verdicts are review events in the project (:mod:`annotator.core.review`), written on the
session's writer thread; the states the views show (the check view lists what a reviewer
asked for first) come from the session's check list, read off the GUI thread after every
change. Reviewer mode is the window's, not the project's: the Approve / Needs work buttons
of the check view show while it is on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from annotator.gui.canvas import Canvas
from annotator.gui.status_bar import StatusBar
from annotator.gui.view_state import ViewState, current_segment


class ReviewerController(QObject):
    """The window's reviewer commands and the comment on the frame (see the module)."""

    mode_changed = Signal(bool)

    def __init__(self, state: ViewState, status: StatusBar, canvas: Canvas, parent: QWidget,
                 show_check: Callable[[], None], check_view: Callable[[], Any]) -> None:
        super().__init__(parent)
        self.state, self.status, self.canvas = state, status, canvas
        self.parent_widget = parent
        self.show_check = show_check
        self.check_view = check_view  # () -> the open project's check view
        self.on = False
        self.session: Any = None
        self.dialog: Any = None  # the Needs work dialog while it is open (tests find it)
        state.frame_changed.connect(lambda *_: self._remark())
        state.object_changed.connect(lambda *_: self._remark())

    def attach(self, session: Any) -> None:
        self.session = session
        session.flags_changed.connect(self._remark)
        view = self.check_view()
        view.review.connect(self.verdict)
        view.set_reviewer(self.on)
        self._remark()

    def detach(self) -> None:
        self.session = None
        self.canvas.set_remark("")

    # -- the mode ------------------------------------------------------------------------------
    def toggle(self) -> None:
        self.set_mode(not self.on)

    def set_mode(self, on: bool) -> None:
        self.on = bool(on)
        if self.session is not None:
            self.check_view().set_reviewer(self.on)
            if self.on:
                self.show_check()
        self.status.say("Reviewer mode: approve the segment under the playhead, or ask for work "
                        "on it with a comment on this frame (the check view's buttons)."
                        if self.on else "Reviewer mode off.")
        self.mode_changed.emit(self.on)

    # -- verdicts ------------------------------------------------------------------------------
    def verdict(self, state: str) -> None:
        """``approved`` or ``needs_work`` (which asks for the comment first) for the segment
        under the playhead."""
        session = self.session
        if session is None:
            return
        if not self.on:
            self.status.say("Turn on Review ▸ Reviewer mode to approve segments or ask for "
                            "work on them.", True)
            return
        seg = current_segment(session, self.state)
        if seg is None:
            self.status.say("No audible segment here to review: go to a frame of one (select "
                            "its object).", True)
            return
        if state == "approved":
            self._write(seg, "approved", None, None)
            return
        from annotator.gui.dialogs.review_dialog import NeedsWorkDialog

        name = getattr(session.object(seg.object_id), "name", "?")
        dlg = NeedsWorkDialog(self.parent_widget, f"What needs work on {name}, frames "
                              f"{seg.start}–{seg.end}?", seg.start, seg.end, self.state.frame)
        self.dialog = dlg

        def done(result: int) -> None:
            self.dialog = None
            if result == NeedsWorkDialog.DialogCode.Accepted and session is self.session:
                comment, frame = dlg.values()
                self._write(seg, "needs_work", comment, frame)
            dlg.deleteLater()

        dlg.finished.connect(done)
        dlg.open()

    def _write(self, seg: Any, state: str, comment: str | None, frame: int | None) -> None:
        session = self.session
        store = session.store
        name = getattr(session.object(seg.object_id), "name", "?")
        words = "approved" if state == "approved" else f"needs work (frame {frame})"

        def work() -> str:
            store.add_review(seg.id, state, comment=comment, frame=frame)
            return store.person  # (read here: the settings file is not the GUI thread's)

        def done(who: str) -> None:
            self.status.say(f"Segment {name} {seg.start}–{seg.end}: {words}, by {who}.")
            session.refresh_checks()

        session.write(work, done)

    # -- the comment on its frame --------------------------------------------------------------
    def _remark(self, *_changed: Any) -> None:
        session = self.session
        if session is None:
            self.canvas.set_remark("")
            return
        frame = self.state.frame
        here = [r for r in session.checks.listed_reviews
                if r.comment and r.frame == frame and r.state in ("needs_work", "fixed")]
        text = "  ·  ".join(f"{'Needs work' if r.state == 'needs_work' else 'Fixed since'} "
                            f"({r.by}, {getattr(session.object(r.object_id), 'name', '?')}): "
                            f"{r.comment}" for r in here)
        self.canvas.set_remark(text)
