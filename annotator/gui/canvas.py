"""The frame canvas: the frame, every visible object's mask, the clicked points, the brush.

Zoom on the wheel around the cursor, pan with the middle button (or Alt + left drag), fit to
the window. Left click is a positive point and right click a negative one (``point_clicked``);
with the brush or eraser a drag paints a stroke (``stroke_finished``); with the box tool a left
drag draws a box (``box_drawn``, shown dashed while dragged; the prompt's box stays drawn) and a
click without a drag is a point. With the keyframe tool (box-only annotation) a drag draws the
selected object's box on this frame, or moves it (inside) or resizes it (a handle)
(``keyframe_drawn``); the frame's boxes are drawn by :mod:`annotator.gui.canvas_boxes`. The canvas never decodes
or queries anything: it paints the :class:`~annotator.gui.layers.FrameView` it was given.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from annotator import settings
from annotator.gui import canvas_boxes as CB
from annotator.gui.layers import FrameView, Layer

TOOLS = ("points", "brush", "eraser", "box", "keyframe")
CLICK_SLOP = 4  # widget pixels: a shorter drag with the box tool is a click
MIN_SCALE, MAX_SCALE = 0.05, 40.0


class Canvas(QWidget):
    """Shows one frame with its masks and takes clicks and strokes in frame pixels."""

    point_clicked = Signal(float, float, bool)
    stroke_finished = Signal(object, int, bool)  # [(x, y), …], radius (pixels), erase
    box_drawn = Signal(float, float, float, float)  # two opposite corners (frame pixels)
    keyframe_drawn = Signal(float, float, float, float)  # the selected object's new box here
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)
        self.view: FrameView | None = None
        self.hidden: set[int] = set()
        self.points: list[tuple[float, float, bool]] = []
        self.pending: list[tuple[float, float, bool]] = []
        self.box: list[float] | None = None  # the prompt's box, x0 y0 x1 y1
        self.active_object: int | None = None  # the selected object (its box has handles)
        self.mask_boxes = False  # View ▸ Masks' boxes: each mask's tight box drawn
        self._grip: tuple | None = None  # keyframe tool: (grip, box, start) while dragging
        self._edited: list[float] | None = None  # the box being drawn, moved or resized
        self.preview: Layer | None = None
        self.preview_hides: int | None = None
        self.others: list[Layer] = []  # another annotation's masks of frame ``others_frame``
        self.others_frame = -1
        self.notice = ""
        self.hud = ""
        self.remark = ""  # a reviewer's comment pinned to the frame on screen
        self.tool = "points"
        self.overlay, self.opacity = "filled", 0.43
        self.brush_radius = settings.get("canvas.brush")
        self.active_color = QColor("#ffffff")
        self.scale = 1.0
        self.offset = QPointF(0, 0)
        self._fit_pending = True
        self._fitted = True
        self._pan_from: QPointF | None = None
        self._stroke: list[tuple[float, float]] = []
        self._stroke_erase = False
        self._drag: tuple[QPointF, QPointF] | None = None  # box tool: press and now (widget)
        self._mouse: QPointF | None = None

    # -- what to show --------------------------------------------------------------------------
    def set_view(self, view: FrameView | None) -> None:
        size_changed = (self.view is None or view is None
                        or self.view.image.size() != view.image.size())
        self.view = view
        if size_changed:
            self._fit_pending = True
        self.update()

    def set_hidden(self, hidden: set[int]) -> None:
        self.hidden = set(hidden)
        self.update()

    def set_points(self, points: list[tuple[float, float, bool]],
                   pending: list[tuple[float, float, bool]] | None = None) -> None:
        self.points = list(points)
        self.pending = list(pending or [])
        self.update()

    def set_box(self, box: list[float] | None) -> None:
        """The box of the current mask's prompt (None: no box drawn)."""
        self.box = None if box is None else [float(v) for v in box]
        self.update()

    def set_preview(self, layer: Layer | None, hides: int | None = None) -> None:
        """An extra mask drawn dashed on top (e.g. the XMem mask beside the refined one);
        ``hides`` is the object whose own layer it replaces while shown."""
        self.preview = layer
        self.preview_hides = hides
        self.update()

    def set_others(self, layers: list[Layer], frame: int = -1) -> None:
        """Another annotation's masks of ``frame`` (Review ▸ Compare with…), drawn as outlines
        over this project's own while that frame is on screen."""
        self.others, self.others_frame = list(layers), int(frame)
        self.update()

    def set_overlay(self, overlay: str, opacity: float) -> None:
        """Masks drawn ``filled`` (at ``opacity``, with their outline) or as ``outline`` only."""
        self.overlay, self.opacity = overlay, float(opacity)
        self.update()

    def set_notice(self, text: str) -> None:
        self.notice = text
        self.update()

    def set_hud(self, text: str) -> None:
        self.hud = text
        self.update()

    def set_remark(self, text: str) -> None:
        """A reviewer's comment about the frame on screen, drawn under the line over it."""
        self.remark = text
        self.update()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool
        self.setCursor(Qt.CursorShape.CrossCursor if tool in ("points", "box", "keyframe")
                       else Qt.CursorShape.BlankCursor)
        self.update()

    def set_brush_radius(self, radius: int) -> None:
        bounds = settings.spec("canvas.brush")
        self.brush_radius = int(max(bounds.minimum, min(bounds.maximum, int(radius))))
        self.update()

    # -- geometry ------------------------------------------------------------------------------
    def transform(self) -> QTransform:
        return QTransform(self.scale, 0, 0, self.scale, self.offset.x(), self.offset.y())

    def to_image(self, pos: QPointF) -> QPointF:
        return QPointF((pos.x() - self.offset.x()) / self.scale,
                       (pos.y() - self.offset.y()) / self.scale)

    def to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(x * self.scale + self.offset.x(), y * self.scale + self.offset.y())

    def image_size(self) -> tuple[int, int]:
        if self.view is None:
            return (0, 0)
        return self.view.image.width(), self.view.image.height()

    def fit(self) -> None:
        """Fit the whole frame in the window, centred."""
        w, h = self.image_size()
        if not w or not h:
            return
        s = min(self.width() / w, self.height() / h)
        self.scale = max(MIN_SCALE, s)
        self.offset = QPointF((self.width() - w * self.scale) / 2,
                              (self.height() - h * self.scale) / 2)
        self._fit_pending = False
        self._fitted = True
        self.zoom_changed.emit(self.scale)
        self.update()

    def zoom_at(self, factor: float, pos: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the frame pixel under ``pos`` (widget coords) in place."""
        pos = pos if pos is not None else QPointF(self.width() / 2, self.height() / 2)
        img = self.to_image(pos)
        self.scale = min(MAX_SCALE, max(MIN_SCALE, self.scale * factor))
        self.offset = QPointF(pos.x() - img.x() * self.scale, pos.y() - img.y() * self.scale)
        self._fitted = False
        self.zoom_changed.emit(self.scale)
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._fitted:
            self._fit_pending = True
        super().resizeEvent(event)

    # -- input ---------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.view is None:
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(1.25 ** steps, event.position())
        event.accept()

    def _inside(self, p: QPointF) -> bool:
        w, h = self.image_size()
        return 0 <= p.x() < w and 0 <= p.y() < h

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus()
        pos = event.position()
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if event.button() == Qt.MouseButton.MiddleButton or (
                alt and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.view is None:
            return
        img = self.to_image(pos)
        if not self._inside(img):
            return
        if self.tool == "points":
            if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
                self.point_clicked.emit(img.x(), img.y(),
                                        event.button() == Qt.MouseButton.LeftButton)
            return
        if self.tool == "keyframe":
            if event.button() == Qt.MouseButton.LeftButton:
                self._grip = self._grip_at(pos, img)
            return
        if self.tool == "box":
            if event.button() == Qt.MouseButton.LeftButton:
                self._drag = (pos, pos)
            elif event.button() == Qt.MouseButton.RightButton:
                self.point_clicked.emit(img.x(), img.y(), False)
            return
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            # right button inverts the tool: erase with the brush, paint with the eraser
            self._stroke_erase = (self.tool == "eraser") != (event.button() == Qt.MouseButton.RightButton)
            self._stroke = [(img.x(), img.y())]
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._mouse = pos
        if self._pan_from is not None:
            d = pos - self._pan_from
            self._pan_from = pos
            self.offset += d
            self._fitted = False
        elif self._stroke:
            img = self.to_image(pos)
            self._stroke.append((img.x(), img.y()))
        elif self._drag is not None:
            self._drag = (self._drag[0], pos)
        elif self._grip is not None:
            grip, box, start = self._grip
            self._edited = CB.dragged(grip, box, start, self.to_image(pos))
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            self.set_tool(self.tool)
            return
        if self._stroke:
            stroke, self._stroke = self._stroke, []
            self.stroke_finished.emit(stroke, self.brush_radius, self._stroke_erase)
            self.update()
        elif self._grip is not None:
            edited, self._grip, self._edited = self._edited, None, None
            if edited is not None:
                self.keyframe_drawn.emit(*edited)
            self.update()
        elif self._drag is not None:
            (a, _), self._drag = self._drag, None
            b = event.position()
            pa, pb = self.to_image(a), self.to_image(b)
            if max(abs(b.x() - a.x()), abs(b.y() - a.y())) < CLICK_SLOP:
                self.point_clicked.emit(pa.x(), pa.y(), True)
            else:
                self.box_drawn.emit(pa.x(), pa.y(), pb.x(), pb.y())
            self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._mouse = None
        self.update()

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        if self._fit_pending and self.view is not None:
            self.fit()
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#202124"))
        if self.view is None:
            self._draw_notice(p, self.notice or "Open a video or a project: File ▸ New project "
                              "from video, or drag a video file here.")
            p.end()
            return
        p.save()
        p.setTransform(self.transform())
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 1.0)
        p.drawImage(QPointF(0, 0), self.view.image)
        layers = [layer for oid, layer in self.view.layers.items() if oid not in self.hidden
                  and not (self.preview is not None and oid == self.preview_hides)]
        if self.preview is not None:
            layers.append(self.preview)
        for layer in layers:
            p.drawImage(QPointF(layer.x, layer.y),
                        layer.outline if self.overlay == "outline" else layer.image)
        if self.view.index == self.others_frame:
            for layer in self.others:
                p.drawImage(QPointF(layer.x, layer.y), layer.outline)
        if self._stroke:
            self._draw_stroke(p)
        p.restore()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        CB.paint(p, self, self.view.boxes, self.hidden, self.active_object,
                 self.tool == "keyframe")
        if self.mask_boxes:
            CB.paint_mask_boxes(p, self, self.view.layers, self.hidden)
        if self._edited is not None:
            x0, y0, x1, y1 = self._edited
            CB.rect(p, QRectF(self.to_widget(x0, y0), self.to_widget(x1, y1)), None)
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            CB.rect(p, QRectF(self.to_widget(x0, y0), self.to_widget(x1, y1)), self.active_color)
        if self._drag is not None:
            CB.rect(p, QRectF(*self._drag).normalized(), None)
        for x, y, pos in self.points:
            self._draw_point(p, self.to_widget(x, y), pos, pending=False)
        for x, y, pos in self.pending:
            self._draw_point(p, self.to_widget(x, y), pos, pending=True)
        if self.tool in ("brush", "eraser") and self._mouse is not None:
            pen = QPen(QColor("#ffffff"), 1.5)
            pen.setStyle(Qt.PenStyle.DashLine if self.tool == "eraser" else Qt.PenStyle.SolidLine)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            r = self.brush_radius * self.scale
            p.drawEllipse(self._mouse, r, r)
        if self.hud:
            self._draw_hud(p)
        if self.remark:
            self._draw_notice(p, self.remark, top=True)
        if self.notice:
            self._draw_notice(p, self.notice, bottom=True)
        p.end()

    def _draw_stroke(self, p: QPainter) -> None:
        color = QColor("#000000") if self._stroke_erase else QColor(self.active_color)
        color.setAlpha(140)
        pen = QPen(color, 2 * self.brush_radius)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        path = QPainterPath(QPointF(*self._stroke[0]))
        for pt in self._stroke[1:]:
            path.lineTo(QPointF(*pt))
        if len(self._stroke) == 1:
            path.lineTo(QPointF(self._stroke[0][0] + 0.01, self._stroke[0][1]))
        p.drawPath(path)

    def _grip_at(self, pos: QPointF, img: QPointF) -> tuple:
        """What a keyframe-tool press takes hold of: the selected object's box on this frame
        by a handle or its inside, else a new box from here."""
        shown = self.view.boxes.get(self.active_object) if self.view is not None else None
        box = list(shown[0].box) if shown is not None and shown[0].box is not None else None
        rect = None if box is None else QRectF(self.to_widget(box[0], box[1]),
                                               self.to_widget(box[2], box[3])).normalized()
        grip = CB.hit(rect, pos)
        return grip, box if grip is not None else None, img

    @staticmethod
    def _draw_point(p: QPainter, c: QPointF, positive: bool, pending: bool) -> None:
        color = QColor("#22dd44") if positive else QColor("#ff3344")
        if pending:
            color.setAlpha(150)
        p.setPen(_pen(QColor(0, 0, 0, 200), 5))
        r = 7.0
        lines = [(QPointF(c.x() - r, c.y()), QPointF(c.x() + r, c.y()))]
        if positive:
            lines.append((QPointF(c.x(), c.y() - r), QPointF(c.x(), c.y() + r)))
        for a, b in lines:
            p.drawLine(a, b)
        p.setPen(_pen(color, 2.5))
        for a, b in lines:
            p.drawLine(a, b)
        p.setPen(QPen(color, 1.5, Qt.PenStyle.DotLine if pending else Qt.PenStyle.SolidLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(c, r + 3, r + 3)

    def _draw_hud(self, p: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
        p.setFont(font)
        fm = p.fontMetrics()
        rect = QRectF(8, 8, fm.horizontalAdvance(self.hud) + 16, fm.height() + 8)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor("#f0f0f0"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.hud)

    def _draw_notice(self, p: QPainter, text: str, bottom: bool = False,
                     top: bool = False) -> None:
        fm = p.fontMetrics()
        width = min(self.width() - 40, fm.horizontalAdvance(text) + 32)
        lines = max(1, fm.horizontalAdvance(text) // max(1, width - 32) + 1)
        height = fm.height() * lines + 16
        y = (self.height() - height - 12 if bottom else fm.height() + 24 if top
             else (self.height() - height) / 2)
        rect = QRectF((self.width() - width) / 2, y, width, height)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(rect, 6, 6)
        p.setPen(QColor("#ff9e64") if top else QColor("#ffd866") if bottom
                 else QColor("#e0e0e0"))
        p.drawText(rect.adjusted(12, 6, -12, -6),
                   Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen
