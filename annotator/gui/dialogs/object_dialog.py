"""Name and category of a sounding object.

In a project that lies in a dataset the category list is the dataset's vocabulary (accepted
categories first, each with its label id; the session read it at opening), and a category that
is not accepted there is shown as *proposed* until a reviewer accepts it (``annotator dataset
accept``); elsewhere it lists the project's own categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
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
                 taken: set[str] | None = None,
                 vocabulary: Sequence[Any] | None = None) -> None:
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
        #: label → label id of the vocabulary's accepted categories (None: in no dataset)
        self.label_ids: dict[str, int] | None = None
        if vocabulary is None:
            self.category.addItems(categories or [])
        else:
            self.label_ids = {c.label: c.label_id for c in vocabulary if c.state == "accepted"}
            proposed = [c.label for c in vocabulary if c.label not in self.label_ids]
            proposed += sorted(set(categories or ()) - set(self.label_ids) - set(proposed))
            for label in [*self.label_ids, *proposed]:
                self.category.addItem(label)
                tip = (f"label id {self.label_ids[label]}" if label in self.label_ids
                       else "proposed: not in the dataset's vocabulary yet")
                self.category.setItemData(self.category.count() - 1, tip,
                                          Qt.ItemDataRole.ToolTipRole)
        self.category.setCurrentText(category)
        self.category.lineEdit().setPlaceholderText("e.g. guitar (default: the name)")
        self.category_state = QLabel()
        self.category_state.setObjectName("category_state")
        self.category_state.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Category", self.category)
        form.addRow("", self.category_state)
        self.category_state.setVisible(self.label_ids is not None)
        self.category.currentTextChanged.connect(self._show_state)
        self.name.textChanged.connect(self._show_state)
        self._show_state()
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

    @property
    def proposed(self) -> bool:
        """The category (the name when none is typed) is not in the dataset's vocabulary."""
        cat = self.category.currentText().strip() or self.name.text().strip()
        return self.label_ids is not None and bool(cat) and cat not in self.label_ids

    def _show_state(self, *_args: object) -> None:
        if self.label_ids is None:
            return
        cat = self.category.currentText().strip() or self.name.text().strip()
        if not cat:
            self.category_state.setText("")
        elif cat in self.label_ids:
            self.category_state.setText(f"In the dataset's vocabulary (label id "
                                        f"{self.label_ids[cat]}).")
        else:
            self.category_state.setText(f"“{cat}” is proposed: it is not in the dataset's "
                                        "vocabulary until a reviewer accepts it.")
        self.category_state.setStyleSheet("" if cat in self.label_ids or not cat
                                          else "color: #b9770e")

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), self.category.currentText().strip()
