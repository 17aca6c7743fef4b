"""The canvas's boxes of box-only annotation: how they are drawn (keyframes solid,
interpolated boxes dashed, tracked boxes dotted, an outside keyframe as a crossed box, the
selected object's box with eight handles) and how a drag on them is read (a handle resizes,
the inside moves, elsewhere a new box is drawn). Geometry and painting only: what a box means
is :mod:`annotator.core.box_tracks`'."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

HANDLE = 5.0  # half the side of a handle, widget pixels
STYLES = {"interpolated": Qt.PenStyle.DashLine, "tracked": Qt.PenStyle.DotLine,
          "mask": Qt.PenStyle.DashDotLine}

# a handle: which edges it moves (x0, y0, x1, y1)
HANDLES = [(1, 1, 0, 0), (0, 1, 0, 0), (0, 1, 1, 0), (0, 0, 1, 0), (0, 0, 1, 1), (0, 0, 0, 1),
           (1, 0, 0, 1), (1, 0, 0, 0)]


def handle_points(r: QRectF) -> list[QPointF]:
    """The eight handles of ``r``, clockwise from the top-left corner (as :data:`HANDLES`)."""
    cx, cy = r.center().x(), r.center().y()
    return [r.topLeft(), QPointF(cx, r.top()), r.topRight(), QPointF(r.right(), cy),
            r.bottomRight(), QPointF(cx, r.bottom()), r.bottomLeft(), QPointF(r.left(), cy)]


def hit(r: QRectF | None, pos: QPointF) -> int | str | None:
    """What a press at ``pos`` takes hold of: a handle's index, ``"move"`` inside the box,
    None elsewhere (a new box)."""
    if r is None:
        return None
    for i, h in enumerate(handle_points(r)):
        if abs(h.x() - pos.x()) <= HANDLE + 2 and abs(h.y() - pos.y()) <= HANDLE + 2:
            return i
    return "move" if r.contains(pos) else None


def dragged(grip: int | str | None, box: list[float] | None, start: QPointF,
            now: QPointF) -> list[float]:
    """The box (frame pixels) while dragging ``grip`` of ``box`` from ``start`` to ``now``:
    a new box from ``start`` to ``now``, the box moved, or its edges under the handle moved."""
    if grip is None or box is None:
        return [start.x(), start.y(), now.x(), now.y()]
    dx, dy = now.x() - start.x(), now.y() - start.y()
    if grip == "move":
        return [box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy]
    mx0, my0, mx1, my1 = HANDLES[grip]
    return [box[0] + dx * mx0, box[1] + dy * my0, box[2] + dx * mx1, box[3] + dy * my1]


def rect(p: QPainter, r: QRectF, color: QColor | None) -> None:
    """A box in widget pixels: solid in ``color`` (the prompt's box), dashed white while it
    is dragged (``color`` None)."""
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(QColor(0, 0, 0, 200), 4))
    p.drawRect(r)
    pen = QPen(QColor("#ffffff") if color is None else QColor(color), 2)
    pen.setStyle(Qt.PenStyle.DashLine if color is None else Qt.PenStyle.SolidLine)
    p.setPen(pen)
    p.drawRect(r)


def paint_mask_boxes(p: QPainter, canvas, layers: dict, hidden: set[int]) -> None:
    """The tight box of every shown mask (View ▸ Masks' boxes), dash-dotted in white."""
    pen = QPen(QColor("#ffffff"), 1.5)
    pen.setStyle(STYLES["mask"])
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen)
    for oid, layer in layers.items():
        if oid not in hidden and layer.box is not None:
            x0, y0, x1, y1 = layer.box
            p.drawRect(QRectF(canvas.to_widget(x0, y0), canvas.to_widget(x1, y1)))


def paint(p: QPainter, canvas, boxes: dict, hidden: set[int], selected: int | None,
          handles: bool) -> None:
    """Draw every shown object's box of this frame (``boxes``: object → (TrackBox, colour))."""
    for oid, (t, color) in boxes.items():
        if oid in hidden or t.box is None:  # None: an outside keyframe (not visible)
            continue
        x0, y0, x1, y1 = t.box
        r = QRectF(canvas.to_widget(x0, y0), canvas.to_widget(x1, y1)).normalized()
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 190), 4))
        p.drawRect(r)
        pen = QPen(QColor(color), 2)
        pen.setStyle(STYLES.get(t.source, Qt.PenStyle.SolidLine))
        p.setPen(pen)
        p.drawRect(r)
        if handles and oid == selected:
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.setBrush(QColor(color))
            for h in handle_points(r):
                p.drawRect(QRectF(h.x() - HANDLE, h.y() - HANDLE, 2 * HANDLE, 2 * HANDLE))
