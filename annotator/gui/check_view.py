"""Stage 3, check and re-annotate: flagged clips worst first, stepping from flag to flag,
the XMem mask beside its refinement, and the segment's verdict (done / failed); after *Review ▸
Compare with…*, the frames where another annotation disagrees with this one, walked the same way.

The list is the session's check list (:mod:`annotator.pipeline.check_list`, read from the store
on a worker thread whenever masks change; each mask revision carries the flags
the pipeline raised and its estimated probability of being wrong): what a reviewer asked for
first (needs work, then fixed since, then changed since approval, each at the frame its comment
is pinned to; in reviewer mode the Approve / Needs work buttons show), then segments a person
marked failed, then flagged clips worst first — the score is the clip's expected number of
failed frames — each reason in words with a tooltip saying what was measured and what to do. F / Shift+F step
through the flagged frames in the list's order. A fix is made on the canvas with clicks or the brush; accepting it makes
the frame an anchor and re-propagates only up to the neighbouring anchors (see the window).

Its list has two sources, chosen above it once there is a comparison: the flagged clips, and
the runs of frames where the other annotation disagrees (:mod:`annotator.pipeline.disagreement`:
worst first, F visiting each run's worst frame first) — the same rows, buttons and keys.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
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
REVIEW_HELP = {
    "needs_work": "A reviewer asked for work on this segment; click the row to go to the frame "
                  "the comment is about (the comment shows on the frame). Fix the mask there "
                  "(click the object, Enter); the reviewer then looks again.",
    "fixed": "A reviewer asked for work on this segment and it changed since: it waits for "
             "the reviewer to approve it (Review ▸ Reviewer mode) or ask again.",
    "changed": "A reviewer approved this segment, and it changed since: it waits for the "
               "reviewer to look again."}
FLAG_HEADERS = ("Object", "Frames", "Flags", "Score")
COMPARE_HEADERS = ("Object", "Frames", "Where they differ", "Score")


class CheckView(QWidget):
    """The review panel."""

    use_shown = Signal()
    mark = Signal(str)  # "done" / "failed" for the current segment
    review = Signal(str)  # reviewer mode: "approved" / "needs_work" for the current segment
    source_changed = Signal(str)  # "flags" / "compare": which list is shown and walked

    def __init__(self, session: ProjectSession, state: ViewState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("check_view")
        self.session = session
        self.state = state
        self._at: tuple[int, int] | None = None  # the (frame, object) F last went to
        self.comparison: Any = None  # a pipeline.disagreement.Comparison, once there is one
        self._other, self._reference, self._stale = "", "this", False
        self.source = QComboBox()
        self.source.setObjectName("check_source")
        self.source.setToolTip("Which list is shown and walked with F / Shift+F: the flagged "
                               "clips, or where the annotation compared with disagrees")
        self.source.addItem("Flagged clips", "flags")
        # a long project name must not widen the dock: the combo elides it
        self.source.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(16)
        self.source.setVisible(False)  # until there is a comparison to choose
        self.source.currentIndexChanged.connect(self._source_chosen)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(FLAG_HEADERS))
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
        self.other_version_btn = QPushButton("XMem ⇄ refined (X)")
        self.other_version_btn.setCheckable(True)
        self.other_version_btn.setToolTip("Show the mask before refinement (the raw propagated mask) "
                                    "instead of the current one")
        self.use_btn = QPushButton("Use shown mask")
        self.use_btn.setToolTip("Make the mask on screen this frame's anchor (Enter)")
        self.done_btn = QPushButton("Segment done")
        self.failed_btn = QPushButton("Segment failed")
        self.approve_btn = QPushButton("Approve segment")
        self.approve_btn.setObjectName("review_approve")
        self.approve_btn.setToolTip("Reviewer mode: the segment under the playhead is approved")
        self.needs_work_btn = QPushButton("Needs work…")
        self.needs_work_btn.setObjectName("review_needs_work")
        self.needs_work_btn.setToolTip("Reviewer mode: ask for work on the segment under the "
                                       "playhead, with a comment pinned to this frame")
        self.approve_btn.clicked.connect(lambda: self.review.emit("approved"))
        self.needs_work_btn.clicked.connect(lambda: self.review.emit("needs_work"))
        self.set_reviewer(False)
        self.auto_repropagate = QCheckBox("Re-propagate to the neighbouring anchors after a fix")
        self.auto_repropagate.setChecked(True)
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        self.prev_btn.clicked.connect(lambda: self.step(-1))
        self.next_btn.clicked.connect(lambda: self.step(+1))
        self.other_version_btn.toggled.connect(lambda on: setattr(self.state, "other_version", on))
        self.use_btn.clicked.connect(self.use_shown)
        self.done_btn.clicked.connect(lambda: self.mark.emit("done"))
        self.failed_btn.clicked.connect(lambda: self.mark.emit("failed"))
        grid = QGridLayout()
        grid.addWidget(self.prev_btn, 0, 0)
        grid.addWidget(self.next_btn, 0, 1)
        grid.addWidget(self.other_version_btn, 1, 0)
        grid.addWidget(self.use_btn, 1, 1)
        grid.addWidget(self.done_btn, 2, 0)
        grid.addWidget(self.failed_btn, 2, 1)
        grid.addWidget(self.approve_btn, 3, 0)
        grid.addWidget(self.needs_work_btn, 3, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()  # the source chooser beside the summary: no line of its own
        top.addWidget(self.source)
        top.addWidget(self.summary, 1)
        lay.addLayout(top)
        lay.addWidget(self.tree)
        lay.addLayout(grid)
        lay.addWidget(self.compare_label)
        lay.addWidget(self.auto_repropagate)
        session.flags_changed.connect(self._fill)
        session.objects_changed.connect(self._fill)
        state.other_version_changed.connect(self._show_other_version)
        self._fill()

    def set_reviewer(self, on: bool) -> None:
        """Reviewer mode (Review ▸ Reviewer mode): the Approve / Needs work buttons show."""
        self.approve_btn.setVisible(on)
        self.needs_work_btn.setVisible(on)

    @property
    def walking(self) -> str:
        """The list shown and walked: ``"flags"`` or ``"compare"``."""
        return self.source.currentData() or "flags"

    @property
    def checks(self) -> Any:
        if self.walking == "compare" and self.comparison is not None:
            return self.comparison.checks
        return self.session.checks

    # -- the comparison ----------------------------------------------------------------------
    def set_comparison(self, comparison: Any, other: str = "", reference: str = "this") -> None:
        """Show (and walk) where ``other`` disagrees with this project (None: no comparison,
        back to the flags). ``reference``: the ground truth of the scores, "this" or "other"."""
        self.comparison, self._other, self._reference = comparison, other, reference
        self._stale = False
        self.source.blockSignals(True)
        while self.source.count() > 1:
            self.source.removeItem(1)
        if comparison is not None:
            self.source.addItem(f"Compared: {other}", "compare")
            self.source.setItemData(1, f"Where {other} disagrees with this project",
                                    Qt.ItemDataRole.ToolTipRole)
            self.source.setCurrentIndex(1)
        else:
            self.source.setCurrentIndex(0)
        self.source.blockSignals(False)
        self.source.setVisible(comparison is not None)
        self._at = None
        self._fill()
        self.source_changed.emit(self.walking)

    def set_comparison_stale(self, stale: bool = True) -> None:
        """This project changed since the comparison was made (its list may be out of date)."""
        self._stale = bool(stale)
        self._fill()

    def _source_chosen(self, _index: int) -> None:
        self._at = None
        self._fill()
        self.source_changed.emit(self.walking)

    def kind_words(self, kind: str) -> str:
        """A run's kind of frame (:data:`annotator.pipeline.disagreement.KINDS`) in words."""
        here = "only in this project"
        there = f"only in {self._other}"
        if kind == "differ":
            return "masks differ"
        ref_only = kind == "only_gt"
        return here if ref_only == (self._reference == "this") else there

    def _show_other_version(self, on: bool) -> None:
        self.other_version_btn.blockSignals(True)
        self.other_version_btn.setChecked(on)
        self.other_version_btn.blockSignals(False)
        if not on:
            self.set_compare_text("")

    def _fill(self) -> None:
        compare = self.walking == "compare" and self.comparison is not None
        self.tree.setHeaderLabels(list(COMPARE_HEADERS if compare else FLAG_HEADERS))
        word = "disagreement" if compare else "flag"
        self.prev_btn.setText(f"◀ Previous {word}")
        self.next_btn.setText(f"Next {word} (F) ▶")
        if compare:
            self._fill_compare()
        else:
            self._fill_flags()
        self.set_compare_text(self.compare_label.text())

    def _fill_compare(self) -> None:
        comp = self.comparison
        checks = comp.checks
        names = {o.id: o.name for o in self.session.objects}
        self.tree.clear()
        for c in checks.clips:
            what = "\n".join(f"{self.kind_words(k)} ×{n}" for k, n in c.flags.most_common())
            it = QTreeWidgetItem([names.get(c.object_id, "—"), f"{c.start}–{c.end}", what,
                                  f"{c.score:.1f}"])
            it.setData(0, Qt.ItemDataRole.UserRole, (c.object_id, c.worst_frame))
            tip = (f"The lowest IoU of these {c.end - c.start + 1} frames is "
                   f"{1 - c.worst:.2f}, at frame {c.worst_frame}: click to go there. Score: "
                   f"1 − IoU summed over the frames, about {c.score:.1f} frames' worth of mask "
                   "the two do not share (the list is sorted worst first).")
            for col in range(4):
                it.setToolTip(col, tip)
            self.tree.addTopLevelItem(it)
        ref = "this project" if self._reference == "this" else self._other
        stale = " Out of date: compare again." if self._stale else ""
        # short: it shares its line with the source chooser; the whole story in its tooltip
        if checks.clips:
            self.summary.setText(f"{plural(len(checks.clips), 'stretch', 'stretches')}, "
                                 f"{plural(len(checks.frames), 'frame')} under IoU "
                                 f"{comp.bar:g}, worst first.{stale}")
            self.summary.setToolTip(
                f"{plural(len(checks.clips), 'stretch', 'stretches')} where {self._other} "
                f"disagrees with this project (IoU under {comp.bar:g} on "
                f"{plural(len(checks.frames), 'frame')}; the reference: {ref}), worst first; "
                "F / Shift+F step through them, a click goes to a stretch's worst frame."
                + (" This project changed since: compare again (Review ▸ Compare with…) to "
                   "bring the list up to date." if self._stale else ""))
        else:
            self.summary.setText(f"Agrees on every frame (IoU {comp.bar:g} or more).{stale}")
            self.summary.setToolTip(f"{self._other} and this project agree on every frame "
                                    f"(IoU {comp.bar:g} or more; the reference: {ref}).")

    def _fill_flags(self) -> None:
        checks = self.session.checks
        self.summary.setToolTip("")
        names = {o.id: o.name for o in self.session.objects}
        self.tree.clear()
        for r in checks.listed_reviews:
            said = f"{r.words} ({r.by})" + (f": {r.comment}" if r.comment else "")
            it = QTreeWidgetItem([names.get(r.object_id, "?"), f"{r.start}–{r.end}", said,
                                  f"@{r.frame}"])
            it.setData(0, Qt.ItemDataRole.UserRole, (r.object_id, r.frame))
            for col in range(4):
                it.setToolTip(col, f"{said}\n\n{REVIEW_HELP[r.state]}")
            self.tree.addTopLevelItem(it)
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
        asked = [r for r in checks.listed_reviews if r.state == "needs_work"]
        if asked:
            parts.append(f"{plural(len(asked), 'segment')} needing work (listed first)")
        if len(checks.listed_reviews) > len(asked):
            parts.append(f"{plural(len(checks.listed_reviews) - len(asked), 'segment')} "
                         "changed since review")
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

    def first(self) -> tuple[int, int] | None:
        """Go to the first frame of the list's order (the worst)."""
        self._at = None
        order = self.checks.order
        if not order:
            return self.step(+1)  # (says there is nothing to walk)
        frame, oid, row = order[0]
        self._at = (frame, oid)
        self.tree.setCurrentItem(self.tree.topLevelItem(row))
        self.state.go(oid, frame)
        return oid, frame

    def step(self, direction: int) -> tuple[int, int] | None:
        """Go to the next (+1) or previous (−1) flagged frame in the list's order (worst
        first), from the current one; from a frame that is not in the list, to the worst."""
        order, frame_now = self.checks.order, self.state.frame
        if not order:
            self.session.say("No frames where the two disagree." if self.walking == "compare"
                             else "No flagged frames.", False)
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
        # walking a comparison, the source chooser takes its line while it has nothing to say
        self.compare_label.setVisible(bool(text) or self.walking == "flags")
