"""Review ▸ Needs work…: what needs work on the segment, and the frame the comment is about
(the frame on screen, any frame of the segment). OK waits for a comment."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)


class NeedsWorkDialog(QDialog):
    def __init__(self, parent: QWidget | None, what: str, start: int, end: int,
                 frame: int) -> None:
        super().__init__(parent)
        self.setObjectName("needs_work_dialog")
        self.setWindowTitle("Needs work")
        self.setMinimumWidth(420)
        self.comment = QLineEdit()
        self.comment.setObjectName("review_comment")
        self.comment.setPlaceholderText("What is wrong, e.g. the mask misses the bell's handle")
        self.frame = QSpinBox()
        self.frame.setObjectName("review_frame")
        self.frame.setRange(start, end)
        self.frame.setValue(min(max(frame, start), end))
        self.frame.setToolTip("The frame the comment is about: the annotator is taken there "
                              "and sees the comment on it")
        form = QFormLayout(self)
        form.addRow(QLabel(what))
        form.addRow("Comment", self.comment)
        form.addRow("On frame", self.frame)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.comment.textChanged.connect(self._update)
        self._update()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.activateWindow()
        self.comment.setFocus()  # the comment is typed first

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            bool(self.comment.text().strip()))

    def values(self) -> tuple[str, int]:
        return self.comment.text().strip(), self.frame.value()
