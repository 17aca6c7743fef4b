"""Timeline: the sound (waveform, spectrogram, proposals), a row per object with its audible
segments and masks, a strip of per-frame flags, the playhead across all of them.

Click or drag on the ruler, the sound rows or the flags to scrub; on an object's row drag to
draw, move or resize a segment (:mod:`annotator.gui.timeline_edit`), click to select one, Delete
to delete it; wheel to zoom, Shift+wheel to scroll. The sound rows live in
:mod:`annotator.gui.timeline_audio`.

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
    QWheelEvent,
)
from PySide6.QtWidgets import QDialog, QSizePolicy, QWidget

from annotator.gui.segments_panel import STATUS_COLORS
from annotator.gui.session import ProjectSession
from annotator.gui.timeline_audio import SOUND_H, AudioRows
from annotator.gui.timeline_edit import SegmentEditor
from annotator.gui.view_state import ViewState
from annotator.pipeline.check_list import ANCHOR, FLAGGED, PROPAGATED, frame_states, mask_state

LABEL_W = 96
RULER_H = 16
WAVE_H, SPEC_H = 36, 40  # the waveform and spectrogram rows when there is room; in a short
WAVE_MIN = 8  # window the waveform shrinks to a strip and the spectrogram goes
ROW_H = 20
FLAG_H = 10


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
        self.n = session.frame_count
        self.states: dict[int, np.ndarray] = {}
        self.v0, self.v1 = 0, self.n  # visible frame range [v0, v1)
        self.setMinimumHeight(self._height(2))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Delete reaches a selected segment
        self._dragging = False
        self.editor = SegmentEditor(self)
        self.audio = AudioRows(self)
        self._pending_keys: set[tuple[int, int]] = set()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._flush)
        session.objects_changed.connect(self.reload)
        session.segments_changed.connect(self._segments_changed)
        session.proposals_changed.connect(self.audio.proposals_changed)
        session.masks_changed.connect(self._masks_changed)
        state.frame_changed.connect(self.set_frame)
        state.object_changed.connect(self.update)
        self.reload()
        self.audio.start()

    @staticmethod
    def _height(rows: int, compact: bool = True) -> int:
        audio = WAVE_MIN if compact else (WAVE_H + SPEC_H)
        return RULER_H + 2 + audio + SOUND_H + FLAG_H + max(2, rows) * ROW_H + 2

    def sizeHint(self) -> QSize:  # noqa: N802
        """Tall enough for the sound and every object's row, and no taller: the frame gets
        the rest."""
        return QSize(400, self._height(len(self.objects), compact=False) + 4)

    # -- data ----------------------------------------------------------------------------------
    @property
    def objects(self) -> tuple:
        return self.session.objects

    @property
    def segments(self) -> tuple:
        return self.session.segments

    @property
    def frame(self) -> int:
        return self.state.frame

    @property
    def current_object(self) -> int | None:
        return self.state.object_id

    def reload(self) -> None:
        """Every object's per-frame states, read again (on the pool)."""
        store, n, ids = self.session.store, self.n, [o.id for o in self.objects]
        self.setMinimumHeight(self._height(len(ids)))
        self.updateGeometry()
        self.session.run(lambda: {oid: frame_states(store, oid, n) for oid in ids}, self._fill)

    def _segments_changed(self) -> None:
        if self.editor.selected not in {sg.id for sg in self.segments}:
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

        def work() -> list:
            return [(oid, f, mask_state(store.mask(oid, f))) for oid, f in keys]

        def done(rows: list) -> None:
            for oid, f, s in rows:
                arr = self.states.get(oid)
                if arr is not None and 0 <= f < len(arr):
                    arr[f] = s
            self.update()

        self.session.run(work, done)

    def flagged(self) -> np.ndarray:
        """Bool per frame: any object flagged there."""
        out = np.zeros(self.n, bool)
        for arr in self.states.values():
            out |= arr == FLAGGED
        return out

    # -- view ----------------------------------------------------------------------------------
    def set_frame(self, frame: int, _playing: bool = False) -> None:
        """Keep the playhead in view."""
        if not self.v0 <= frame < self.v1:
            span = self.v1 - self.v0
            self.v0 = max(0, min(self.n - span, frame - span // 2))
            self.v1 = self.v0 + span
        self.update()

    # geometry: frame f spans [_x(f), _x(f + 1)); rows from the top: ruler, waveform,
    # spectrogram, sound proposals, one row per object, flags
    def sound_heights(self) -> tuple[int, int]:
        """(waveform, spectrogram) row heights: full when the timeline has room for them."""
        spare = max(0, self.height() - self._height(len(self.objects)))
        wave = WAVE_MIN + min(WAVE_H - WAVE_MIN, spare // 2)
        spec = min(SPEC_H, spare - (wave - WAVE_MIN))
        return (wave, spec) if spec >= 12 else (min(WAVE_H, wave + spec), 0)

    @property
    def sound_top(self) -> int:
        """The top of the proposals' row."""
        return RULER_H + 2 + sum(self.sound_heights())

    @property
    def rows_top(self) -> int:
        return self.sound_top + SOUND_H

    def _x(self, frame: float) -> float:
        w = max(1, self.width() - LABEL_W - 4)
        return LABEL_W + (frame - self.v0) / max(1, self.v1 - self.v0) * w

    def pos_at(self, x: float) -> float:
        """The (fractional) frame position under pixel ``x``."""
        w = max(1, self.width() - LABEL_W - 4)
        return self.v0 + (x - LABEL_W) / w * (self.v1 - self.v0)

    def frame_at(self, x: float) -> int:
        """The frame whose span holds pixel ``x``."""
        return int(min(self.n - 1, max(0, np.floor(self.pos_at(x)))))

    def object_at(self, y: float) -> int | None:
        """The object whose row holds pixel ``y`` (None off the object rows)."""
        i = int((y - self.rows_top) // ROW_H)
        return self.objects[i].id if y >= self.rows_top and i < len(self.objects) else None

    def row_top(self, object_id: int) -> float | None:
        ids = [o.id for o in self.objects]
        return self.rows_top + ids.index(object_id) * ROW_H if object_id in ids else None

    def onset_bounds(self) -> np.ndarray:
        """Frame boundaries nearest the audio onsets (for snapping segment edges)."""
        return self.audio.onset_bounds

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
        if self.sound_top <= y < self.sound_top + SOUND_H:  # a proposal is selected by clicking it
            hit = self.audio.proposal_at(self.frame_at(x))
            self.audio.selected = hit.id if hit is not None else None
        self._dragging = True
        self.state.set_frame(self.frame_at(x))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        x, y = event.position().x(), event.position().y()
        if self.editor.drag is not None:
            self.editor.move(x)
        elif self._dragging:
            self.state.set_frame(self.frame_at(x))
        else:
            self.setCursor(self.editor.cursor(x, y))

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
        steps = event.angleDelta().y() / 120.0
        span = self.v1 - self.v0
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            shift = int(-steps * span / 10)
            self.v0 = max(0, min(self.n - span, self.v0 + shift))
            self.v1 = self.v0 + span
        else:
            at = self.pos_at(event.position().x())
            new = int(min(self.n, max(20, span / (1.25 ** steps))))
            frac = (at - self.v0) / max(1, span)
            self.v0 = int(max(0, min(self.n - new, round(at - frac * new))))
            self.v1 = self.v0 + new
        self.update()
        event.accept()

    # -- painting ------------------------------------------------------------------------------
    def _columns(self, arr: np.ndarray, width: int) -> np.ndarray:
        """Max of ``arr`` over the frames under each pixel column of the visible range."""
        seg = arr[self.v0:self.v1]
        if len(seg) == 0 or width <= 0:
            return np.zeros(0, arr.dtype)
        if len(seg) <= width:
            idx = np.minimum((np.arange(width) * len(seg)) // width, len(seg) - 1)
            return seg[idx]
        edges = (np.arange(width) * len(seg)) // width
        return np.maximum.reduceat(seg, edges)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#26282b"))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        width = max(1, self.width() - LABEL_W - 4)
        self._paint_ruler(p, width)
        self.audio.paint_rows(p, LABEL_W, RULER_H + 2, width)
        y = self.rows_top
        for o in self.objects:
            row = QRectF(0, y, self.width(), ROW_H - 2)
            if o.id == self.current_object:
                p.fillRect(row, QColor("#34373c"))
            p.setPen(QColor(o.color))
            p.drawText(QRectF(6, y, LABEL_W - 8, ROW_H - 2),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, o.name)
            for s in self.segments:
                if s.object_id != o.id or s.end < self.v0 or s.start >= self.v1:
                    continue
                x0, x1 = self._x(s.start), self._x(s.end + 1)
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
                cols = self._columns(arr, width)
                color = QColor(o.color)
                for value, h, alpha in ((PROPAGATED, 6, 200), (FLAGGED, 6, 255), (ANCHOR, 12, 255)):
                    xs = np.nonzero(cols == value)[0]
                    if len(xs) == 0:
                        continue
                    c = QColor("#ffb300") if value == FLAGGED else QColor(color)
                    c.setAlpha(alpha)
                    top = y + (ROW_H - 2 - h) / 2
                    for x0, x1 in _runs(xs):
                        p.fillRect(QRectF(LABEL_W + x0, top, x1 - x0 + 1, h), c)
            y += ROW_H
        # flags strip
        p.setPen(QColor("#bbbbbb"))
        p.drawText(QRectF(6, y, LABEL_W - 8, FLAG_H + 2),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "flags")
        p.fillRect(QRectF(LABEL_W, y + 1, width, FLAG_H), QColor("#1b1c1e"))
        cols = self._columns(self.flagged().astype(np.uint8), width)
        for x0, x1 in _runs(np.nonzero(cols)[0]):
            p.fillRect(QRectF(LABEL_W + x0, y + 1, x1 - x0 + 1, FLAG_H), QColor("#ff7043"))
        # playhead
        if self.v0 <= self.frame < self.v1:
            x = self._x(self.frame + 0.5)
            p.setPen(QPen(QColor("#ff4d4d"), 2))
            p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    def _paint_ruler(self, p: QPainter, width: int) -> None:
        span = max(1, self.v1 - self.v0)
        fps = self.session.fps
        seconds = span / fps
        step_s = next((s for s in (0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
                       if seconds / s <= width / 70), 3600)
        p.setPen(QColor("#8a8d91"))
        t = np.ceil(self.v0 / fps / step_s) * step_s
        while t * fps < self.v1:
            x = self._x(t * fps)
            p.drawLine(int(x), RULER_H - 5, int(x), RULER_H)
            m, s = divmod(t, 60)
            label = f"{int(m)}:{s:04.1f}" if step_s < 1 else f"{int(m)}:{int(s):02d}"
            p.drawText(int(x) + 3, RULER_H - 4, label)
            t += step_s


def _runs(xs: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs in sorted integer positions, as (first, last) pairs."""
    if len(xs) == 0:
        return []
    breaks = np.nonzero(np.diff(xs) > 1)[0]
    starts = np.concatenate([[xs[0]], xs[breaks + 1]])
    ends = np.concatenate([xs[breaks], [xs[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))
