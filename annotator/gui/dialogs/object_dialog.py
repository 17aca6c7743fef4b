"""Name and category of a sounding object."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QWidget,
)


class ObjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, title: str = "Object", name: str = "",
                 category: str = "", categories: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.name = QLineEdit(name)
        self.name.setPlaceholderText("e.g. guitarist")
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.addItems(categories or [])
        self.category.setCurrentText(category)
        self.category.lineEdit().setPlaceholderText("e.g. guitar (default: the name)")
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Category", self.category)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _ok(self) -> None:
        if self.name.text().strip():
            self.accept()
        else:
            self.name.setFocus()
            self.name.setPlaceholderText("an object needs a name")

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), self.category.currentText().strip()
