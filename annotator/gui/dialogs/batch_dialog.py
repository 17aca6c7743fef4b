"""Choose several project folders for a batch propagation."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator.gui import settings as S


class BatchDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch propagation over several projects")
        self.list = QListWidget()
        for p in S.recent_projects():
            self.list.addItem(p)
        self.list.setSelectionMode(QListWidget.SelectionMode.MultiSelection)
        add = QPushButton("Add folder…")
        add.clicked.connect(self._add)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Select the projects to propagate (all their segments with an "
                             "anchor). The open project is skipped: propagate it from the "
                             "Propagate menu."))
        lay.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch()
        row.addWidget(buttons)
        lay.addLayout(row)

    def _add(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Project folder")
        if path:
            self.list.addItem(path)
            self.list.item(self.list.count() - 1).setSelected(True)

    def selected(self) -> list[str]:
        return [i.text() for i in self.list.selectedItems()]


def choose_projects(parent: QWidget | None) -> list[str]:
    dlg = BatchDialog(parent)
    if not dlg.exec():
        return []
    current = getattr(getattr(parent, "session", None), "project", None)
    here = str(current.dir) if current is not None else None
    return [p for p in dlg.selected() if p != here]
