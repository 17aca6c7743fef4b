"""Audible-segment table: object, start–end (time and frames), status; filter and sort.

Lists the session's segments (kept in memory by the session). Double-click (or Enter) goes to
the segment's first frame with its object selected, ready for clicks. Adding, status changes
and deletions are undoable store operations through the session; the store refuses a segment
that breaks the segment rule, and the Add dialog says so before it is asked.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from annotator.core.segments import segment_problem
from annotator.core.words import plural
from annotator.gui.ask import ask
from annotator.gui.session import ProjectSession
from annotator.gui.view_state import ViewState

STATUS_LABELS = {"todo": "to do", "annotated": "annotated", "propagated": "propagated",
                 "review": "needs review", "done": "done", "failed": "failed"}
STATUS_COLORS = {"todo": "#9e9e9e", "annotated": "#42a5f5", "propagated": "#26a69a",
                 "review": "#ffb300", "done": "#66bb6a", "failed": "#ef5350"}
COLUMNS = ["Object", "Start", "End", "Frames", "Status"]


def fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:05.2f}" if h else f"{m:d}:{s:05.2f}"


class SegmentsModel(QAbstractTableModel):
    def __init__(self, session: ProjectSession) -> None:
        super().__init__()
        self.session = session
        self.rows: list[Any] = []
        self.names: dict[int, str] = {}
        self.colors: dict[int, str] = {}
        self.objects: list[Any] = []

    def set_rows(self, rows: list, objects: list) -> None:
        self.beginResetModel()
        self.rows = rows
        self.objects = list(objects)
        self.names = {o.id: o.name for o in objects}
        self.colors = {o.id: o.color for o in objects}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        s = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return [self.names.get(s.object_id, "?"), fmt_time(self.session.time_of(s.start)),
                    fmt_time(self.session.time_of(s.end)), f"{s.start}–{s.end}",
                    STATUS_LABELS.get(s.status, s.status)][col]
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return [self.names.get(s.object_id, "?"), s.start, s.end, s.length,
                    list(STATUS_LABELS).index(s.status) if s.status in STATUS_LABELS else 99][col]
        if role == Qt.ItemDataRole.UserRole + 1:
            return s.id
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return QColor(self.colors.get(s.object_id, "#888888"))
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return QColor(STATUS_COLORS.get(s.status, "#888888"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{self.names.get(s.object_id, '?')}: frames {s.start}–{s.end} "
                    f"({s.length} frames); double-click to annotate its first frame")
        return None


class StatusFilter(QSortFilterProxyModel):
    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.text = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        model: SegmentsModel = self.sourceModel()  # type: ignore[assignment]
        s = model.rows[row]
        if self.status and s.status != self.status:
            return False
        return not self.text or self.text.lower() in model.names.get(s.object_id, "").lower()


class SegmentsPanel(QWidget):
    """The table of audible segments."""

    segment_activated = Signal(int)

    def __init__(self, session: ProjectSession, state: ViewState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("segments_panel")
        self.session = session
        self.state = state
        self.model = SegmentsModel(session)
        self.proxy = StatusFilter()
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._activated)
        self.table.activated.connect(self._activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.installEventFilter(self)  # the Delete key deletes the selected segment
        self.table.setToolTip("Double-click or Enter: annotate the segment's first frame; "
                              "Delete: delete it (asks first); right click: more")
        self.status_filter = QComboBox()
        self.status_filter.addItem("all statuses", None)
        for key, label in STATUS_LABELS.items():
            self.status_filter.addItem(label, key)
        self.status_filter.currentIndexChanged.connect(self._filter)
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("filter by object")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(self._filter)
        self.go_btn = QPushButton("Annotate")
        self.go_btn.setToolTip("Jump to the selected segment's first frame (Enter)")
        self.go_btn.clicked.connect(lambda: self._activated(self.table.currentIndex()))
        top = QHBoxLayout()
        top.addWidget(self.status_filter)
        top.addWidget(self.text_filter)
        self.add_btn = QPushButton("Add…")
        self.add_btn.setToolTip("Add an audible segment (from the current frame)")
        self.add_btn.clicked.connect(lambda: self.add())
        bottom = QHBoxLayout()
        bottom.addWidget(self.add_btn)
        bottom.addWidget(self.go_btn)
        self.status_buttons: list[QPushButton] = []
        for status, text in (("done", "Done"), ("failed", "Failed")):
            b = QPushButton(text)
            b.setToolTip(f"Mark the selected segment as {text.lower()}")
            b.clicked.connect(lambda _=False, st=status: self.set_status(st))
            bottom.addWidget(b)
            self.status_buttons.append(b)
        if session.readonly:  # view only: what would change the project is off, and says why
            for b in (self.add_btn, *self.status_buttons):
                b.setEnabled(False)
                b.setToolTip(session.store.readonly_reason)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table)
        lay.addLayout(bottom)
        session.segments_changed.connect(self._fill)
        self.segment_activated.connect(self._go)
        self.table.selectionModel().currentChanged.connect(
            lambda *_: setattr(self.state, "selected_segment", self.selected_id()))
        self._fill()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if (obj is self.table and isinstance(event, QKeyEvent)
                and event.type() == QKeyEvent.Type.KeyPress
                and event.matches(QKeySequence.StandardKey.Delete)):
            self.delete()
            return True
        return super().eventFilter(obj, event)

    def _fill(self) -> None:
        selected = self.selected_id()
        self.model.set_rows(list(self.session.segments), self.session.objects)
        if selected is not None:
            self.select(selected)

    def _go(self, segment_id: int) -> None:
        """Stage 1: the segment's first frame, its object selected, ready for clicks."""
        seg = self.session.segment(segment_id)
        if seg is not None:
            self.state.go(seg.object_id, seg.start)

    def _filter(self) -> None:
        self.proxy.status = self.status_filter.currentData()
        self.proxy.text = self.text_filter.text()
        self.proxy.invalidate()

    def selected_id(self) -> int | None:
        idx = self.table.currentIndex()
        return idx.data(Qt.ItemDataRole.UserRole + 1) if idx.isValid() else None

    def select(self, segment_id: int) -> None:
        for r in range(self.proxy.rowCount()):
            idx = self.proxy.index(r, 0)
            if idx.data(Qt.ItemDataRole.UserRole + 1) == segment_id:
                self.table.setCurrentIndex(idx)
                return

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.segment_activated.emit(index.data(Qt.ItemDataRole.UserRole + 1))

    def set_status(self, status: str, segment_id: int | None = None) -> None:
        sid = segment_id if segment_id is not None else self.selected_id()
        if sid is None:
            self.session.say("Select a segment first.", True)
            return
        store = self.session.store
        self.session.apply(f"Mark segment {STATUS_LABELS[status]}",
                           lambda op: store.update_segment(sid, status=status, op=op),
                           "edit_segment", structure=True)

    #: the dialog the panel has open (a person fills it; tests find it here), if any
    dialog: QDialog | None = None

    def add(self, object_id: int | None = None, start: int | None = None,
            end: int | None = None) -> None:
        """Add an audible segment (a dialog unless all values are given); undoable."""
        store = self.session.store
        if object_id is None or start is None or end is None:
            from annotator.gui.dialogs.segment_dialog import SegmentDialog

            if not self.model.objects:
                self.session.say(
                    "No objects yet: a segment says when an object makes sound, so add the "
                    "object first (Objects panel, Add…), then add its segments here.", True)
                return
            session = self.session

            def problem(oid: int, start: int, end: int) -> str | None:
                return segment_problem(session.segments, oid, start, end, session.frame_count,
                                       name=getattr(session.object(oid), "name", None))

            dlg = SegmentDialog(self, self.model.objects, self.state.object_id,
                                self.state.frame, self.session.frame_count,
                                self.session.time_of, problem)
            self._open(dlg, lambda: self.add(*dlg.values()))
            return
        name = self.model.names.get(object_id, f"object {object_id}")
        self.session.apply(f"Add segment {name} {start}–{end}",
                           lambda op: store.add_segment(object_id, start, end, op=op) and [],
                           "add_segment", structure=True)

    def _open(self, dlg: QDialog, on_accept) -> None:
        """Open ``dlg`` window-modal without blocking the event loop."""
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dlg
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(on_accept)

        def closed(_r: int) -> None:
            if self.dialog is dlg:
                self.dialog = None

        dlg.finished.connect(closed)
        dlg.open()

    def delete(self, segment_id: int | None = None) -> None:
        """Ask first, saying how many masks lie inside the segment; then delete it (undoable)."""
        sid = segment_id if segment_id is not None else self.selected_id()
        if sid is None:
            self.session.say("Select a segment first.", True)
            return
        store = self.session.store

        def count() -> tuple:
            seg = store.segment(sid)
            masks = store.masks_of(seg.object_id, seg.start, seg.end)
            return seg, store.object(seg.object_id).name, len(masks), sum(m.anchor for m in masks)

        self.session.run(count, lambda r: self._confirm_delete(*r))

    def _confirm_delete(self, seg, name: str, masks: int, anchors: int) -> None:
        store = self.session.store
        ask(self, "Delete segment",
            f"Delete the audible segment of {name}, frames {seg.start}–{seg.end}?",
            f"Its {plural(masks, 'mask')} ({anchors} drawn or accepted by a "
            "person) stay in the project but are no longer part of any segment or export. "
            "Edit ▸ Undo brings the segment back.", "Delete",
            lambda: self.session.apply(f"Delete segment {name} {seg.start}–{seg.end}",
                                       lambda op: store.delete_segment(seg.id, op=op),
                                       "delete_segment", structure=True))

    def _menu(self, pos) -> None:
        sid = self.selected_id()
        if sid is None:
            return
        menu = QMenu(self)
        menu.addAction("Annotate first frame", lambda: self.segment_activated.emit(sid))
        for status, label in STATUS_LABELS.items():
            menu.addAction(f"Mark {label}", lambda st=status: self.set_status(st, sid))
        menu.addSeparator()
        menu.addAction("Delete segment…", lambda: self.delete(sid))
        menu.exec(self.table.viewport().mapToGlobal(pos))
