"""Stage 3, check and re-annotate: flagged clips worst first, stepping from flag to flag,
the XMem mask beside its refinement, and the segment's verdict (done / failed).

The list is computed from the store on a worker thread (each mask revision carries the flags
the pipeline raised and its estimated probability of being wrong): segments a person marked
failed first, then flagged clips worst first — the score is the clip's expected number of
failed frames — each reason in words with a tooltip saying what was measured and what to do. F / Shift+F step
through the flagged frames in the list's order. A fix is made on the canvas with clicks or the brush; accepting it makes
the frame an anchor and re-propagates only up to the neighbouring anchors (see the window).
"""

from __future__ import annotations

from collections.abc import Iterable
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

from annotator.gui.session import ProjectSession
from annotator.pipeline.flags import flag_help, flag_label

FAILED_HELP = ("You marked this segment failed. It stays in this list until it is fixed: click "
               "the object on a frame where the mask is wrong and press Enter (the fix is "
               "re-propagated to the neighbouring anchors), then mark the segment done.")


def flagged_clips(store: Any) -> tuple[list[Any], list[tuple[int, int]], list[Any]]:
    """Clips worst first (the pipeline's ranking, as ``annotator review`` prints it), every
    flagged (frame, object) in frame order, and the segments marked failed (worker thread)."""
    from annotator.pipeline.clips import review_clips

    frames = sorted((m.frame, o.id) for o in store.objects() for m in store.masks_of(o.id)
                    if m.flags and not m.anchor)
    failed = [s for s in store.segments() if s.status == "failed"]
    return review_clips(store), frames, failed


def walk_order(clips: Iterable[Any], frames: list[tuple[int, int]],
               failed: Iterable[Any]) -> list[tuple[int, int, int]]:
    """What F visits, in the list's order: ``(frame, object, row)`` — a failed segment's first
    frame (those rows come first), then each clip's flagged frames in frame order."""
    out: list[tuple[int, int, int]] = []
    seen: set[tuple[int, int]] = set()
    row = 0
    for seg in failed:
        out.append((seg.start, seg.object_id, row))
        seen.add((seg.start, seg.object_id))
        row += 1
    for c in clips:
        for f, oid in frames:
            if oid == c.object_id and c.start <= f <= c.end and (f, oid) not in seen:
                out.append((f, oid, row))
                seen.add((f, oid))
        row += 1
    return out


class CheckView(QWidget):
    """The review panel."""

    goto = Signal(int, int)  # object id, frame
    compare_changed = Signal(bool)  # show the other revision (XMem vs refined)
    use_shown = Signal()
    mark = Signal(str)  # "done" / "failed" for the current segment

    def __init__(self, session: ProjectSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("check_view")
        self.session = session
        self.clips: list[Any] = []
        self.failed: list[Any] = []
        self.frames: list[tuple[int, int]] = []
        self.order: list[tuple[int, int, int]] = []
        self.names: dict[int, str] = {}
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
        self.compare_btn.toggled.connect(self.compare_changed)
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
        self.frame = 0
        session.masks_changed.connect(self._maybe_reload)
        session.objects_changed.connect(self.reload)
        session.segments_changed.connect(self.reload)
        session.job_finished.connect(lambda _r: self.reload())
        self.reload()

    def _maybe_reload(self, keys: Any) -> None:
        if self.session.job is None and self.isVisible():
            self.reload()

    def reload(self) -> None:
        store = self.session.store

        def work() -> tuple:
            return flagged_clips(store), {o.id: o.name for o in store.objects()}

        self.session.run(work, self._fill)

    def _fill(self, result: tuple) -> None:
        (self.clips, self.frames, self.failed), self.names = result
        self.order = walk_order(self.clips, self.frames, self.failed)
        self.tree.clear()
        for seg in self.failed:
            it = QTreeWidgetItem([self.names.get(seg.object_id, "?"), f"{seg.start}–{seg.end}",
                                  "marked failed", "—"])
            it.setData(0, Qt.ItemDataRole.UserRole, (seg.object_id, seg.start))
            for col in range(4):
                it.setToolTip(col, FAILED_HELP)
            self.tree.addTopLevelItem(it)
        for c in self.clips:
            counts = c.flags.most_common()
            flags = "\n".join(f"{flag_label(name)} ×{n}" for name, n in counts)
            it = QTreeWidgetItem([self.names.get(c.object_id, "?"), f"{c.start}–{c.end}",
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
        n = len(self.frames)
        parts = []
        if self.failed:
            parts.append(f"{len(self.failed)} segment{'s' * (len(self.failed) != 1)} marked "
                         "failed (listed first until fixed)")
        if n:
            parts.append(f"{len(self.clips)} flagged clips, {n} flagged frames")
        self.summary.setText("; ".join(parts) + " — worst first. F / Shift+F step through them."
                             if parts else
                             "No flagged frames. Propagate segments, or mark them done.")

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        oid, frame = item.data(0, Qt.ItemDataRole.UserRole)
        self._at = (frame, oid)
        self.goto.emit(oid, frame)

    def set_frame(self, frame: int) -> None:
        self.frame = frame

    def step(self, direction: int) -> tuple[int, int] | None:
        """Go to the next (+1) or previous (−1) flagged frame in the list's order (worst
        first), from the current one; from a frame that is not in the list, to the worst."""
        order = self.order
        if not order:
            self.session.message.emit("No flagged frames.", False)
            return None
        keys = [(f, oid) for f, oid, _row in order]
        i = None
        if self._at is not None and self._at[0] == self.frame and self._at in keys:
            i = keys.index(self._at)
        else:
            i = next((k for k, (f, _o) in enumerate(keys) if f == self.frame), None)
        if i is None:
            j = 0 if direction > 0 else len(keys) - 1
        else:
            j = (i + direction) % len(keys)
        frame, oid, row = order[j]
        self._at = (frame, oid)
        self.tree.setCurrentItem(self.tree.topLevelItem(row))
        self.goto.emit(oid, frame)
        return oid, frame

    def set_compare_text(self, text: str) -> None:
        self.compare_label.setText(text)
