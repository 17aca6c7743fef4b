"""Toolbar icons drawn at run time from symbols of the UI font (no image files to ship or
lose), in one colour per kind of action."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

GLYPHS = {
    "undo": ("↶", "#42a5f5"),
    "redo": ("↷", "#42a5f5"),
    "tool_points": ("⊕", "#22dd44"),
    "tool_brush": ("✎", "#4fc3f7"),
    "tool_eraser": ("⌫", "#ef9a9a"),
    "tool_box": ("⬚", "#ffcc80"),
    "tool_keyframe": ("▭", "#ffb74d"),
    "accept": ("✔", "#66bb6a"),
    "next_candidate": ("⇥", "#ffd54f"),
    "propagate": ("▶", "#26a69a"),
    "propagate_all": ("⇉", "#26a69a"),
    "cancel": ("■", "#ef5350"),
    "check_view": ("⚑", "#ffb300"),
    "next_flag": ("⚐", "#ffb300"),
    "other_version": ("⇄", "#ba68c8"),
}


@lru_cache(maxsize=64)
def icon(name: str, size: int = 32) -> QIcon:
    glyph, color = GLYPHS.get(name, ("•", "#cccccc"))
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    font = QFont("DejaVu Sans")
    font.setPixelSize(int(size * 0.8))
    p.setFont(font)
    p.setPen(QColor(color))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, glyph)
    p.end()
    return QIcon(pm)
