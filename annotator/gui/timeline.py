"""Timeline: the sound (waveform, spectrogram, proposals), a row per object with its audible
segments and masks, a strip of per-frame flags, the playhead across all of them, and a scroll
bar under them that shows and moves the visible stretch.

Click or drag on the ruler, the sound rows or the flags to scrub; on an object's row drag to
draw, move or resize a segment (:mod:`annotator.gui.timeline_edit`), click to select one, Delete
to delete it; the wheel zooms around the pointer; a sideways wheel or swipe, Shift+wheel or the
scroll bar scrolls. The sound rows live in :mod:`annotator.gui.timeline_audio`; where things
are drawn, in :mod:`annotator.gui.timeline_geometry` (the helpers read that, not this widget).

Objects and segments are the session's (in memory); per-frame states come from the store on a
worker thread and are kept as NumPy arrays (one byte per frame and object), drawn per pixel
column, so hour-long videos stay cheap to paint. The playhead and the current object's row
follow the view state; clicking or dragging sets its frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QDialog, QScrollBar, QSizePolicy, QWidget

from annotator.gui.segments_panel import STATUS_COLORS
from annotator.gui.session import ProjectSession
from annotator.gui.timeline_audio import AudioRows
from annotator.gui.timeline_edit import SegmentEditor
from annotator.gui.timeline_geometry import (
    FLAG_H,
    LABEL_W,
    RIGHT_PAD,
    ROW_H,
    RULER_H,
    SOUND_H,
    SPEC_H,
    SPEC_SMALL,
    WAVE_H,
    WAVE_SMALL,
    TimelineGeometry,
    runs,
)
from annotator.gui.view_state import ViewState
from annotator.pipeline.check_list import (
    ANCHOR,
    BOX_KEY,
    BOX_LINE,
    FLAGGED,
    PROPAGATED,
    frame_states,
    mask_state,
)

SHORT_WINDOW = 720  # below this window height the sound rows are smaller
MAX_SHARE = 0.3  # of a short window's height, unless the rows' floor needs more
ZOOM_STEP = 1.25  # one notch of the wheel
PAN_STEP = 0.1  # of the visible stretch, one notch of a sideways wheel (or Shift+wheel)


class Timeline(QWidget):
    """The bottom strip of the window."""

    #: Delete on a selected segment: the window asks, like the segments panel does
    delete_requested = Signal(int)

    #: the question the timeline has open (tests find it here), if any
    dialog: QDialog | None = None

    def __init__(self, session: ProjectSession, state: ViewState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.session = session
        self.state = state
        self.states: dict[int, np.ndarray] = {}
        self._flagged: tuple = (None, {})  # (the check list, {object or None: bool per frame})
        self.scroll = QScrollBar(Qt.Orientation.Horizontal, self)
        self.scroll.setObjectName("timeline_scroll")
        self.scroll.setCursor(Qt.CursorShape.ArrowCursor)
        self.scroll.valueChanged.connect(self._scrolled)
        self.geom = TimelineGeometry(session.frame_count,
                                     scroll_h=self.scroll.sizeHint().height())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Delete reaches a selected segment
        self._dragging = False
        self._pan_rest = 0.0  # a trackpad's small sideways deltas, until they make a frame
        self.audio = AudioRows(self.geom, session, state, self)
        self.editor = SegmentEditor(self.geom, session, state, self,
                                    lambda: self.audio.onset_bounds)
        self._pending_keys: set[tuple[int, int]] = set()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._flush)
        session.objects_changed.connect(self.reload)
        session.segments_changed.connect(self._segments_changed)
        session.proposals_changed.connect(self.audio.proposals_changed)
        session.masks_changed.connect(self._masks_changed)
        session.flags_changed.connect(self.update)
        state.frame_changed.connect(self.set_frame)
        state.object_changed.connect(self.update)
        self.reload()
        self._sync_scroll()
        self.audio.start()

    # -- size ----------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802
        """Tall enough for the sound rows whole and every object's row, and no taller: the
        frame gets the rest."""
        return QSize(400, self.geom.height(WAVE_H, SPEC_H))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(LABEL_W + 100, self.geom.floor_height())

    def height_for(self, window_height: int) -> int:
        """The height the timeline asks for in a window ``window_height`` px tall: every row
        whole from :data:`SHORT_WINDOW` px on; below, smaller sound rows, at most
        :data:`MAX_SHARE` of the window (the frame keeps most of it) and never below the
        rows' floor."""
        g = self.geom
        if window_height >= SHORT_WINDOW:
            return g.height(WAVE_H, SPEC_H)
        small = g.height(WAVE_SMALL, SPEC_SMALL)
        return max(g.floor_height(), min(small, int(MAX_SHARE * window_height)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._lay_out()

    def _lay_out(self) -> None:
        g = self.geom
        g.plot_w = max(1, self.width() - LABEL_W - RIGHT_PAD)
        g.fit_sound(self.height())
        self.scroll.setGeometry(LABEL_W, g.scroll_top, g.plot_w, g.scroll_h)
        self.update()

    def sound_heights(self) -> tuple[int, int]:
        """(waveform, spectrogram) row heights now (0: the spectrogram has no room)."""
        return self.geom.wave_h, self.geom.spec_h

    # -- data ----------------------------------------------------------------------------------
    @property
    def objects(self) -> tuple:
        return self.session.objects

    def reload(self) -> None:
        """Every object's per-frame states, read again (on the pool)."""
        store, n, ids = self.session.store, self.geom.n, [o.id for o in self.objects]
        if tuple(ids) != self.geom.object_ids:
            self.geom.object_ids = tuple(ids)
            self.setMinimumHeight(self.geom.floor_height())
            self.updateGeometry()
            self._lay_out()
        self.session.run(lambda: {oid: frame_states(store, oid, n) for oid in ids}, self._fill)

    def _segments_changed(self) -> None:
        if self.editor.selected not in {sg.id for sg in self.session.segments}:
            self.editor.selected = None
        self.update()

    def _fill(self, states: dict) -> None:
        self.states = states
        self.update()

    def _masks_changed(self, keys: Any) -> None:
        if keys is None:
            self._pending_keys.clear()
            self._debounce.stop()
            self.reload()
            return
        self._pending_keys.update(tuple(k) for k in keys)
        if not self._debounce.isActive():
            self._debounce.start()

    def _flush(self) -> None:
        keys, self._pending_keys = self._pending_keys, set()
        if len(keys) > 2000:
            self.reload()
            return
        store = self.session.store

        def work() -> list | None:
            if any(store.box_revisions(oid, f) for oid, f in keys):
                return None  # a box keyframe: the interpolation around it changed too
            return [(oid, f, mask_state(store.mask(oid, f))) for oid, f in keys]

        def done(rows: list | None) -> None:
            if rows is None:
                self.reload()
                return
            for oid, f, s in rows:
                arr = self.states.get(oid)
                if arr is not None and 0 <= f < len(arr):
                    arr[f] = s
            self.update()

        self.session.run(work, done)

    def flagged(self, object_id: int | None = None) -> np.ndarray:
        """Bool per frame: inside a flagged clip of the check list (of ``object_id``, else of
        any object) — the frames the check view lists and F visits (made once per check list,
        not at every paint)."""
        checks = self.session.checks
        if self._flagged[0] is not checks:
            self._flagged = (checks, {})
        cache = self._flagged[1]
        if object_id not in cache:
            cache[object_id] = checks.flagged(self.geom.n, object_id)
        return cache[object_id]

    # -- the visible stretch -------------------------------------------------------------------
    def set_frame(self, frame: int, _playing: bool = False) -> None:
        """Keep the playhead in view."""
        if self.geom.follow(frame):
            self._sync_scroll()
        self.update()

    def _sync_scroll(self) -> None:
        """The scroll bar shows the visible stretch: its handle is [v0, v1) of the video."""
        g, bar = self.geom, self.scroll
        bar.blockSignals(True)
        bar.setRange(0, max(0, g.n - g.span))
        bar.setPageStep(max(1, g.span))
        bar.setSingleStep(max(1, g.span // 10))
        bar.setValue(g.v0)
        bar.blockSignals(False)
        bar.setToolTip(f"Frames {g.v0}–{g.v1 - 1} of {g.n}. Drag to scroll; the wheel zooms, "
                       "Shift+wheel or a sideways swipe scrolls.")
        self.update()

    def _scrolled(self, value: int) -> None:
        self.geom.show(value, self.geom.span)
        self.update()

    def _x(self, frame: float) -> float:
        return self.geom.x(frame)

    # -- proposals (the window's keys and menu actions) --------------------------------------
    def assign_proposal(self) -> None:
        self.audio.assign(self.state.object_id)

    def reject_proposal(self) -> None:
        self.audio.reject()

    def propose(self) -> None:
        self.audio.propose()

    # -- input ---------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        x, y = event.position().x(), event.position().y()
        if event.button() != Qt.MouseButton.LeftButton or x < LABEL_W:
            return
        if self.editor.press(x, y):
            return
        g = self.geom
        if g.sound_top <= y < g.sound_top + SOUND_H:  # a proposal is selected by clicking it
            hit = self.audio.proposal_at(g.frame_at(x))
            self.audio.selected = hit.id if hit is not None else None
        self._dragging = True
        self.state.set_frame(g.frame_at(x))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        x, y = event.position().x(), event.position().y()
        if self.editor.drag is not None:
            self.editor.move(x)
        elif self._dragging:
            self.state.set_frame(self.geom.frame_at(x))
        else:
            self.setCursor(self.editor.cursor(x, y))
            g = self.geom
            in_sound = g.wave_top <= y < g.sound_top
            self.setToolTip(g.sound_hint if in_sound else "")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._dragging = False
        if event.button() == Qt.MouseButton.LeftButton:
            self.editor.release(event.position().x())

    def _own_key(self, event: QKeyEvent) -> bool:
        """Keys the timeline takes from the window: Delete (the window's "delete mask") on a
        selected segment deletes the segment; Escape during a drag drops the drag."""
        if event.key() == Qt.Key.Key_Escape:
            return self.editor.drag is not None
        return self.editor.selected is not None and event.matches(QKeySequence.StandardKey.Delete)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and self._own_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not self._own_key(event):
            super().keyPressEvent(event)
        elif event.key() == Qt.Key.Key_Escape:
            self.editor.drag = None
            self.update()
        else:
            self.delete_requested.emit(self.editor.selected)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """The wheel zooms around the pointer; a sideways wheel or swipe (or Shift+wheel)
        scrolls, positive deltas towards the start, as in any scrolled view."""
        dx, dy = event.angleDelta().x(), event.angleDelta().y()
        g = self.geom
        if abs(dx) > abs(dy):
            self._pan(dx)
        elif event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._pan(dy)
        elif dy:
            g.zoom(g.pos_at(event.position().x()), ZOOM_STEP ** (dy / 120.0))
        self._sync_scroll()
        event.accept()

    def _pan(self, delta: int) -> None:
        """A wheel's delta (120 a notch) pans :data:`PAN_STEP` of the view a notch; a
        trackpad's small deltas add up until they make a whole frame."""
        self._pan_rest -= delta / 120.0 * PAN_STEP * self.geom.span
        whole = int(self._pan_rest)
        self._pan_rest -= whole
        self.geom.pan(whole)

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#26282b"))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        g = self.geom
        width = g.plot_w
        self._paint_ruler(p, width)
        self.audio.paint_rows(p, self.editor.selected)
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        y = g.rows_top
        for o in self.objects:
            row = QRectF(0, y, self.width(), ROW_H - 2)
            if o.id == self.state.object_id:
                p.fillRect(row, QColor("#34373c"))
            p.setPen(QColor(o.color))
            p.drawText(QRectF(6, y, LABEL_W - 8, ROW_H - 2), left, o.name)
            p.save()  # a segment that begins or ends out of view stops at the plot's edges
            p.setClipRect(QRectF(LABEL_W, y, width, ROW_H))
            for s in self.session.segments_of(o.id):
                if s.end < g.v0 or s.start >= g.v1:
                    continue
                x0, x1 = g.x(s.start), g.x(s.end + 1)
                c = QColor(STATUS_COLORS.get(s.status, "#888888"))
                c.setAlpha(90)
                p.fillRect(QRectF(x0, y + 1, max(2.0, x1 - x0), ROW_H - 4), c)
                selected = s.id == self.editor.selected
                p.setPen(QPen(QColor("#ffffff") if selected
                              else QColor(STATUS_COLORS.get(s.status, "#888888")),
                              2 if selected else 1))
                p.drawRect(QRectF(x0, y + 1, max(2.0, x1 - x0), ROW_H - 4))
            if self.editor.drag is not None and self.editor.drag.object_id == o.id:
                self.editor.paint_preview(p, y + 1, ROW_H - 4)
            arr = self.states.get(o.id)
            if arr is not None:
                arr = np.where(self.flagged(o.id) & (arr == PROPAGATED), FLAGGED, arr)
                self._paint_states(p, g.columns(arr.astype(np.uint8)), QColor(o.color), y)
            p.restore()
            y += ROW_H
        # flags strip
        p.setPen(QColor("#bbbbbb"))
        p.drawText(QRectF(6, y, LABEL_W - 8, FLAG_H + 2), left, "flags")
        p.fillRect(QRectF(LABEL_W, y + 1, width, FLAG_H), QColor("#1b1c1e"))
        cols = g.columns(self.flagged().astype(np.uint8))
        for x0, x1 in runs(np.nonzero(cols)[0]):
            p.fillRect(QRectF(LABEL_W + x0, y + 1, x1 - x0 + 1, FLAG_H), QColor("#ff7043"))
        # what the scroll bar shows, in seconds
        p.setPen(QColor("#8a8d91"))
        p.drawText(QRectF(6, g.scroll_top, LABEL_W - 8, g.scroll_h), left,
                   f"{_clock(g.v0 / self.session.fps)}–{_clock(g.v1 / self.session.fps)}")
        # playhead
        if g.v0 <= self.state.frame < g.v1:
            x = g.x(self.state.frame + 0.5)
            p.setPen(QPen(QColor("#ff4d4d"), 2))
            p.drawLine(int(x), 0, int(x), g.scroll_top - 1)
        p.end()

    def _paint_states(self, p: QPainter, cols: np.ndarray, color: QColor, y: float) -> None:
        """An object's masks along its row: propagated, flagged and anchor frames; its boxes
        of box-only segments: interpolated or tracked (a thin line) and keyframes (ticks)."""
        for value, h, alpha in ((PROPAGATED, 6, 200), (FLAGGED, 6, 255), (ANCHOR, 12, 255),
                                (BOX_LINE, 2, 220), (BOX_KEY, 12, 255)):
            xs = np.nonzero(cols == value)[0]
            if len(xs) == 0:
                continue
            c = QColor("#ffb300") if value == FLAGGED else QColor(color)
            c.setAlpha(alpha)
            top = y + (ROW_H - 2 - h) / 2
            for x0, x1 in runs(xs):
                p.fillRect(QRectF(LABEL_W + x0, top, x1 - x0 + 1, h), c)

    def _paint_ruler(self, p: QPainter, width: int) -> None:
        g = self.geom
        fps = self.session.fps
        seconds = max(1, g.span) / fps
        step_s = next((s for s in (0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
                       if seconds / s <= width / 70), 3600)
        p.setPen(QColor("#8a8d91"))
        t = np.ceil(g.v0 / fps / step_s) * step_s
        while t * fps < g.v1:
            x = g.x(t * fps)
            p.drawLine(int(x), RULER_H - 5, int(x), RULER_H)
            p.drawText(int(x) + 3, RULER_H - 4, _clock(t, tenths=step_s < 1))
            t += step_s


def _clock(t: float, tenths: bool = False) -> str:
    """``m:ss`` (``m:ss.s`` with ``tenths``)."""
    m, s = divmod(float(t), 60)
    return f"{int(m)}:{s:04.1f}" if tenths else f"{int(m)}:{int(s):02d}"
