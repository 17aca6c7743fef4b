"""Stage 3, check and re-annotate: flagged clips worst first, stepping from flag to flag,
the XMem mask beside its refinement, and the segment's verdict (done / failed).

The list is the session's check list (:mod:`annotator.pipeline.check_list`, read from the store
on a worker thread whenever masks change; each mask revision carries the flags
the pipeline raised and its estimated probability of being wrong): segments a person marked
failed first, then flagged clips worst first — the score is the clip's expected number of
failed frames — each reason in words with a tooltip saying what was measured and what to do. F / Shift+F step
through the flagged frames in the list's order. A fix is made on the canvas with clicks or the brush; accepting it makes
the frame an anchor and re-propagates only up to the neighbouring anchors (see the window).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.core.words import plural
from annotator.gui.session import ProjectSession
from annotator.gui.view_state import ViewState
from annotator.pipeline.flags import flag_help, flag_label

FAILED_HELP = ("You marked this segment failed. It stays in this list until it is fixed: click "
               "the object on a frame where the mask is wrong and press Enter (the fix is "
               "re-propagated to the neighbouring anchors), then mark the segment done.")


class CheckView(QWidget):
    """The review panel."""

    use_shown = Signal()
    mark = Signal(str)  # "done" / "failed" for the current segment

    def __init__(self, session: ProjectSession, state: ViewState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("check_view")
        self.session = session
        self.state = state
        self._at: tuple[int, int] | None = None  # the (frame, object) F last went to
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Object", "Frames", "Flags", "Score"])
        for col, tip in enumerate(("The object whose masks were flagged",
                                   "The clip's frames (or the failed segment's)",
                                   "What the quality checks found, with how many frames; hover "
                                   "a row for what each means and what to do",
                                   "How many of the clip's frames are expected to have "
                                   "failed (the sum of each frame's estimated probability "
                                   "that its mask is wrong): the list is sorted worst first")):
            self.tree.headerItem().setToolTip(col, tip)
        self.tree.setRootIsDecorated(False)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col in range(4):  # every column as wide as its text; the flags take what is left
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch if col == 2
                                        else QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.summary = QLabel("No flags yet: propagate a segment first.")
        self.summary.setWordWrap(True)
        self.prev_btn = QPushButton("◀ Previous flag")
        self.next_btn = QPushButton("Next flag (F) ▶")
        self.prev_btn.setToolTip("The previous flagged frame in the list's order (Shift+F)")
        self.next_btn.setToolTip("The next flagged frame in the list's order, worst first (F)")
        self.compare_btn = QPushButton("XMem ⇄ refined (X)")
        self.compare_btn.setCheckable(True)
        self.compare_btn.setToolTip("Show the mask before refinement (the raw propagated mask) "
                                    "instead of the current one")
        self.use_btn = QPushButton("Use shown mask")
        self.use_btn.setToolTip("Make the mask on screen this frame's anchor (Enter)")
        self.done_btn = QPushButton("Segment done")
        self.failed_btn = QPushButton("Segment failed")
        self.auto_repropagate = QCheckBox("Re-propagate to the neighbouring anchors after a fix")
        self.auto_repropagate.setChecked(True)
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        self.prev_btn.clicked.connect(lambda: self.step(-1))
        self.next_btn.clicked.connect(lambda: self.step(+1))
        self.compare_btn.toggled.connect(lambda on: setattr(self.state, "compare", on))
        self.use_btn.clicked.connect(self.use_shown)
        self.done_btn.clicked.connect(lambda: self.mark.emit("done"))
        self.failed_btn.clicked.connect(lambda: self.mark.emit("failed"))
        grid = QGridLayout()
        grid.addWidget(self.prev_btn, 0, 0)
        grid.addWidget(self.next_btn, 0, 1)
        grid.addWidget(self.compare_btn, 1, 0)
        grid.addWidget(self.use_btn, 1, 1)
        grid.addWidget(self.done_btn, 2, 0)
        grid.addWidget(self.failed_btn, 2, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        lay.addWidget(self.tree)
        lay.addLayout(grid)
        lay.addWidget(self.compare_label)
        lay.addWidget(self.auto_repropagate)
        session.flags_changed.connect(self._fill)
        session.objects_changed.connect(self._fill)
        state.compare_changed.connect(self._show_compare)
        self._fill()

    @property
    def checks(self) -> Any:
        return self.session.checks

    def _show_compare(self, on: bool) -> None:
        self.compare_btn.blockSignals(True)
        self.compare_btn.setChecked(on)
        self.compare_btn.blockSignals(False)
        if not on:
            self.compare_label.setText("")

    def _fill(self) -> None:
        checks = self.checks
        names = {o.id: o.name for o in self.session.objects}
        self.tree.clear()
        for seg in checks.failed:
            it = QTreeWidgetItem([names.get(seg.object_id, "?"), f"{seg.start}–{seg.end}",
                                  "marked failed", "—"])
            it.setData(0, Qt.ItemDataRole.UserRole, (seg.object_id, seg.start))
            for col in range(4):
                it.setToolTip(col, FAILED_HELP)
            self.tree.addTopLevelItem(it)
        for c in checks.clips:
            counts = c.flags.most_common()
            flags = "\n".join(f"{flag_label(name)} ×{n}" for name, n in counts)
            it = QTreeWidgetItem([names.get(c.object_id, "?"), f"{c.start}–{c.end}",
                                  flags, f"{c.score:.1f}"])
            it.setData(0, Qt.ItemDataRole.UserRole, (c.object_id, c.worst_frame))
            where = (f"About {c.score:.1f} of these {c.end - c.start + 1} frames are likely "
                     f"wrong; the worst is frame {c.worst_frame} ({c.worst:.0%} likely wrong): "
                     "click to go there.")
            explain = "\n\n".join(f"{flag_label(name)} ({n} frames): {flag_help(name)}"
                                   for name, n in counts)
            for col in range(4):
                it.setToolTip(col, f"{where}\n\n{explain}")
            self.tree.addTopLevelItem(it)
        parts = []
        if checks.failed:
            parts.append(f"{plural(len(checks.failed), 'segment')} marked failed (listed first "
                         "until fixed)")
        if checks.clips:
            parts.append(f"{plural(len(checks.clips), 'flagged clip')} over "
                         f"{plural(checks.clip_frames, 'frame')}")
        self.summary.setText("; ".join(parts) + " — worst first. F / Shift+F step through them."
                             if parts else
                             "No flagged frames. Propagate segments, or mark them done.")

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        oid, frame = item.data(0, Qt.ItemDataRole.UserRole)
        self._at = (frame, oid)
        self.state.go(oid, frame)

    def step(self, direction: int) -> tuple[int, int] | None:
        """Go to the next (+1) or previous (−1) flagged frame in the list's order (worst
        first), from the current one; from a frame that is not in the list, to the worst."""
        order, frame_now = self.checks.order, self.state.frame
        if not order:
            self.session.say("No flagged frames.", False)
            return None
        keys = [(f, oid) for f, oid, _row in order]
        i = None
        if self._at is not None and self._at[0] == frame_now and self._at in keys:
            i = keys.index(self._at)
        else:
            i = next((k for k, (f, _o) in enumerate(keys) if f == frame_now), None)
        if i is None:
            j = 0 if direction > 0 else len(keys) - 1
        else:
            j = (i + direction) % len(keys)
        frame, oid, row = order[j]
        self._at = (frame, oid)
        self.tree.setCurrentItem(self.tree.topLevelItem(row))
        self.state.go(oid, frame)
        return oid, frame

    def set_compare_text(self, text: str) -> None:
        self.compare_label.setText(text)
