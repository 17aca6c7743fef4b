"""Choose several project folders for a batch propagation."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator import settings
from annotator.errors import UserError
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
        self._where(settings.for_editing("pipeline.cluster"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Select the projects to propagate (all their segments with an "
                             "anchor). The open project is skipped: propagate it from the "
                             "Propagate menu."))
        lay.addWidget(self.list)
        where = QHBoxLayout()
        where.addWidget(QLabel("Run on:"))
        where.addWidget(self.run_on, 1)
        where.addWidget(self.address, 1)
        lay.addLayout(where)
        lay.addWidget(self.ray_hint)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch()
        row.addWidget(buttons)
        lay.addLayout(row)

    # -- where the batch runs: this process, or Ray (the cluster extra) ----------------------------
    RUN_ON = (("This process (one project after the other)", ""),
              ("Ray on this machine (one task per project)", "ray"),
              ("The Ray cluster of this node (ray start)", "auto"),
              ("A Ray cluster through its client (ray://HOST:PORT)", "ray://"))

    def _where(self, chosen: str) -> None:
        import importlib.util

        has_ray = importlib.util.find_spec("ray") is not None
        self.run_on = QComboBox()
        for text, value in self.RUN_ON:
            self.run_on.addItem(text, value)
            if value and not has_ray:  # shown, not choosable: the hint says why
                self.run_on.model().item(self.run_on.count() - 1).setEnabled(False)
        self.address = QLineEdit("ray://" if not chosen.startswith("ray://") else chosen)
        self.address.setPlaceholderText("ray://HOST:10001")
        self.ray_hint = QLabel("" if has_ray else "Ray is not installed: install the cluster "
                               "extra: pip install 'avs-annotator[cluster]'")
        self.ray_hint.setVisible(not has_ray)
        key = "ray://" if chosen.startswith("ray://") else chosen
        index = self.run_on.findData(key) if has_ray else 0
        self.run_on.setCurrentIndex(max(0, index))
        self.run_on.currentIndexChanged.connect(self._where_changed)
        self._where_changed()

    def _where_changed(self) -> None:
        self.address.setVisible(self.run_on.currentData() == "ray://")

    def cluster(self) -> str:
        """``""`` (this process), ``ray``, ``auto`` or ``ray://HOST:PORT``."""
        value = self.run_on.currentData() or ""
        return self.address.text().strip() if value == "ray://" else value

    def accept(self) -> None:
        try:
            settings.set("pipeline.cluster", self.cluster())  # jobs.batch reads it
        except UserError as exc:
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Batch not started", str(exc),
                                         parent=self)
            self.error_box.open()  # the dialog stays open, as it was
            return
        super().accept()

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
