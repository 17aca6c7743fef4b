"""What the person is looking at: frame, object, tool, comparison, hidden objects, overlay.

One :class:`ViewState` per window. It is view state only — nothing in it is annotation, and
nothing in it is saved in the project (the last frame and object are kept per person in the
window's settings). Views and controllers set it and listen to its signals; nobody pushes the
current frame or object to the views by hand. Setting a value to what it already is emits
nothing.

``frame_changed(frame, playing)``: ``playing`` is True while playback moves the frame (views
repaint, but nothing is embedded and no snippet of sound plays); :meth:`settle` says again
that the person is on the current frame (playback paused there).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

TOOLS = ("points", "brush", "eraser", "box", "keyframe")
#: how masks are drawn: a translucent fill with its outline, or the outline alone
OVERLAYS = ("filled", "outline")


class ViewState(QObject):
    """The window's view state (see the module docstring)."""

    frame_changed = Signal(int, bool)  # frame, playing
    object_changed = Signal(object)  # object id or None
    tool_changed = Signal(str)
    other_version_changed = Signal(bool)  # the other version of the current mask is shown
    hidden_changed = Signal(object)  # frozenset of hidden object ids
    overlay_changed = Signal(str, float)  # "filled" | "outline", opacity 0..1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 0
        self._frame = 0
        self._object: int | None = None
        self._tool = "points"
        self._other_version = False
        self._hidden: frozenset[int] = frozenset()
        self._overlay = "filled"
        self._opacity = 0.43  # (the window sets the person's own from the settings)
        self.playing = False
        self.selected_segment: int | None = None  # the row chosen in the segments panel

    # -- the project ---------------------------------------------------------------------------
    def reset(self, frame_count: int) -> None:
        """A project opened (``frame_count`` frames) or closed (0): frame 0, no object, no
        comparison, nothing hidden. The tool and the overlay stay the person's."""
        self.frame_count = int(frame_count)
        self.playing = False
        self.other_version = False
        self.hidden = frozenset()
        self.selected_segment = None
        self.object_id = None
        self._frame = -1  # so that frame 0 is announced
        self.set_frame(0)

    # -- frame ---------------------------------------------------------------------------------
    @property
    def frame(self) -> int:
        return max(0, self._frame)

    def set_frame(self, frame: int, playing: bool = False) -> None:
        """Go to ``frame`` (clamped to the video)."""
        frame = max(0, min(max(0, self.frame_count - 1), int(frame)))
        self.playing = bool(playing)
        if frame != self._frame:
            self._frame = frame
            self.frame_changed.emit(frame, self.playing)

    def step(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

    def settle(self) -> None:
        """Playback stopped: the frame on screen is the one the person works on now."""
        self.playing = False
        self.frame_changed.emit(self.frame, False)

    # -- object, tool, comparison --------------------------------------------------------------
    @property
    def object_id(self) -> int | None:
        return self._object

    @object_id.setter
    def object_id(self, oid: int | None) -> None:
        oid = None if oid is None else int(oid)
        if oid != self._object:
            self._object = oid
            self.object_changed.emit(oid)

    def go(self, object_id: int | None, frame: int) -> None:
        """The object, then the frame (a flag, a segment's first frame)."""
        self.object_id = object_id
        self.set_frame(frame)

    @property
    def tool(self) -> str:
        return self._tool

    @tool.setter
    def tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; one of {TOOLS}")
        if tool != self._tool:
            self._tool = tool
            self.tool_changed.emit(tool)

    @property
    def other_version(self) -> bool:
        return self._other_version

    @other_version.setter
    def other_version(self, on: bool) -> None:
        if bool(on) != self._other_version:
            self._other_version = bool(on)
            self.other_version_changed.emit(self._other_version)

    # -- what is drawn -------------------------------------------------------------------------
    @property
    def hidden(self) -> frozenset[int]:
        return self._hidden

    @hidden.setter
    def hidden(self, ids) -> None:  # noqa: ANN001 - any iterable of ids
        ids = frozenset(int(i) for i in ids)
        if ids != self._hidden:
            self._hidden = ids
            self.hidden_changed.emit(ids)

    def set_visible(self, object_id: int, visible: bool) -> None:
        self.hidden = (self._hidden - {object_id}) if visible else (self._hidden | {object_id})

    @property
    def overlay(self) -> str:
        return self._overlay

    @property
    def opacity(self) -> float:
        return self._opacity

    def set_overlay(self, overlay: str | None = None, opacity: float | None = None) -> None:
        """Masks filled or as outlines only, and the fill's opacity (0..1)."""
        overlay = self._overlay if overlay is None else overlay
        if overlay not in OVERLAYS:
            raise ValueError(f"unknown overlay {overlay!r}; one of {OVERLAYS}")
        opacity = self._opacity if opacity is None else max(0.0, min(1.0, float(opacity)))
        if (overlay, opacity) != (self._overlay, self._opacity):
            self._overlay, self._opacity = overlay, opacity
            self.overlay_changed.emit(overlay, opacity)


def current_segment(session, state: ViewState):  # noqa: ANN001, ANN201 - a ProjectSession
    """The segment the person is on: the current object's segment under the playhead, else the
    segment chosen in the segments panel (None when neither)."""
    if session is None:
        return None
    return (session.segment_at(state.object_id, state.frame)
            or session.segment(state.selected_segment))
