"""Objects panel: name, category, colour, visibility; add, rename, recolour, delete.

Lists the session's objects (kept in memory by the session, refreshed when they change); the
current object and the hidden ones are the window's view state. Every edit is one undoable
store operation through the session.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.core.words import plural
from annotator.gui.ask import ask
from annotator.gui.dialogs.object_dialog import ObjectDialog
from annotator.gui.session import ProjectSession
from annotator.gui.view_state import ViewState


def swatch(color: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(color))
    return QIcon(pm)


class ObjectsPanel(QWidget):
    """The list of sounding objects."""

    def __init__(self, session: ProjectSession, state: ViewState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("objects_panel")
        self.session = session
        self.state = state
        self._select_name: str | None = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Object", "Category", "Key"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 120)
        self.tree.setColumnWidth(1, 80)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: None if session.readonly else self.rename())
        self.add_btn = QPushButton("Add…")
        self.rename_btn = QPushButton("Rename…")
        self.color_btn = QPushButton("Colour…")
        self.delete_btn = QPushButton("Delete…")
        for b, fn, tip in ((self.add_btn, self.add, "Add a sounding object"),
                           (self.rename_btn, self.rename, "Rename the object or change its category"),
                           (self.color_btn, self.recolor, "Change the object's colour"),
                           (self.delete_btn, self.delete,
                            "Delete the object with its segments and masks (asks first; undoable)")):
            # clicked(bool) must not land in the handler's first parameter
            b.clicked.connect(lambda _checked=False, f=fn: f())
            b.setToolTip(tip)
            if session.readonly:  # view only: every button changes the project; say why not
                b.setEnabled(False)
                b.setToolTip(session.store.readonly_reason)
        #: the dialog the panel has open (a person fills it; tests find it here), if any
        self.dialog: QDialog | None = None
        row = QHBoxLayout()
        for b in (self.add_btn, self.rename_btn, self.color_btn, self.delete_btn):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree)
        lay.addLayout(row)
        session.objects_changed.connect(self._fill)
        state.object_changed.connect(self._show_current)
        state.hidden_changed.connect(self._show_hidden)
        self._fill()

    # -- showing -------------------------------------------------------------------------------
    @property
    def objects(self) -> tuple:
        return self.session.objects

    def _fill(self) -> None:
        objects, state = self.objects, self.state
        self.tree.blockSignals(True)
        self.tree.clear()
        for i, o in enumerate(objects):
            it = QTreeWidgetItem([o.name, o.category, str(i + 1) if i < 9 else ""])
            it.setData(0, Qt.ItemDataRole.UserRole, o.id)
            it.setIcon(0, swatch(o.color))
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(0, Qt.CheckState.Unchecked if o.id in state.hidden
                             else Qt.CheckState.Checked)
            it.setToolTip(0, f"{o.name} (id {o.id}): untick to hide its masks")
            self.tree.addTopLevelItem(it)
            if o.id == state.object_id:
                self.tree.setCurrentItem(it)
        self.tree.blockSignals(False)
        ids = [o.id for o in objects]
        added = next((o for o in objects if o.name == self._select_name), None)
        if added is not None:  # an object the person just added becomes the current one
            self._select_name = None
            state.object_id = added.id
        elif state.object_id not in ids:  # deleted (or none yet): the first one, if any
            state.object_id = ids[0] if ids else None

    def _show_hidden(self, hidden: frozenset) -> None:
        """Tick the rows in place (a row's own tick may be what changed: it must not be
        rebuilt under it)."""
        self.tree.blockSignals(True)
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            it.setCheckState(0, Qt.CheckState.Unchecked
                             if it.data(0, Qt.ItemDataRole.UserRole) in hidden
                             else Qt.CheckState.Checked)
        self.tree.blockSignals(False)

    def _show_current(self, oid: int | None) -> None:
        self.tree.blockSignals(True)
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if it.data(0, Qt.ItemDataRole.UserRole) == oid:
                self.tree.setCurrentItem(it)
        self.tree.blockSignals(False)

    def current(self) -> int | None:
        return self.state.object_id

    def object_at_key(self, n: int) -> int | None:
        return self.objects[n - 1].id if 0 < n <= len(self.objects) else None

    def _current_changed(self, item: QTreeWidgetItem | None, _prev=None) -> None:
        if item is not None:
            self.state.object_id = item.data(0, Qt.ItemDataRole.UserRole)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        self.state.set_visible(item.data(0, Qt.ItemDataRole.UserRole),
                               item.checkState(0) == Qt.CheckState.Checked)

    # -- editing -------------------------------------------------------------------------------
    def _obj(self):
        return self.session.object(self.state.object_id)

    def _show(self, dlg: QDialog, on_accept) -> None:
        """Open ``dlg`` window-modal without blocking the event loop; ``on_accept`` runs on OK."""
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dlg
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(on_accept)
        dlg.finished.connect(lambda _r, d=dlg: self._closed(d))
        dlg.open()

    def _closed(self, dlg: QDialog) -> None:
        if self.dialog is dlg:
            self.dialog = None

    def _categories(self) -> list[str]:
        return sorted({o.category for o in self.objects})

    def add(self) -> None:
        """Ask for a name and category, then add the object (one undo step)."""
        dlg = ObjectDialog(self, title="Add a sounding object", categories=self._categories(),
                           taken={o.name for o in self.objects},
                           vocabulary=self.session.vocabulary)
        self._show(dlg, lambda: self.add_object(*dlg.values()))

    def add_object(self, name: str, category: str | None = None) -> None:
        store = self.session.store
        self._select_name = name  # the new object becomes the current one once listed
        self.session.apply(f"Add object {name}",
                           lambda op: store.add_object(name, category or None, op=op) and [],
                           "add_object", structure=True)

    def rename(self) -> None:
        o = self._obj()
        if o is None:
            self.session.say("Select an object to rename first.", True)
            return
        dlg = ObjectDialog(self, title=f"Rename {o.name}", name=o.name, category=o.category,
                           categories=self._categories(), taken={x.name for x in self.objects},
                           vocabulary=self.session.vocabulary)
        store, oid = self.session.store, o.id

        def done() -> None:
            name, category = dlg.values()
            self.session.apply(f"Rename {o.name} to {name}",
                               lambda op: store.update_object(oid, name=name,
                                                              category=category or None, op=op),
                               "edit_object", structure=True)

        self._show(dlg, done)

    def recolor(self) -> None:
        o = self._obj()
        if o is None:
            self.session.say("Select an object to recolour first.", True)
            return
        dlg = QColorDialog(QColor(o.color), self)
        dlg.setWindowTitle(f"Colour of {o.name}")
        dlg.setOption(QColorDialog.ColorDialogOption.DontUseNativeDialog)
        store, oid = self.session.store, o.id

        def done() -> None:
            color = dlg.selectedColor()
            if not color.isValid() or color.name() == o.color:
                return
            self.session.apply(f"Recolour {o.name}",
                               lambda op: store.update_object(oid, color=color.name(), op=op),
                               "edit_object", structure=True)

        self._show(dlg, done)

    def delete(self) -> None:
        """Ask first, saying what goes with the object; then delete it (one undo step)."""
        o = self._obj()
        if o is None:
            self.session.say("Select an object to delete first.", True)
            return
        store, oid = self.session.store, o.id

        def count() -> tuple[int, int, int]:
            segs = store.segments(oid)
            masks = store.masks_of(oid)
            return len(segs), len(masks), sum(1 for m in masks if m.anchor)

        self.session.run(count, lambda n: self._confirm_delete(o, *n))

    def _confirm_delete(self, o, segments: int, masks: int, anchors: int) -> None:
        store, oid = self.session.store, o.id

        def delete() -> None:
            self.session.apply(f"Delete object {o.name}",
                               lambda op: store.delete_object(oid, op=op),
                               "delete_object", structure=True)

        ask(self, "Delete object", f"Delete {o.name}?",
            f"Its {plural(segments, 'audible segment')} and {plural(masks, 'mask')} ({anchors} "
            "drawn or accepted by a person) go with it. Edit ▸ Undo brings everything back.", "Delete", delete)
