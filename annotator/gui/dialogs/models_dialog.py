"""Models ▸ Manage model files: where each file is, find one on disk, verify, download.

Uses the model registry (:mod:`annotator.engines.models`); verifying and downloading run on a
worker thread with a progress bar and can be cancelled. A file found on disk is remembered in
the user settings (``models.paths.<name>``), as ``annotator models`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.workers import JobWorker
from annotator.pipeline.outcome import JobOutcome


def _mb(n: int | None) -> str:
    return f"{n / 1e6:.0f} MB" if n else "size unknown"


class ModelsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model files")
        self.resize(860, 380)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "Status", "File", "Size"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 240)
        self.tree.setColumnWidth(1, 80)
        self.tree.setColumnWidth(2, 400)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.hide()
        self.find_btn = QPushButton("Find file…")
        self.find_btn.setToolTip("Use a model file you already have on disk")
        self.verify_btn = QPushButton("Verify")
        self.verify_btn.setToolTip("Check the file's size and SHA-256 against the registry")
        self.download_btn = QPushButton("Download")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.hide()
        self.find_btn.clicked.connect(self.find)
        self.verify_btn.clicked.connect(self.verify)
        self.download_btn.clicked.connect(self.download)
        self.cancel_btn.clicked.connect(self.cancel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        for b in (self.find_btn, self.verify_btn, self.download_btn, self.cancel_btn):
            row.addWidget(b)
        row.addStretch()
        row.addWidget(buttons)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tree)
        lay.addWidget(self.info)
        lay.addWidget(self.progress)
        lay.addLayout(row)
        self.job: JobWorker | None = None
        self.reload()

    def reload(self) -> None:
        from annotator.engines import models

        current = self.tree.currentItem().text(0) if self.tree.currentItem() else None
        self.tree.clear()
        for r in models.list_models():
            it = QTreeWidgetItem([f"{r.model.description}", "found" if r.exists else "missing",
                                  str(r.path), _mb(r.model.size)])
            it.setData(0, Qt.ItemDataRole.UserRole, r.model.name)
            it.setToolTip(0, r.model.name)
            it.setToolTip(2, f"{r.source}; looked at: " + "; ".join(r.looked))
            it.setForeground(1, Qt.GlobalColor.darkGreen if r.exists else Qt.GlobalColor.red)
            self.tree.addTopLevelItem(it)
            if r.model.name == current:
                self.tree.setCurrentItem(it)
        if not self.info.text():
            self.info.setText(f"Model files live in {models.models_dir()}. Without them the "
                              "weight-free fallback engines are used (the status bar says so). "
                              "Engines are picked when a project is opened.")

    def _selected(self) -> str | None:
        it = self.tree.currentItem()
        if it is None:
            self.info.setText("Select a model first.")
            return None
        return it.data(0, Qt.ItemDataRole.UserRole)

    def find(self) -> None:
        name = self._selected()
        if name is None:
            return
        from annotator import settings
        from annotator.engines import models

        path, _ = QFileDialog.getOpenFileName(self, f"File of {name}", "",
                                              "PyTorch checkpoints (*.pth *.pt);;All files (*)")
        if not path:
            return
        settings.set(f"models.paths.{name}", str(Path(path)))
        self.info.setText(f"{name}: using {path}. Verifying…")
        self.reload()
        self._run(f"Verify {name}", lambda ctx: self._verify(models, name, ctx))

    def verify(self) -> None:
        name = self._selected()
        if name is None:
            return
        from annotator.engines import models

        self._run(f"Verify {name}", lambda ctx: self._verify(models, name, ctx))

    @staticmethod
    def _verify(models: Any, name: str, ctx: Any) -> JobOutcome:
        r = models.locate(name)
        if not r.exists:
            return JobOutcome(f"Verify {name}", message=f"{name}: no file at {r.path}; download "
                              "it or find it on disk")

        def progress(done: int, total: int | None = None) -> None:
            ctx.check()
            ctx.progress(done, total or 0)

        return JobOutcome(f"Verify {name}", message=models.verify(r.path, r.model, progress).line())

    def download(self) -> None:
        name = self._selected()
        if name is None:
            return
        from annotator.engines import models

        def run(ctx: Any) -> JobOutcome:
            def progress(done: int, total: int | None = None) -> None:
                ctx.check()
                ctx.progress(done, total or 0)

            path = models.download(name, progress=progress)
            return JobOutcome(f"Download {name}",
                              message=f"{name}: downloaded and verified: {path}")

        self._run(f"Download {name}", run)

    def _run(self, title: str, fn: Any) -> None:
        if self.job is not None:
            self.info.setText("Wait for the running download or check, or cancel it.")
            return
        self.job = JobWorker(title, fn, self)
        self.job.progress.connect(self._progress)
        self.job.finished_job.connect(self._finished)
        self.job.failed.connect(lambda exc: self._finished(JobOutcome(title, message=str(exc))))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_btn.show()
        self.info.setText(f"{title}…")
        self.job.start()

    def _progress(self, done: int, total: int, _msg: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"{done / 1e6:.0f} / {total / 1e6:.0f} MB")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _finished(self, result: Any) -> None:
        if self.job is not None:
            self.job.wait()
        self.job = None
        self.progress.hide()
        self.cancel_btn.hide()
        self.info.setText("Cancelled." if result.cancelled else result.message)
        self.reload()

    def reject(self) -> None:
        self.cancel()
        if self.job is not None:
            self.job.wait(5000)
        super().reject()
