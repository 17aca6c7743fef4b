"""Help ▸ Keyboard shortcuts: every action and its keys."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MOUSE = [("Left click", "Positive point (object)"), ("Right click", "Negative point (background)"),
         ("Wheel", "Zoom around the cursor"), ("Middle drag / Alt+drag", "Pan"),
         ("Drag (brush/eraser)", "Paint / erase; right button inverts"),
         ("Drag on a timeline object row", "Draw an audible segment (snaps to sound onsets)"),
         ("Drag a segment's edge / body", "Move its start or end / move it"),
         ("Click a segment, then Delete", "Delete the segment (asks first)"),
         ("Click on the timeline's sound row", "Select a sound proposal"),
         ("Drag the playhead (or step) while paused", "Scrub: a short snippet of the sound")]


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str]]:
    rows = []
    for act in actions.values():
        keys = ", ".join(s.toString() for s in act.shortcuts())
        if keys:
            rows.append((keys, act.title))  # what it does, not its current text ("Undo X")
    return rows + MOUSE


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None, actions: dict[str, QAction]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 640)
        rows = shortcut_rows(actions)
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Keys", "Command"])
        for r, (keys, text) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(text))
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
