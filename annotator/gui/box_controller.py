"""Box-only annotation in the window: the keyframe tool's boxes (drawn, moved or resized on the
canvas), an *outside* keyframe, and deleting a keyframe — each one undoable store operation
on the view state's frame and object, written on the session's serial thread
(:meth:`ProjectSession.apply`). A box drawn on an interpolated or tracked frame becomes a
keyframe there; what is shown between keyframes is :mod:`annotator.core.box_tracks`'."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from annotator.errors import UserError
from annotator.pipeline import prompting


class BoxController(QObject):
    """Writes box keyframes of the current (object, frame)."""

    def __init__(self, session: Any, state: Any, canvas: Any, parent: QObject) -> None:
        super().__init__(parent)
        self.session, self.state, self.canvas = session, state, canvas
        self.store = session.store

    def _target(self) -> tuple[int, int] | None:
        s, oid, frame = self.session, self.state.object_id, self.state.frame
        if s.readonly:
            s.say(self.store.readonly_reason, True)
            return None
        if oid is None:
            s.say("Choose an object first: press 1–9 or click it in the Objects panel.", True)
            return None
        if s.segment_at(oid, frame) is None:
            name = getattr(s.object(oid), "name", "this object")
            s.say(f"Frame {frame} is outside every audible segment of {name}: boxes exist "
                  "only where the object sounds. Jump to a segment or add one.", True)
            return None
        return oid, frame

    def _apply(self, label: str, write) -> None:
        target = self._target()
        if target is None:
            return
        oid, frame = target
        store = self.store

        def run(op: int) -> list:
            write(store, oid, frame, op)
            return [(oid, frame)]

        self.session.apply(label.format(frame=frame), run, "box",
                           on_error=self.session.failed.emit)

    def keyframe(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """The selected object's box on this frame (two opposite corners): a keyframe."""
        try:
            box = prompting.clip_box((x0, y0, x1, y1), (self.session.height, self.session.width))
        except UserError as exc:
            self.session.say(str(exc), True)
            return
        self._apply("Box keyframe on frame {frame}",
                    lambda store, oid, f, op: store.put_box(oid, f, box, op=op))

    def outside(self) -> None:
        """An outside keyframe here: the object is not visible from this frame until its next
        keyframe (the box shown here, if any, is kept with it)."""
        shown = self.canvas.view.boxes.get(self.state.object_id) if self.canvas.view else None
        box = shown[0].box if shown is not None and shown[0].box is not None else \
            (0.0, 0.0, float(self.session.width), float(self.session.height))
        self._apply("Not visible from frame {frame}",
                    lambda store, oid, f, op: store.put_box(oid, f, box, outside=True, op=op))

    def delete_keyframe(self) -> None:
        """Remove this frame's keyframe (interpolation takes its place; undo brings it back)."""
        shown = self.canvas.view.boxes.get(self.state.object_id) if self.canvas.view else None
        if shown is None or not shown[0].keyframe:
            self.session.say("No box keyframe of this object on this frame.", True)
            return
        self._apply("Delete box keyframe on frame {frame}",
                    lambda store, oid, f, op: store.delete_box(oid, f, op=op))
