"""Stage 3, check and re-annotate: flagged clips worst first, stepping from flag to flag,
the XMem mask beside its refinement, and the segment's verdict (done / failed).

The list is computed from the store on a worker thread (each mask revision carries the flags
the pipeline raised). A fix is made on the canvas with clicks or the brush; accepting it makes
the frame an anchor and re-propagates only up to the neighbouring anchors (see the window).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.session import ProjectSession


def flagged_clips(store: Any) -> tuple[list[Any], list[tuple[int, int]]]:
    """Clips worst first (the pipeline's ranking, as ``annotator review`` prints it) and every
    flagged (frame, object) in frame order, for stepping (worker thread)."""
    from annotator.pipeline.flags import review_clips

    frames = sorted((m.frame, o.id) for o in store.objects() for m in store.masks_of(o.id)
                    if m.flags and not m.anchor)
    return review_clips(store), frames


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
        self.frames: list[tuple[int, int]] = []
        self.names: dict[int, str] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Object", "Frames", "Flags", "Score"])
        self.tree.setRootIsDecorated(False)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.summary = QLabel("No flags yet: propagate a segment first.")
        self.summary.setWordWrap(True)
        self.prev_btn = QPushButton("◀ Previous flag")
        self.next_btn = QPushButton("Next flag (F) ▶")
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
        (self.clips, self.frames), self.names = result
        self.tree.clear()
        for c in self.clips:
            flags = ", ".join(name for name, _n in c.flags.most_common())
            it = QTreeWidgetItem([self.names.get(c.object_id, "?"), f"{c.start}–{c.end}",
                                  flags, f"{c.score:.1f}"])
            it.setData(0, Qt.ItemDataRole.UserRole, (c.object_id, c.worst_frame))
            it.setToolTip(0, f"{c.flagged} flagged frames, worst {c.worst_frame}: "
                             "click to go there")
            self.tree.addTopLevelItem(it)
        n = len(self.frames)
        self.summary.setText(f"{len(self.clips)} flagged clips, {n} flagged frames — worst first."
                             if n else "No flagged frames. Propagate segments, or mark them done.")

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        oid, frame = item.data(0, Qt.ItemDataRole.UserRole)
        self.goto.emit(oid, frame)

    def set_frame(self, frame: int) -> None:
        self.frame = frame

    def step(self, direction: int) -> tuple[int, int] | None:
        """Go to the next (+1) or previous (−1) flagged frame after the current one."""
        if not self.frames:
            self.session.message.emit("No flagged frames.", False)
            return None
        if direction > 0:
            after = [fo for fo in self.frames if fo[0] > self.frame]
            target = after[0] if after else self.frames[0]
        else:
            before = [fo for fo in self.frames if fo[0] < self.frame]
            target = before[-1] if before else self.frames[-1]
        frame, oid = target
        self.goto.emit(oid, frame)
        return oid, frame

    def set_compare_text(self, text: str) -> None:
        self.compare_label.setText(text)
