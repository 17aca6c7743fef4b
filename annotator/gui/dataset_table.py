"""The dataset window's table: every video of a dataset with how far it is.

:class:`DatasetTableModel` is fed the rows of ``annotator dataset status`` (read by the
controller on a worker, never here) and shows them; :class:`DatasetView` puts it behind a
:class:`QSortFilterProxyModel` (click a heading to sort, type to filter) with a progress bar
over the dataset and a *Next* button. A double-click on a row asks for that video's project;
*Assign…* (the button, or the rows' context menu) asks for a name for the selected rows and
hands it to the controller, which writes it off the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from annotator.core.dataset_progress import dataset_done, masks_done

SORT = Qt.ItemDataRole.UserRole  # the raw value a column sorts by
Index = QModelIndex | QPersistentModelIndex


def _clock(seconds: float | None) -> str:
    s = int(round(seconds or 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _frames(r: dict) -> str:
    if r.get("frames") is None:
        return ""
    dur = r.get("duration_s")
    return f"{r['frames']} ({dur:.1f} s)" if dur else str(r["frames"])


def _done(r: dict) -> str:
    share = masks_done(r)
    return "" if share is None else f"{100 * share:.0f} %"


def _num(value: Any) -> float:
    return -1.0 if value is None else float(value)


#: heading, what a cell shows, what it sorts by
COLUMNS: list[tuple[str, Any, Any]] = [
    ("Video", lambda r: r["video_id"], lambda r: r["video_id"].lower()),
    ("Frames", _frames, lambda r: _num(r.get("frames"))),
    ("Segments", lambda r: "" if r.get("segments") is None else str(r["segments"]),
     lambda r: _num(r.get("segments"))),
    ("Masks done", _done, lambda r: _num(masks_done(r))),
    ("Flagged", lambda r: "" if r.get("flagged") is None else str(r["flagged"]),
     lambda r: _num(r.get("flagged"))),
    ("Review", lambda r: str(r.get("review") or "none"), lambda r: str(r.get("review") or "")),
    ("Assignee", lambda r: r.get("assignee") or "", lambda r: (r.get("assignee") or "").lower()),
    ("Active time", lambda r: _clock(r.get("active_s")), lambda r: _num(r.get("active_s"))),
]


class DatasetTableModel(QAbstractTableModel):
    """The rows, one per video, as the table shows them (see the module docstring)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index | None = None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index | None = None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        _title, show, sort = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return show(row)
        if role == SORT:
            return sort(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.get("error") or row.get("project")
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() not in (0, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0]
        return None


class DatasetView(QWidget):
    """The dataset window: a filter line, the progress over the dataset, the table."""

    video_activated = Signal(dict)  # the row of the video double-clicked
    next_requested = Signal()
    assign_requested = Signal(list, str)  # the video ids selected, the name given

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset_view")
        self.model = DatasetTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT)
        self.proxy.setFilterKeyColumn(-1)  # any column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.title = QLabel("No dataset open")
        self.filter = QLineEdit()
        self.filter.setObjectName("dataset_filter")
        self.filter.setPlaceholderText("Filter: video, assignee, review…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("dataset_next")
        self.next_button.setToolTip("Open the next unfinished video assigned to you "
                                    "(needs work first)")
        self.next_button.clicked.connect(self.next_requested.emit)
        self.assign_button = QPushButton("Assign…")
        self.assign_button.setObjectName("dataset_assign")
        self.assign_button.setToolTip("Assign the selected videos to a person "
                                      "(Ctrl+click or Shift+click to select several)")
        self.assign_button.setEnabled(False)
        self.assign_button.clicked.connect(self.ask_assign)
        self.assign_dialog: QInputDialog | None = None
        self.me = ""  # the person's name, offered first
        self.progress = QProgressBar()
        self.progress.setObjectName("dataset_progress")
        self.progress.setFormat("masks done: %p %")
        self.table = QTableView()
        self.table.setObjectName("dataset_table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(self._activated)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.assign_button.setEnabled(bool(self.selected_ids())))
        self.context_menu = QMenu(self)
        self.assign_action = self.context_menu.addAction("Assign…", self.ask_assign)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.filter, 2)
        top.addWidget(self.assign_button)
        top.addWidget(self.next_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.table, 1)

    def set_rows(self, root: str, rows: list[dict], me: str | None = None) -> None:
        if me is not None:
            self.me = me
        self.model.set_rows(rows)
        self.assign_button.setEnabled(False)  # a reset clears the selection
        done, frames = dataset_done(rows)
        self.progress.setRange(0, max(frames, 1))
        self.progress.setValue(done)
        self.title.setText(f"{root}: {len(rows)} videos")

    def row_at(self, proxy_row: int) -> dict:
        """The row shown at ``proxy_row`` (sorted and filtered)."""
        return self.model.rows[self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()]

    def _activated(self, index: QModelIndex) -> None:
        self.video_activated.emit(self.model.rows[self.proxy.mapToSource(index).row()])

    # -- assigning ---------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        """The video ids of the selected rows, in the order shown."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.row_at(r)["video_id"] for r in rows]

    def people(self) -> list[str]:
        """The names to offer: the person first, then every assignee in the table."""
        names = sorted({r["assignee"] for r in self.model.rows if r.get("assignee")},
                       key=str.lower)
        return ([self.me] if self.me else []) + [n for n in names if n != self.me]

    def ask_assign(self) -> None:
        """Ask (without blocking) whom to assign the selected videos to."""
        ids = self.selected_ids()
        if not ids:
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("dataset_assign_dialog")
        dialog.setWindowTitle("Assign videos")
        dialog.setLabelText(f"Assign {len(ids)} video{'s' if len(ids) != 1 else ''} to "
                            "(a name from the list, or type a new one):")
        dialog.setComboBoxItems(self.people() or [""])
        dialog.setComboBoxEditable(True)
        dialog.textValueSelected.connect(lambda name: self.assign_requested.emit(ids, name))
        dialog.finished.connect(dialog.deleteLater)
        self.assign_dialog = dialog
        dialog.open()

    def _menu(self, pos) -> None:
        self.assign_action.setEnabled(bool(self.selected_ids()))
        self.context_menu.popup(self.table.viewport().mapToGlobal(pos))
