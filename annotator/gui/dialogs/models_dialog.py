"""Models ▸ Manage model files: find, verify, download with progress.

Talks to the model registry (``annotator.engines.models``) when it is present; downloads run
in a worker with a progress bar and can be cancelled.
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


def registry() -> Any:
    try:
        from annotator.engines import models  # type: ignore[attr-defined]
    except ImportError:
        return None
    return models


def _entries(models: Any) -> list[Any]:
    for name in ("list_models", "all_models", "registry", "entries"):
        fn = getattr(models, name, None)
        if callable(fn):
            return list(fn())
    for name in ("MODELS", "REGISTRY"):
        value = getattr(models, name, None)
        if isinstance(value, dict):
            return list(value.values())
        if value is not None:
            return list(value)
    return []


def _attr(entry: Any, *names: str, default: Any = "") -> Any:
    for n in names:
        if isinstance(entry, dict) and n in entry:
            return entry[n]
        if hasattr(entry, n):
            v = getattr(entry, n)
            return v() if callable(v) else v
    return default


class ModelsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model files")
        self.resize(720, 360)
        self.models = registry()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "File", "Status"])
        self.tree.setRootIsDecorated(False)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.hide()
        self.find_btn = QPushButton("Find file…")
        self.verify_btn = QPushButton("Verify")
        self.download_btn = QPushButton("Download")
        self.cancel_btn = QPushButton("Cancel download")
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
        self.tree.clear()
        if self.models is None:
            self.info.setText("The model registry is not part of this build: the window uses "
                              "the weight-free fallback engines. Model files (SAM, XMem) can be "
                              "managed here once the registry is installed.")
            for b in (self.find_btn, self.verify_btn, self.download_btn):
                b.setEnabled(False)
            return
        for e in _entries(self.models):
            name = str(_attr(e, "name", "key", "id"))
            path = str(_attr(e, "path", "local_path", "file", default=""))
            present = bool(_attr(e, "exists", "present", "available",
                                 default=bool(path) and Path(path).exists()))
            it = QTreeWidgetItem([name, path, "found" if present else "missing"])
            it.setData(0, Qt.ItemDataRole.UserRole, e)
            self.tree.addTopLevelItem(it)
        self.info.setText("Select a model to find its file on disk, verify its checksum or "
                          "download it.")

    def _selected(self) -> tuple[Any, str] | None:
        it = self.tree.currentItem()
        if it is None:
            self.info.setText("Select a model first.")
            return None
        return it.data(0, Qt.ItemDataRole.UserRole), it.text(0)

    def _call(self, names: tuple[str, ...], *args: Any, **kw: Any) -> Any:
        for n in names:
            fn = getattr(self.models, n, None)
            if callable(fn):
                return fn(*args, **kw)
        raise RuntimeError(f"the model registry has none of {names}")

    def find(self) -> None:
        sel = self._selected()
        if sel is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, f"Model file for {sel[1]}")
        if path:
            try:
                self._call(("register_file", "set_path", "locate"), sel[1], Path(path))
                self.info.setText(f"{sel[1]}: using {path}")
            except Exception as exc:
                self.info.setText(f"{sel[1]}: {exc}")
            self.reload()

    def verify(self) -> None:
        sel = self._selected()
        if sel is None:
            return
        try:
            ok = self._call(("verify", "verify_model", "check"), sel[1])
            self.info.setText(f"{sel[1]}: {'checksum matches' if ok else 'checksum differs'}")
        except Exception as exc:
            self.info.setText(f"{sel[1]}: {exc}")

    def download(self) -> None:
        sel = self._selected()
        if sel is None or self.job is not None:
            return
        name = sel[1]

        def run(ctx: Any) -> dict:
            def progress(done: int, total: int | None = None, *_a: Any) -> None:
                ctx.check()
                ctx.progress(done, total or 0)

            self._call(("download", "download_model"), name, progress=progress)
            return {"message": f"{name} downloaded and verified"}

        self.job = JobWorker(f"Download {name}", run, self)
        self.job.progress.connect(lambda d, t, _m: (self.progress.setRange(0, max(1, t)),
                                                    self.progress.setValue(d)))
        self.job.finished_job.connect(self._finished)
        self.job.failed.connect(lambda exc: self._finished({"message": f"{name}: {exc}"}))
        self.progress.show()
        self.cancel_btn.show()
        self.job.start()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _finished(self, result: Any) -> None:
        if self.job is not None:
            self.job.wait()
        self.job = None
        self.progress.hide()
        self.cancel_btn.hide()
        msg = result.get("message") if isinstance(result, dict) else None
        self.info.setText("Download cancelled." if result.get("cancelled") else msg or "")
        self.reload()

    def reject(self) -> None:
        self.cancel()
        if self.job is not None:
            self.job.wait(5000)
        super().reject()
