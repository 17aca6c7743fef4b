"""Edit ▸ …: undo and redo, the tools and the brush size, the prompt's keys (Tab, Backspace,
Delete), the objects' number keys, and View ▸ mask overlay."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from annotator.gui.canvas import Canvas
from annotator.gui.status_bar import StatusBar
from annotator.gui.view_state import ViewState

TOOL_HINTS = {"points": "Points: left click object, right click background",
              "brush": "Brush: drag to paint ([ and ] change the size)",
              "eraser": "Eraser: drag to erase ([ and ] change the size)",
              "box": "Box: drag a rectangle around the object (again: a new box); click to add "
                     "points",
              "keyframe": "Keyframe box (box-only annotation): drag the object's box on this "
                          "frame, drag inside it to move it, a handle to resize it; Shift+K: "
                          "not visible from here"}


class EditController(QObject):
    """The window's editing commands (see the module docstring)."""

    def __init__(self, state: ViewState, status: StatusBar, canvas: Canvas,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.status = status
        self.canvas = canvas
        self.session: Any = None
        self.prompt: Any = None
        self.boxes: Any = None  # the box-only annotation's controller (BoxController)

    def attach(self, session: Any, prompt: Any) -> None:
        from annotator.gui.box_controller import BoxController

        self.session, self.prompt = session, prompt
        self.boxes = BoxController(session, self.state, self.canvas, self)

    def detach(self) -> None:
        self.session = self.prompt = self.boxes = None

    def keyframe(self, *corners: float) -> None:
        """A box drawn, moved or resized with the keyframe tool."""
        if self.boxes is not None:
            self.boxes.keyframe(*corners)

    def box_outside(self) -> None:
        if self.boxes is not None:
            self.boxes.outside()

    def delete_keyframe(self) -> None:
        if self.boxes is not None:
            self.boxes.delete_keyframe()

    def undo(self) -> None:
        if self.session is not None:
            self.session.undo("undo")

    def redo(self) -> None:
        if self.session is not None:
            self.session.undo("redo")

    def set_tool(self, tool: str) -> None:
        self.state.tool = tool
        self.status.say(TOOL_HINTS[tool])

    def brush_size(self, delta: int) -> None:
        self.canvas.set_brush_radius(self.canvas.brush_radius + delta)
        self.status.say(f"Brush radius {self.canvas.brush_radius} px")

    def toggle_outline(self) -> None:
        """Masks as outlines only (to see the pixels under them), or filled again."""
        outline = self.state.overlay != "outline"
        self.state.set_overlay("outline" if outline else "filled")
        self.status.say("Masks: outlines only" if outline else
                        f"Masks: filled at {self.state.opacity:.0%} opacity")

    def toggle_mask_boxes(self) -> None:
        """Each mask's tight box drawn on the frame, or not."""
        self.canvas.mask_boxes = not self.canvas.mask_boxes
        self.canvas.update()
        self.status.say("Masks' boxes shown" if self.canvas.mask_boxes else
                        "Masks' boxes hidden")

    def opacity(self, delta: float) -> None:
        self.state.set_overlay("filled", self.state.opacity + delta)
        self.status.say(f"Masks: filled at {self.state.opacity:.0%} opacity")

    def next_candidate(self) -> None:
        if self.prompt is not None:
            self.prompt.next_candidate()

    def remove_last_point(self) -> None:
        if self.prompt is not None:
            self.prompt.remove_last_point()

    def delete_mask(self) -> None:
        if self.prompt is not None:
            self.prompt.delete_mask()

    def select_object_key(self, n: int) -> None:
        """Keys 1–9: the n-th object of the Objects panel."""
        objects = self.session.objects if self.session is not None else ()
        if not 0 < n <= len(objects):
            self.status.say(f"There is no object {n}: add one in the Objects panel.", True)
            return
        self.state.object_id = objects[n - 1].id
