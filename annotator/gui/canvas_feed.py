"""What the canvas shows: the view state's frame with its masks, read off the GUI thread.

The feed follows the view state (frame, object) and the session
(masks that changed, objects recoloured): it asks the session's pool for the frame's
:class:`~annotator.gui.layers.FrameView` and hands it to the canvas. While one frame loads only
the newest wanted frame waits (frames are dropped, never queued), so scrubbing and playback stay
smooth. The line over the frame (the HUD) is made from the session's memory, never the store.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor

from annotator.gui.canvas import Canvas
from annotator.gui.segments_panel import fmt_time
from annotator.gui.session import ProjectSession
from annotator.gui.view_state import ViewState


class CanvasFeed(QObject):
    """Keeps one canvas showing the view state's frame of one session."""

    def __init__(self, session: ProjectSession, state: ViewState, canvas: Canvas,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.state = state
        self.canvas = canvas
        self.loading = False  # a frame is being read (tests wait for it)
        self._want: int | None = None
        self._version = 0
        self._opacity = state.opacity
        state.frame_changed.connect(self._frame_changed)
        state.object_changed.connect(self._object_changed)
        state.overlay_changed.connect(self._overlay_changed)
        session.masks_changed.connect(self._masks_changed)
        session.objects_changed.connect(self._objects_changed)
        session.segments_changed.connect(self.update_hud)
        self._object_changed()
        self.request(state.frame)

    def close(self) -> None:
        """The project closes: a frame still loading belongs to it and is not shown."""
        self.session = None
        self.loading, self._want = False, None

    # -- frames --------------------------------------------------------------------------------
    def _frame_changed(self, frame: int, playing: bool) -> None:
        if playing:
            self.canvas.set_points([])  # a frame's clicked points do not ride along
            self.canvas.set_box(None)
        self.update_hud()
        self.request(frame)

    def request(self, frame: int) -> None:
        """Show ``frame`` as soon as it is read (only the newest frame asked for waits)."""
        self._want = frame
        session = self.session
        if self.loading or session is None:
            return
        self.loading = True
        version = self._version

        def done(view: Any) -> None:
            if self.session is not session:
                return
            self.loading = False
            self.canvas.set_view(view)
            if self._want != view.index or self._version != version:
                self.request(self._want)
            else:
                self._want = None

        def failed(exc: BaseException) -> None:
            if self.session is not session:
                return
            self.loading = False
            self._want = None
            session.failed.emit(exc)

        opacity = self.state.opacity
        session.run(lambda: session.frame_view(frame, opacity=opacity), done, failed)

    def show_early(self, view: Any) -> None:
        """A view built right after a click (the new mask before it is written)."""
        if view.index == self.state.frame and not self.loading:
            self.canvas.set_view(view)

    def _masks_changed(self, keys: Any) -> None:
        frame = self.state.frame
        if keys is None or any(int(k[1]) == frame for k in keys):
            self._version += 1
            self.request(frame)

    def _overlay_changed(self, _overlay: str, opacity: float) -> None:
        if self.canvas.view is not None and opacity != self._opacity:
            self._version += 1  # the fills are made again at the new opacity
            self.request(self.state.frame)
        self._opacity = opacity

    def _objects_changed(self) -> None:
        self._version += 1  # a colour may have changed: the overlays are made again
        self.request(self.state.frame)
        self._object_changed()

    # -- the line over the frame ---------------------------------------------------------------
    def _object_changed(self, *_changed) -> None:
        obj = self.session.object(self.state.object_id) if self.session else None
        if obj is not None:
            self.canvas.active_color = QColor(obj.color)
        self.canvas.active_object = obj.id if obj is not None else None
        self.update_hud()

    def update_hud(self) -> None:
        s, state = self.session, self.state
        if s is None:
            return
        frame = state.frame
        text = f"frame {frame} / {s.frame_count - 1} · {fmt_time(s.time_of(frame))}"
        obj = s.object(state.object_id)
        if obj is not None:
            seg = s.segment_at(obj.id, frame)
            where = f"segment {seg.start}–{seg.end}" if seg else "not audible here"
            text += f" · {obj.name} ({where})"
        self.canvas.set_hud(text)
