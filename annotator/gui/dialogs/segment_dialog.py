"""Add an audible segment: object, first and last frame (with their times). The segment rule
(:func:`annotator.core.segments.segment_problem`) is checked as the person types: a span the
store would refuse says why, naming both spans, and OK waits until it is mended."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)


class SegmentDialog(QDialog):
    def __init__(self, parent: QWidget | None, objects: list, current: int | None, start: int,
                 frame_count: int, time_of: Callable[[int], float],
                 problem: Callable[[int, int, int], str | None] = lambda *_: None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an audible segment")
        # wide enough for its title and a one-line span ("0.40 s – 2.60 s, 56 frames"): the
        # size hint alone gave about 200 px, a title cut to "Add an…otator" and a wrapped span
        self.setMinimumWidth(380)
        self.time_of = time_of
        self.problem = problem  # (object, start, end) -> why it cannot be a segment, or None
        self.object = QComboBox()
        for o in objects:
            self.object.addItem(o.name, o.id)
        if current is not None:
            self.object.setCurrentIndex(max(0, self.object.findData(current)))
        self.start = QSpinBox()
        self.end = QSpinBox()
        for box in (self.start, self.end):
            box.setRange(0, frame_count - 1)
        self.start.setValue(start)
        self.end.setValue(min(frame_count - 1, start + 50))
        self.times = QLabel()
        self.times.setWordWrap(True)
        self.start.valueChanged.connect(self._update)
        self.end.valueChanged.connect(self._update)
        self.object.currentIndexChanged.connect(self._update)
        form = QFormLayout(self)
        form.addRow("Object", self.object)
        form.addRow("First frame", self.start)
        form.addRow("Last frame", self.end)
        form.addRow("", self.times)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._update()

    def _update(self) -> None:
        s, e = self.start.value(), self.end.value()
        rule = self.problem(self.object.currentData(), s, e) if self.object.count() else None
        ok = e >= s and self.object.count() > 0 and rule is None
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        if self.object.count() == 0:
            why = "There are no objects yet: add one in the Objects panel (Add…) first."
        elif e < s:
            why = "The last frame must not come before the first."
        elif rule is not None:
            why = f"Not a segment: {rule}. Change the frames (or edit that segment instead)."
        else:
            why = f"{self.time_of(s):.2f} s – {self.time_of(e):.2f} s, {e - s + 1} frames"
        self.times.setText(why)

    def values(self) -> tuple[int, int, int]:
        return self.object.currentData(), self.start.value(), self.end.value()
