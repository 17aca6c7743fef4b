"""Editing audible segments on the timeline with the mouse.

On an object's row: press-drag on empty space draws a new segment, dragging near a segment's
edge moves its start or end, dragging its body moves it; a click without drag selects the
segment under it (or none) and moves the playhead. Edges snap to frame boundaries, and to an
audio onset when one is within :data:`SNAP_PX` pixels.

Positions are *boundaries*: boundary ``b`` is where frame ``b`` starts, so the segment
``[start, end]`` spans boundaries ``start .. end + 1`` on screen.

Every change is one undoable store operation (``session.apply``), checked first like the
import checks a segments file (no inverted, out-of-range or overlapping spans of an object):
a refused drop says why in the status bar and changes nothing. A change that leaves masks
outside the segment asks first; the masks it then deletes stay in the store as revisions and
come back with Edit ▸ Undo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from annotator.core.segments import segment_problem
from annotator.core.words import plural
from annotator.gui.ask import ask
from annotator.gui.timeline_geometry import TimelineGeometry

EDGE_PX = 5  # a press this close to a segment's edge drags the edge
SNAP_PX = 4  # an edge this close to an audio onset snaps to it
CLICK_PX = 3  # a press that moves less than this is a click, not a drag


@dataclass
class Drag:
    mode: str  # "create", "move", "start" or "end"
    object_id: int
    press_x: float
    press_b: int  # the boundary under the press
    seg: Any | None  # the segment being changed (None while creating)
    start: int
    end: int
    moved: bool = False
    shown: tuple[int, int] | None = None  # the span the status bar names


class SegmentEditor:
    """The timeline's mouse editing of segments (the timeline forwards its mouse events).

    ``geom`` says where frames and rows are; ``widget`` is the one the editor draws on (it is
    repainted, and parents the question before masks are deleted); ``onsets()`` gives the
    audio onsets' frame boundaries (edges snap to them)."""

    def __init__(self, geom: TimelineGeometry, session: Any, state: Any, widget: QWidget,
                 onsets: Callable[[], np.ndarray]) -> None:
        self.geom = geom
        self.session = session
        self.state = state
        self.widget = widget
        self.onsets = onsets
        self.drag: Drag | None = None
        self.selected: int | None = None  # segment id

    # -- geometry ------------------------------------------------------------------------------
    def onset_near(self, x: float) -> int | None:
        """The onset boundary within SNAP_PX of pixel ``x``, if any."""
        g, onsets = self.geom, self.onsets()
        if not len(onsets):
            return None
        i = int(np.searchsorted(onsets, g.pos_at(x)))
        best = min((int(onsets[j]) for j in (i - 1, i) if 0 <= j < len(onsets)),
                   key=lambda o: abs(g.x(o) - x))
        return best if abs(g.x(best) - x) <= SNAP_PX else None

    def snap(self, x: float) -> int:
        """The boundary for pixel ``x``: a close onset, else the nearest frame boundary."""
        onset = self.onset_near(x)
        return onset if onset is not None else self.geom.boundary_at(x)

    def hit(self, x: float, object_id: int) -> tuple[str, Any] | None:
        """("start" | "end" | "move", segment) under pixel ``x`` on the object's row."""
        for s in self.session.segments_of(object_id):
            x0, x1 = self.geom.x(s.start), self.geom.x(s.end + 1)
            edge = min(EDGE_PX, max(1.0, (x1 - x0) / 3))
            if abs(x - x0) <= edge:
                return "start", s
            if abs(x - x1) <= edge:
                return "end", s
            if x0 < x < x1:
                return "move", s
        return None

    def cursor(self, x: float, y: float) -> Qt.CursorShape:
        oid = self.geom.object_at(y)
        found = self.hit(x, oid) if oid is not None else None
        if found is None:
            return Qt.CursorShape.ArrowCursor
        return Qt.CursorShape.SizeHorCursor if found[0] != "move" else Qt.CursorShape.OpenHandCursor

    # -- mouse ---------------------------------------------------------------------------------
    def press(self, x: float, y: float) -> bool:
        """Start a drag on an object's row; False when ``y`` is not on one."""
        oid = self.geom.object_at(y)
        if oid is None:
            return False
        found = self.hit(x, oid)
        if found is None:
            b = self.snap(x)
            self.drag = Drag("create", oid, x, b, None, b, b)
        else:
            mode, seg = found
            self.drag = Drag(mode, oid, x, self.snap(x), seg, seg.start, seg.end)
        return True

    def move(self, x: float) -> None:
        d = self.drag
        if d is None:
            return
        if not d.moved and abs(x - d.press_x) < CLICK_PX:
            return
        d.moved = True
        g = self.geom
        n = g.n
        if d.mode == "create":
            lo, hi = sorted((d.press_b, self.snap(x)))
            hi = max(hi, lo + 1)
            d.start, d.end = min(lo, n - 1), min(hi, n) - 1
        elif d.mode == "start":
            d.start = self.snap(x)
        elif d.mode == "end":
            d.end = self.snap(x) - 1
        else:  # move the body by whole frames; an edge snaps to an onset when close to it
            length = d.seg.end - d.seg.start + 1
            shift = round(g.pos_at(x) - g.pos_at(d.press_x))
            start = int(min(n - length, max(0, d.seg.start + shift)))
            for offset in (0, length):
                onset = self.onset_near(g.x(start + offset))
                if onset is not None:
                    start = int(min(n - length, max(0, onset - offset)))
                    break
            d.start, d.end = start, start + length - 1
        if (d.start, d.end) != d.shown:
            d.shown = (d.start, d.end)
            self._say_span(d)
        self.widget.update()

    def _say_span(self, d: Drag) -> None:
        """While dragging, the status bar names the span the drop would give, and why it would
        be refused (the preview turns red then)."""
        fps = float(getattr(self.session, "fps", 0) or 25.0)
        frames = d.end - d.start + 1
        text = (f"{self._name(d.object_id)}: frames {d.start}–{d.end} "
                f"({frames} frame{'s' if frames != 1 else ''}, {frames / fps:.2f} s)")
        problem = segment_problem(self.session.segments, d.object_id, d.start, d.end, self.geom.n,
                                  ignore=d.seg.id if d.seg is not None else None,
                                  name=self._name(d.object_id))
        self.session.say(f"{text} — {problem}" if problem else text, bool(problem))

    def release(self, x: float) -> None:
        if self.drag is None:
            return
        self.move(x)  # the drop lands where the button is let go
        d, self.drag = self.drag, None
        self.widget.update()
        if not d.moved:  # a click: select what is under it, move the playhead
            self.selected = d.seg.id if d.seg is not None else None
            self.state.set_frame(self.geom.frame_at(x))
            return
        if d.seg is not None and (d.start, d.end) == (d.seg.start, d.seg.end):
            return
        self.commit(d.object_id, d.start, d.end, d.seg)

    def paint_preview(self, p: QPainter, y: float, h: float) -> None:
        d = self.drag
        if d is None or not d.moved:
            return
        g = self.geom
        x0, x1 = g.x(min(d.start, d.end + 1)), g.x(max(d.start, d.end + 1))
        bad = segment_problem(self.session.segments, d.object_id, d.start, d.end, g.n,
                              ignore=d.seg.id if d.seg is not None else None)
        color = QColor("#ef5350" if bad else "#ffffff")
        p.setPen(QPen(color, 1, Qt.PenStyle.DashLine))
        color.setAlpha(50)
        p.fillRect(QRectF(x0, y, max(2.0, x1 - x0), h), color)
        p.drawRect(QRectF(x0, y, max(2.0, x1 - x0), h))

    # -- store operations ------------------------------------------------------------------------
    def _name(self, object_id: int) -> str:
        obj = self.session.object(object_id)
        return obj.name if obj is not None else f"object {object_id}"

    def commit(self, object_id: int, start: int, end: int, seg: Any | None) -> None:
        """Add (``seg`` None) or change a segment, if the span passes the import's checks."""
        session = self.session
        what = "Segment not added" if seg is None else "Segment not changed"
        if session.store.readonly:
            session.say(f"{what}: the project is open view-only.", True)
            return
        problem = segment_problem(session.segments, object_id, start, end, self.geom.n,
                                  ignore=seg.id if seg is not None else None,
                                  name=self._name(object_id))
        if problem:
            session.say(f"{what}: {problem}.", True)
            return
        if seg is None:
            self._add(object_id, start, end)
        else:
            self._change(seg, start, end)

    def _add(self, object_id: int, start: int, end: int) -> None:
        store = self.session.store

        def write(op: int) -> list:  # the store checks the span again, in its transaction
            store.add_segment(object_id, start, end, op=op)
            return []

        self.session.apply(f"Add segment {self._name(object_id)} {start}–{end}", write,
                           "add_segment", structure=True)

    def _change(self, seg: Any, start: int, end: int) -> None:
        store = self.session.store

        def outside() -> list[int]:
            return [m.frame for m in store.masks_of(seg.object_id, seg.start, seg.end)
                    if not start <= m.frame <= end]

        self.session.run(outside, lambda frames: self._confirm(seg, start, end, frames))

    def _confirm(self, seg: Any, start: int, end: int, frames: list[int]) -> None:
        if not frames:
            self._apply_change(seg, start, end, [])
            return
        k, name = len(frames), self._name(seg.object_id)
        masks = plural(k, "mask")
        ask(self.widget, "Masks outside the segment",
            f"{masks} of {name} would lie outside frames {start}–{end}. Change the segment "
            f"and delete {'them' if k != 1 else 'it'}?",
            f"Frames {', '.join(map(str, frames[:8]))}{' …' if k > 8 else ''}. The masks stay "
            "in the project as revisions; Edit ▸ Undo brings the segment and the masks back.",
            f"Change and delete {masks}",
            lambda: self._apply_change(seg, start, end, frames))

    def _apply_change(self, seg: Any, start: int, end: int, frames: list[int]) -> None:
        store = self.session.store

        def write(op: int) -> list:  # the store checks the span again, in its transaction
            store.update_segment(seg.id, start=start, end=end, op=op)
            keys = []
            for f in frames:
                if not start <= f <= end and store.delete_mask(seg.object_id, f, op=op):
                    keys.append((seg.object_id, f))
            return keys

        verb = "Move" if end - start == seg.end - seg.start and start != seg.start else "Resize"
        self.session.apply(f"{verb} segment {self._name(seg.object_id)} {start}–{end}", write,
                           "edit_segment", structure=True)
