"""Review ▸ …, stage 3: the check view, flag to flag, the XMem mask beside the refined one,
Enter on a fix (re-propagated to the neighbouring anchors), the segment's verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from annotator.gui.canvas import Canvas
from annotator.gui.layers import mask_layer
from annotator.gui.segments_panel import STATUS_LABELS
from annotator.gui.status_bar import StatusBar
from annotator.gui.view_state import ViewState, current_segment
from annotator.pipeline.triage import needs_repropagation


class ReviewController(QObject):
    """The window's stage-3 commands (see the module docstring)."""

    def __init__(self, state: ViewState, status: StatusBar, canvas: Canvas, parent: QWidget,
                 show_dock: Callable[[], None], dock_shown: Callable[[], bool],
                 repropagate: Callable[[], None]) -> None:
        super().__init__(parent)
        self.state = state
        self.status = status
        self.canvas = canvas
        self.show_dock = show_dock
        self.dock_shown = dock_shown
        self.repropagate = repropagate
        self.session: Any = None
        self.check_view: Any = None
        self.prompt: Any = None
        self._request = 0  # the comparison asked for last; older answers are dropped
        self._shown: tuple[int, int, int] | None = None  # (object, frame, revision) on screen
        state.other_version_changed.connect(self._show_other_version)
        state.frame_changed.connect(lambda *_: self._moved())
        state.object_changed.connect(lambda *_: self._moved())

    def attach(self, session: Any, check_view: Any, prompt: Any) -> None:
        self.session, self.check_view, self.prompt = session, check_view, prompt
        prompt.accepted.connect(self._accepted)
        session.masks_changed.connect(self._masks_changed)
        check_view.use_shown.connect(self.use_shown_mask)
        check_view.mark.connect(self.mark_current_segment)

    def detach(self) -> None:
        self.state.other_version = False
        self.session = self.check_view = self.prompt = None

    # -- the check view ------------------------------------------------------------------------
    def show_check_view(self) -> None:
        self.show_dock()
        if self.session is not None:
            self.session.refresh_checks()  # what the list says is read now

    def next_flag(self, direction: int = 1) -> None:
        if self.check_view is None:
            return
        if not self.dock_shown():
            self.show_dock()
        self.check_view.step(direction)

    def mark_current_segment(self, status: str) -> None:
        session = self.session
        seg = current_segment(session, self.state)
        if seg is None:
            self.status.say("No segment here to mark.", True)
            return
        store = session.store
        session.apply(f"Mark segment {STATUS_LABELS[status]}",
                      lambda op: store.update_segment(seg.id, status=status, op=op),
                      "edit_segment", structure=True)

    # -- Enter ---------------------------------------------------------------------------------
    def accept(self) -> None:
        """Enter: the version on screen after X, else the current mask, becomes the anchor."""
        if self.prompt is None:
            return
        if self.state.other_version:
            self.use_shown_mask()
        else:
            self.prompt.accept()

    def _accepted(self, oid: int, frame: int) -> None:
        """In the check view, a fix re-propagates up to the neighbouring anchors."""
        session = self.session
        if (session is None or self.check_view is None or not self.dock_shown()
                or not self.check_view.auto_repropagate.isChecked()):
            return
        store = session.store

        def go(needed: bool) -> None:
            if needed and session is self.session and (oid, frame) == (
                    self.state.object_id, self.state.frame):
                self.repropagate()

        session.run(lambda: needs_repropagation(store, oid, frame), go)

    # -- XMem ⇄ refined ------------------------------------------------------------------------
    def toggle_other_version(self) -> None:
        self.state.other_version = not self.state.other_version

    def _moved(self) -> None:
        self.state.other_version = False  # the comparison is about one frame of one object

    def _masks_changed(self, keys: Any) -> None:
        if self.state.other_version and (keys is None or any(int(k[1]) == self.state.frame
                                                       for k in keys)):
            self._show_other_version(True)

    def _show_other_version(self, on: bool) -> None:
        """Show the other version of the current mask: XMem's raw one or the refined one."""
        self._request += 1
        self._shown = None
        session, oid, frame = self.session, self.state.object_id, self.state.frame
        if not on or session is None or oid is None:
            self.canvas.set_preview(None)
            return
        store, request = session.store, self._request
        color = getattr(session.object(oid), "color", "#ffffff")

        def work() -> tuple:
            revs = [r for r in store.revisions(oid, frame) if r.rle is not None]
            cur = store.mask(oid, frame)
            if cur is None or len(revs) < 2:
                return None, "No other version of this mask to compare with."
            others = [r for r in revs if r.rev_id != cur.rev_id]
            want = "propagated" if cur.source == "refined" else "refined"
            pick = next((r for r in reversed(others) if r.source == want), others[-1])
            text = (f"Showing the {pick.source} version (revision {pick.rev_id}) instead of "
                    f"the current {cur.source} one; Enter uses it, X switches back.")
            return (pick.rev_id, pick.decode()), text

        def done(result: tuple) -> None:
            if self.session is not session or self._request != request:
                return  # stale: asked for another frame/object, switched off or superseded
            rec, text = result
            if self.check_view is not None:
                self.check_view.set_compare_text(text)
            if rec is None:
                self.state.other_version = False
                self.status.say(text)
                return
            rev_id, mask = rec
            self.canvas.set_preview(mask_layer(mask, color, opacity=self.state.opacity,
                                               dashed=True), hides=oid)
            self._shown = (oid, frame, rev_id)

        session.run(work, done)

    def use_shown_mask(self) -> None:
        """Make the version on screen (after X) this frame's anchor."""
        if self.prompt is None:
            return
        if not self.state.other_version:
            self.prompt.accept()
            return
        shown = self._shown
        if shown is None or shown[:2] != (self.state.object_id, self.state.frame):
            self.status.say("The other version of this frame's mask is not on screen yet: wait "
                            "for it (or press X again), then Enter.", True)
            return
        self.state.other_version = False
        self.prompt.accept_now(rev_id=shown[2])
