"""Review ▸ Compare with…: the scores of one annotation of the video against another — overall
and per category, in percent as ``annotator evaluate`` prints them — while the check view
walks the frames where they disagree. A view: the compare controller feeds it
(:meth:`CompareDialog.show_running`, :meth:`show_scores`, :meth:`show_error`) and listens to
its buttons."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.core.words import plural
from annotator.pipeline.evaluate import percent

#: the columns: (metric key, what its header says when hovered)
COLUMNS = (
    ("n_segments", "How many reference segments were scored"),
    ("m_tIoU", "Mask IoU over each reference segment's frames, in percent (a frame the other "
               "side leaves out scores 0)"),
    ("m_vIoU", "Spatio-temporal IoU of the tube: also charges frames the other side claims "
               "beyond the reference segment"),
    ("m_tF", "The AVS F-measure (β² = 0.3) over each reference segment's frames"),
    ("m_vF", "The F-measure over the union of the two segments' frames"),
    ("J&F", "DAVIS's J&F: the mean of region IoU and boundary F"),
    ("t_IoU", "Temporal IoU of the matched segments: do the two agree on when it sounds?"),
)


class CompareDialog(QDialog):
    """The scores of a comparison (see the module docstring); not modal."""

    walk = Signal()  # the person wants to step through the disagreements
    again = Signal()  # compare again (this project changed, or the reference was swapped)
    reference_changed = Signal(str)  # "this" / "other": which side is the ground truth

    def __init__(self, other: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare_dialog")
        self.setWindowTitle(f"Compare with {other}")
        self.setModal(False)
        self.other = other
        self.what = QLabel("")
        self.what.setWordWrap(True)
        self.reference = QCheckBox(f"Take {other} as the reference (ground truth)")
        self.reference.setToolTip("By default this project is the ground truth and the other "
                                  "is scored against it; tick to score this project against "
                                  "the other")
        self.reference.toggled.connect(
            lambda on: self.reference_changed.emit("other" if on else "this"))
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.message = QLabel("")
        self.message.setObjectName("compare_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("compare_scores")
        self.table.setHorizontalHeaderLabels([k for k, _tip in COLUMNS])
        for col, (_k, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.walk_btn = QPushButton("Walk the disagreements (F)")
        self.walk_btn.setToolTip("Show the check view's list of the frames where the two "
                                 "disagree most and go to the worst")
        self.walk_btn.clicked.connect(self.walk)
        self.again_btn = QPushButton("Compare again")
        self.again_btn.setToolTip("Read both sides again and score them (after edits)")
        self.again_btn.clicked.connect(self.again)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.walk_btn, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.again_btn, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.what)
        lay.addWidget(self.reference)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)
        self.resize(720, 320)
        self.show_running(0, 0)

    # -- what the controller feeds ----------------------------------------------------------
    def show_running(self, done: int, total: int) -> None:
        """Scoring: ``done`` of ``total`` frames (0 of 0: opening the two sides)."""
        self.progress.setVisible(True)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done if total else 0)
        self.progress.setFormat(f"Scoring: frame {done} of {total}" if total
                                else "Opening both sides…")
        self.message.setText("")
        self.walk_btn.setEnabled(False)
        self.again_btn.setEnabled(False)
        self.reference.setEnabled(False)

    def show_scores(self, scores: Any, reference: str, runs: int, frames: int) -> None:
        """The scores (a :class:`~annotator.pipeline.evaluate.Scores`): the overall row, then
        one per category. ``reference``: "this" / "other"; ``runs`` / ``frames``: how many
        stretches and frames disagree."""
        self.progress.setVisible(False)
        gt, pred = ("this project", self.other) if reference == "this" else (
            self.other, "this project")
        where = (f"Where they disagree ({plural(runs, 'stretch', 'stretches')}, "
                 f"{plural(frames, 'frame')}) is listed in the check view, worst first."
                 if runs else "They agree on every frame.")
        self.what.setText(f"{pred} scored against {gt} (the reference), in percent. {where}")
        self.reference.blockSignals(True)
        self.reference.setChecked(reference == "other")
        self.reference.blockSignals(False)
        rows = [("overall", scores.overall | {"n_segments": scores.n_segments})]
        rows += list(scores.per_category.items())
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels([name for name, _d in rows])
        for r, (_name, d) in enumerate(rows):
            for c, (key, _tip) in enumerate(COLUMNS):
                text = str(d[key]) if key == "n_segments" else percent(d[key])
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.walk_btn.setEnabled(runs > 0)
        self.again_btn.setEnabled(True)
        self.reference.setEnabled(True)

    def show_error(self, text: str) -> None:
        """The comparison could not be made: one line that names the file and says why."""
        self.progress.setVisible(False)
        self.message.setStyleSheet("color: #ff6b6b")
        self.message.setText(text)
        self.table.setRowCount(0)
        self.what.setText("")
        self.walk_btn.setEnabled(False)
        self.again_btn.setEnabled(True)
        self.reference.setEnabled(True)

    def set_stale(self) -> None:
        """This project changed after the scores were computed."""
        self.message.setStyleSheet("")
        self.message.setText("This project changed since these scores: Compare again to "
                             "update them.")

    def cell(self, row: str, key: str) -> str:
        """The text shown for ``row`` ("overall" or a category) and ``key``."""
        names = [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]
        col = [k for k, _t in COLUMNS].index(key)
        return self.table.item(names.index(row), col).text()
