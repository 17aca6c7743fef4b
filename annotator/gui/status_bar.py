"""Status bar: active engines and device, embedding status, frame, job progress with cancel.

Nothing here is clipped: the message and the labels elide (``…``) when the window is narrow
and then carry their whole text in a tooltip. A message is news (the default colour), a warning
(amber: done, but something was left out) or an error (red: nothing was done); only the message
takes the colour. Messages time out; a message about the current frame or object
(``context=True``) is cleared as soon as either changes or a job starts, and :meth:`reset`
clears everything when the project closes.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStatusBar,
    QStyle,
    QStyleOption,
    QWidget,
)


class ElidedLabel(QLabel):
    """One line of text that elides on the right when narrower than its text; the whole text
    is then its tooltip (unless the owner set a tooltip of its own)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._own_tip = ""

    def setToolTip(self, tip: str) -> None:  # noqa: N802
        self._own_tip = tip
        super().setToolTip(tip)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        full = super().minimumSizeHint()
        return QSize(min(full.width(), self.fontMetrics().horizontalAdvance("M" * 4)),
                     full.height())

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              rect.width())
        QLabel.setToolTip(self, self._own_tip or (self.text() if shown != self.text() else ""))
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


ERROR, WARNING = QColor("#ff6b6b"), QColor("#ffb74d")
PROGRESS_MS = 100  # the progress bar shows a job's progress this often at most


class StatusBar(QStatusBar):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status_bar")
        self.frame_label = QLabel("")
        self.engines_label = ElidedLabel("no project")
        self.embedding_label = ElidedLabel("")
        self.job_label = ElidedLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the running job; frames already done are kept (Esc)")
        self.cancel_btn.clicked.connect(self.cancel_requested)
        for w in (self.frame_label, self.embedding_label, self.engines_label, self.job_label,
                  self.progress, self.cancel_btn):
            self.addPermanentWidget(w)
        self._color: QColor | None = None  # the message's colour (None: the palette's)
        self.level = "info"  # of the message shown: "info", "warning" or "error"
        self._context: tuple | None = None
        self._context_message = ""
        self._progress: tuple[int, int] | None = None
        self._progress_due = QTimer(self)
        self._progress_due.setSingleShot(True)
        self._progress_due.setInterval(PROGRESS_MS)
        self._progress_due.timeout.connect(self._show_progress)
        self.show_job(None)
        self.messageChanged.connect(self._message_changed)

    # -- messages --------------------------------------------------------------------------
    def say(self, text: str, error: bool = False, msecs: int = 8000,
            context: bool = False, warning: bool = False) -> None:
        """Show ``text`` for ``msecs`` — in red when it is an ``error``, amber when a
        ``warning``; ``context``: it is about the current frame and object and goes away as
        soon as either changes."""
        self._color = ERROR if error else WARNING if warning else None
        self.level = "error" if error else "warning" if warning else "info"
        self.showMessage(text, msecs)
        self._context_message = text if context else ""
        self.update()

    def set_context(self, frame: int | None, object_id: int | None = None) -> None:
        """The window moved to ``frame`` / ``object_id``: drop messages about the old ones."""
        self.frame_label.setText("" if frame is None else f"frame {frame}")
        new = (frame, object_id)
        if new != self._context and self._context_message \
                and self.currentMessage() == self._context_message:
            self.clearMessage()
        self._context = new

    def reset(self) -> None:
        """No project: no engines, embedding, frame, job or message left from the last one."""
        self.clearMessage()
        self.set_engines("no project")
        self.set_embedding("idle")
        self.set_context(None)
        self._context = None
        self.show_job(None)

    def _message_changed(self, text: str) -> None:
        if not text:
            self._context_message = ""
            self._color, self.level = None, "info"
            self.setToolTip("")
        self.update()

    def _message_rect(self) -> QRect:
        right = self.width() - 12
        for w in (self.frame_label, self.embedding_label, self.engines_label, self.job_label,
                  self.progress, self.cancel_btn):
            if w.isVisible():
                right = min(right, w.x() - 2)
                break
        return QRect(6, 0, max(0, right - 6), self.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        """QStatusBar's own painting, except that a long message elides instead of being cut
        off under the labels (its whole text is then the bar's tooltip)."""
        text = self.currentMessage()
        if not text:
            super().paintEvent(event)
            return
        p = QPainter(self)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, opt, p, self)
        rect = self._message_rect()
        shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        self.setToolTip(text if shown != text else "")
        p.setPen(self._color or self.palette().windowText().color())
        p.drawText(rect, int(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter
                             | Qt.TextFlag.TextSingleLine), shown)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """Labels never take more than their share: the message keeps at least a third."""
        w = event.size().width()
        self.engines_label.setMaximumWidth(max(90, w // 4))
        self.embedding_label.setMaximumWidth(max(90, w // 6))
        self.job_label.setMaximumWidth(max(90, w // 6))
        super().resizeEvent(event)

    # -- labels ----------------------------------------------------------------------------
    def set_engines(self, short: str, full: str = "", device: str = "") -> None:
        """Engines in short (fallbacks say so) and the device; full names in the tooltip."""
        self.engines_label.setText(f"{short} · {device}" if device else short)
        self.engines_label.setToolTip(f"{full or short}\ndevice: {device}" if device else full)

    def set_embedding(self, state: str) -> None:
        self.embedding_label.setText({"computing": "embedding: computing…",
                                      "ready": "embedding: ready", "idle": ""}.get(state, state))

    def show_job(self, title: str | None) -> None:
        on = title is not None
        if on and self._context_message and self.currentMessage() == self._context_message:
            self.clearMessage()  # "Candidate 1 of 3" is about a moment before the job
        self.job_label.setText(title or "")
        self.progress.setVisible(on)
        self.cancel_btn.setVisible(on)
        self.job_label.setVisible(on)
        self._progress = None
        if on:
            self.progress.setRange(0, 0)
            self.cancel_btn.setEnabled(True)

    def job_progress(self, done: int, total: int, message: str = "") -> None:
        """The job's progress, shown at most every :data:`PROGRESS_MS` (a progress bar paints
        itself at once on every change, which made the GUI thread paint once per frame)."""
        self._progress = (done, total)
        if not self._progress_due.isActive():
            self._progress_due.start()

    def _show_progress(self) -> None:
        if self._progress is None or not self.progress.isVisible():
            return
        done, total = self._progress
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total}")
