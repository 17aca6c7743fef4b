"""Objects panel: name, category, colour, visibility; add, rename, recolour, delete.

Reads the objects from the store (off the GUI thread) whenever they change; every edit is one
undoable store operation. Visibility is a view setting, not annotation.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.dialogs.object_dialog import ObjectDialog
from annotator.gui.session import ProjectSession


def swatch(color: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(color))
    return QIcon(pm)


class ObjectsPanel(QWidget):
    """The list of sounding objects."""

    object_selected = Signal(int)
    hidden_changed = Signal(set)

    def __init__(self, session: ProjectSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("objects_panel")
        self.session = session
        self.objects: list = []
        self.hidden: set[int] = set()
        self._current: int | None = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Object", "Category", "Key"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 120)
        self.tree.setColumnWidth(1, 80)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: self.rename())
        self.add_btn = QPushButton("Add…")
        self.rename_btn = QPushButton("Rename…")
        self.color_btn = QPushButton("Colour…")
        self.delete_btn = QPushButton("Delete")
        for b, fn, tip in ((self.add_btn, self.add, "Add a sounding object"),
                           (self.rename_btn, self.rename, "Rename the object or change its category"),
                           (self.color_btn, self.recolor, "Change the object's colour"),
                           (self.delete_btn, self.delete, "Delete the object (undoable)")):
            b.clicked.connect(fn)
            b.setToolTip(tip)
        row = QHBoxLayout()
        for b in (self.add_btn, self.rename_btn, self.color_btn, self.delete_btn):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree)
        lay.addLayout(row)
        session.objects_changed.connect(self.reload)
        self.reload()

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        store = self.session.store
        self.session.run(store.objects, self._fill)

    def _fill(self, objects: list) -> None:
        self.objects = objects
        self.tree.blockSignals(True)
        self.tree.clear()
        for i, o in enumerate(objects):
            it = QTreeWidgetItem([o.name, o.category, str(i + 1) if i < 9 else ""])
            it.setData(0, Qt.ItemDataRole.UserRole, o.id)
            it.setIcon(0, swatch(o.color))
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(0, Qt.CheckState.Unchecked if o.id in self.hidden
                             else Qt.CheckState.Checked)
            it.setToolTip(0, f"{o.name} (id {o.id}): untick to hide its masks")
            self.tree.addTopLevelItem(it)
            if o.id == self._current:
                self.tree.setCurrentItem(it)
        self.tree.blockSignals(False)
        if self._current is None and objects:
            self.select(objects[0].id)

    def current(self) -> int | None:
        return self._current

    def object_at_key(self, n: int) -> int | None:
        return self.objects[n - 1].id if 0 < n <= len(self.objects) else None

    def select(self, oid: int | None) -> None:
        if oid is None:
            return
        self._current = oid
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if it.data(0, Qt.ItemDataRole.UserRole) == oid:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(it)
                self.tree.blockSignals(False)
        self.object_selected.emit(oid)

    def _current_changed(self, item: QTreeWidgetItem | None, _prev=None) -> None:
        if item is not None:
            self._current = item.data(0, Qt.ItemDataRole.UserRole)
            self.object_selected.emit(self._current)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        oid = item.data(0, Qt.ItemDataRole.UserRole)
        if item.checkState(0) == Qt.CheckState.Checked:
            self.hidden.discard(oid)
        else:
            self.hidden.add(oid)
        self.hidden_changed.emit(set(self.hidden))

    def toggle_visibility(self, oid: int) -> None:
        self.hidden ^= {oid}
        self._fill(self.objects)
        self.hidden_changed.emit(set(self.hidden))

    # -- editing -------------------------------------------------------------------------------
    def _obj(self):
        return next((o for o in self.objects if o.id == self._current), None)

    def add(self, name: str | None = None, category: str | None = None) -> None:
        if name is None:
            dlg = ObjectDialog(self, title="Add a sounding object",
                               categories=[c for _i, c in self.session.store.categories()])
            if not dlg.exec():
                return
            name, category = dlg.values()
        store = self.session.store
        self.session.apply(f"Add object {name}",
                           lambda op: store.add_object(name, category or None, op=op) and [],
                           "add_object", structure=True)

    def rename(self, name: str | None = None, category: str | None = None) -> None:
        o = self._obj()
        if o is None:
            return
        if name is None:
            dlg = ObjectDialog(self, title=f"Rename {o.name}", name=o.name, category=o.category,
                               categories=[c for _i, c in self.session.store.categories()])
            if not dlg.exec():
                return
            name, category = dlg.values()
        store, oid = self.session.store, o.id
        self.session.apply(f"Rename {o.name} to {name}",
                           lambda op: store.update_object(oid, name=name, category=category,
                                                          op=op),
                           "edit_object", structure=True)

    def recolor(self, color: str | None = None) -> None:
        o = self._obj()
        if o is None:
            return
        if color is None:
            c = QColorDialog.getColor(QColor(o.color), self, f"Colour of {o.name}")
            if not c.isValid():
                return
            color = c.name()
        store, oid = self.session.store, o.id
        self.session.apply(f"Recolour {o.name}",
                           lambda op: store.update_object(oid, color=color, op=op),
                           "edit_object", structure=True)

    def delete(self, confirm: bool = True) -> None:
        o = self._obj()
        if o is None:
            return
        if confirm and QMessageBox.question(
                self, "Delete object",
                f"Delete {o.name} with its segments and masks? (Edit ▸ Undo brings it back.)"
        ) != QMessageBox.StandardButton.Yes:
            return
        store, oid = self.session.store, o.id
        self._current = None
        self.session.apply(f"Delete object {o.name}",
                           lambda op: store.delete_object(oid, op=op),
                           "delete_object", structure=True)
