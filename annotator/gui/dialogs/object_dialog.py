"""Name and category of a sounding object."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)


class ObjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, title: str = "Object", name: str = "",
                 category: str = "", categories: list[str] | None = None,
                 taken: set[str] | None = None) -> None:
        super().__init__(parent)
        self.taken = {t.strip() for t in (taken or set())} - {name.strip()}
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #c0392b")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
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
        form.addRow(self.problem)
        form.addRow(buttons)

    def _ok(self) -> None:
        name = self.name.text().strip()
        problem = ("An object needs a name." if not name else
                   f"There is already an object called {name}: choose another name."
                   if name in self.taken else "")
        if not problem:
            self.accept()
            return
        self.problem.setText(problem)
        self.problem.show()
        self.name.setFocus()
        self.name.selectAll()

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), self.category.currentText().strip()
