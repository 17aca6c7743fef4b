"""Stage 1 (and fixes in stage 3) in the window: clicks, candidates, brush and accept on the
view state's frame and object.

The prompt logic is :class:`annotator.pipeline.prompting.Prompter`'s (the API uses the same);
this controller is its Qt plumbing. Every action runs on the session's serial thread through
:meth:`ProjectSession.apply`, which makes the edit (the model call) outside the write
transaction, writes it as its own undo operation and tells the views; the controller shows
the new mask and its points at once, before the write lands.

While the frame's image embedding is being computed the clicks are queued (the serial thread
runs them in order once it is ready) and shown as dotted points.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from annotator.errors import UserError
from annotator.gui.ask import ask
from annotator.gui.session import ProjectSession
from annotator.gui.view_state import ViewState
from annotator.pipeline import prompting
from annotator.pipeline.prompting import Edit


class PromptController(QObject):
    """Turns clicks and strokes on the current (object, frame) into store operations."""

    points_changed = Signal(list, list)  # points of the current mask, queued clicks
    box_changed = Signal(object)  # the box of the current mask's prompt, or None
    view_ready = Signal(object)  # a FrameView with the new mask, before it is written
    embedding_changed = Signal(str)  # "idle", "computing", "ready"
    candidate_changed = Signal(int, int)  # index, count
    accepted = Signal(int, int)  # object, frame: the mask on screen became an anchor
    early = Signal(int, int, list, object)  # object, frame, points, FrameView before the write

    def __init__(self, session: ProjectSession, state: ViewState, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.state = state
        self.parent_widget = parent  # questions (an odd anchor) are asked over it
        self.store = session.store
        self.object_id: int | None = None
        self.frame: int | None = None
        self.points: list[tuple[float, float, bool]] = []
        self.pending: list[tuple[float, float, bool]] = []
        self.prompt_box: list[float] | None = None
        self.embedding = "idle"
        # the prompt logic: its actions run on the serial thread only (the segmenter's)
        self.prompts = prompting.Prompter(session.store, session.segmenter,
                                          lambda f: session.video[f], session.video_key)
        session.masks_changed.connect(self._on_masks_changed)
        self.early.connect(self._early)
        state.frame_changed.connect(self._follow)
        state.object_changed.connect(self._follow_object)
        self._follow(state.frame, False)

    def release(self) -> None:
        """The project closes: stop following the view state first (its reset to no frame
        must not start embedding a frame of the closed project, whose "computing" notice
        then stayed on the empty window), then go."""
        self.state.frame_changed.disconnect(self._follow)
        self.state.object_changed.disconnect(self._follow_object)
        self.deleteLater()

    # -- target ----------------------------------------------------------------------------
    def _follow(self, frame: int, playing: bool) -> None:
        """The view state moved: the clicks are about its frame and object from now on
        (while playback moves the frame, nothing is embedded)."""
        if not playing:
            self.set_target(self.state.object_id, frame)

    def _follow_object(self, _oid: int | None) -> None:
        self._follow(self.state.frame, self.state.playing)

    def set_target(self, object_id: int | None, frame: int | None) -> None:
        changed = (object_id, frame) != (self.object_id, self.frame)
        self.object_id, self.frame = object_id, frame
        if changed:
            self.pending = []
            self.refresh()
        if frame is not None and frame != self.prompts.embedded:
            self._embed(frame)

    def _embed(self, frame: int) -> None:
        self._set_embedding("computing")
        prompts = self.prompts

        def work() -> int:
            prompts.embed(frame)
            return frame

        def done(f: int) -> None:
            if f == self.frame:
                self._set_embedding("ready")

        self.session.write(work, done, self._failed)

    def _set_embedding(self, state: str) -> None:
        self.embedding = state
        self.embedding_changed.emit(state)

    def _early(self, oid: int, frame: int, pts: list, view: Any) -> None:
        if (oid, frame) == (self.object_id, self.frame):
            if pts and tuple(pts[-1]) in self.pending:
                self.pending.remove(tuple(pts[-1]))
            self.points = [tuple(p) for p in pts]
            self.points_changed.emit(self.points, list(self.pending))
            self.view_ready.emit(view)

    def refresh(self) -> None:
        """Re-read the points and box of the current mask from the store (off the GUI
        thread)."""
        oid, frame, prompts = self.object_id, self.frame, self.prompts
        if oid is None or frame is None:
            self.points, self.prompt_box = [], None
            self.points_changed.emit([], list(self.pending))
            self.box_changed.emit(None)
            return

        def done(result: tuple[int, int, list, Any]) -> None:
            if result[:2] == (self.object_id, self.frame):
                self.points, self.prompt_box = result[2], result[3]
                self.points_changed.emit(self.points, list(self.pending))
                self.box_changed.emit(self.prompt_box)

        self.session.run(lambda: (oid, frame, prompts.points(oid, frame),
                                  prompts.box_of(oid, frame)), done)

    def _on_masks_changed(self, keys: Any) -> None:
        if keys is None or (self.object_id, self.frame) in {tuple(k) for k in keys}:
            self.refresh()

    # -- checks ----------------------------------------------------------------------------
    def _target(self) -> tuple[int, int] | None:
        if self.session.readonly:
            self.session.say(self.store.readonly_reason, True)
            return None
        if self.object_id is None:
            self.session.say("Choose an object first: press 1–9 or click it in the Objects "
                             "panel.", True)
            return None
        if self.frame is None:
            return None
        if self.session.segment_at(self.object_id, self.frame) is None:
            name = getattr(self.session.object(self.object_id), "name", "this object")
            self.session.say(prompting.outside_segments(name, self.frame) + " Jump to a "
                             "segment (double-click it in the Segments panel) or add one.", True)
            return None
        return self.object_id, self.frame

    def _failed(self, exc: BaseException) -> None:
        self.pending = []
        self.points_changed.emit(self.points, [])
        if self.embedding == "computing":
            self._set_embedding("idle")
        self.session.failed.emit(exc)

    # -- actions ---------------------------------------------------------------------------
    def _submit(self, name: str, make, pending: tuple | None = None, on_done: Any = None,
                **words: Any) -> None:
        """Make the edit ``make(oid, frame)`` (the prompter's action, model included) on the
        serial thread, then write it in one short transaction (:meth:`ProjectSession.apply`):
        nobody (the GUI thread reading, a job committing) waits on a model call."""
        target = self._target()
        if target is None:
            return
        oid, frame = target
        label, kind = prompting.action(name, **words)
        if pending:
            self.pending.append(pending)
            self.points_changed.emit(self.points, list(self.pending))

        def prepare() -> Edit:
            edit = make(oid, frame)
            if edit.candidate is not None:  # the segmenter's mask: on screen before the write
                self.early.emit(oid, frame, edit.points, self.session.frame_view(
                    frame, {oid: edit.mask}, opacity=self.state.opacity))
            return edit

        def write(op: int, edit: Edit) -> list:
            edit.write(op)
            if edit.candidate is not None:
                self.candidate_changed.emit(*edit.candidate)
            return [(oid, frame)]

        def done(_op: int, edit: Edit) -> None:
            if pending and pending in self.pending:
                self.pending.remove(pending)
            if (oid, frame) == (self.object_id, self.frame):
                self.points = list(edit.points or [])
                self.points_changed.emit(self.points, list(self.pending))
                if edit.candidate is not None:  # the segmenter's: its box is the prompt's
                    self.prompt_box = edit.box
                    self.box_changed.emit(self.prompt_box)
            if on_done is not None:
                on_done()

        self.session.apply(label, write, kind, prepare=prepare, structure=kind == "accept",
                           on_done=done, on_error=self._failed)

    def click(self, x: float, y: float, positive: bool) -> None:
        """Add a point (left click: object, right click: background) and update the mask."""
        point = (float(x), float(y), bool(positive))
        prompts = self.prompts
        self._submit("click", lambda oid, f: prompts.click(oid, f, *point), pending=point,
                     point=point)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A box dragged with the Box tool (two opposite corners): the segmenter masks what it
        holds, with the frame's points; a new box replaces the one before."""
        try:
            box = prompting.clip_box((x0, y0, x1, y1), (self.session.height, self.session.width))
        except UserError as exc:
            self.session.say(str(exc), True)
            return
        prompts = self.prompts
        self._submit("box", lambda oid, f: prompts.box(oid, f, *box), box=box)

    def next_candidate(self) -> None:
        """Show the segmenter's next candidate mask for the same points (Tab)."""
        self._submit("candidate", self.prompts.next_candidate)

    def remove_last_point(self) -> None:
        self._submit("remove_point", self.prompts.remove_last_point)

    def stroke(self, points: list[tuple[float, float]], radius: int, erase: bool) -> None:
        """Paint (or erase) a stroke of ``radius`` pixels into the current mask."""
        prompts = self.prompts
        self._submit("stroke", lambda oid, f: prompts.stroke(oid, f, points, radius, erase),
                     erase=erase)

    def accept(self) -> None:
        """Enter: the mask on screen becomes this frame's anchor; a to-do segment becomes
        annotated. A mask that looks wrong for an anchor (empty, covering most of the frame,
        reaching far past the clicks, rated low by SAM, far larger or smaller than its
        neighbours: :func:`prompting.anchor_concern`) is questioned first, on the serial
        thread, so a click still being computed is part of what is checked."""
        oid, frame = self.object_id, self.frame
        if oid is None or frame is None or self._target() is None:
            return
        store = self.store
        self.session.write(lambda: prompting.anchor_concern(store, oid, frame),
                           lambda concern: self._accept_checked(oid, frame, concern))

    def _accept_checked(self, oid: int, frame: int, concern: str | None) -> None:
        if (oid, frame) != (self.object_id, self.frame):
            return  # the person moved on meanwhile: nothing to accept here any more
        if concern is None:
            self.accept_now()
            return

        def anyway() -> None:
            if (oid, frame) == (self.object_id, self.frame):
                self.accept_now()

        ask(self.parent_widget, "Accept this mask as an anchor?", concern,
            "Propagation starts from anchors and never changes them. Fix the mask first "
            "(clicks, brush) or accept it anyway.", "Accept anyway", anyway)

    def accept_now(self, rev_id: int | None = None) -> None:
        """Make the current mask — or the revision ``rev_id`` of it (a version shown for
        comparison) — the frame's anchor, without questions."""
        oid, frame, prompts = self.object_id, self.frame, self.prompts
        self._submit("accept", lambda o, f: prompts.accept(o, f, rev_id),
                     on_done=lambda: self.accepted.emit(oid, frame), other=rev_id is not None)

    def delete_mask(self) -> None:
        self._submit("delete", self.prompts.delete)
