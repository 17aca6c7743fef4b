"""Status bar: active engines and device, embedding status, frame, job progress with cancel."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget


class StatusBar(QStatusBar):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status_bar")
        self.frame_label = QLabel("")
        self.engines_label = QLabel("no project")
        self.embedding_label = QLabel("")
        self.job_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the running job; frames already done are kept (Esc)")
        self.cancel_btn.clicked.connect(self.cancel_requested)
        for w in (self.frame_label, self.embedding_label, self.engines_label, self.job_label,
                  self.progress, self.cancel_btn):
            self.addPermanentWidget(w)
        self.show_job(None)
        self._error_style = False
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(self._reset_style)

    def say(self, text: str, error: bool = False, msecs: int = 8000) -> None:
        self.setStyleSheet("QStatusBar { color: #ff6b6b; }" if error else "")
        self.showMessage(text, msecs)
        self._clear.start(msecs)

    def _reset_style(self) -> None:
        self.setStyleSheet("")

    def set_engines(self, short: str, full: str = "", device: str = "") -> None:
        """Engines in short (fallbacks say so) and the device; full names in the tooltip."""
        self.engines_label.setText(f"{short} · {device}" if device else short)
        self.engines_label.setToolTip(f"{full or short}\ndevice: {device}" if device else full)

    def set_embedding(self, state: str) -> None:
        self.embedding_label.setText({"computing": "embedding: computing…",
                                      "ready": "embedding: ready", "idle": ""}.get(state, state))

    def show_job(self, title: str | None) -> None:
        on = title is not None
        self.job_label.setText(title or "")
        self.progress.setVisible(on)
        self.cancel_btn.setVisible(on)
        self.job_label.setVisible(on)
        if on:
            self.progress.setRange(0, 0)
            self.cancel_btn.setEnabled(True)

    def job_progress(self, done: int, total: int, message: str = "") -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total}")
