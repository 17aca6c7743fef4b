"""The Objects panel driven as a person drives it: its buttons pressed with the mouse, its
dialogs filled through their own widgets (name typed, OK clicked, a colour typed into the
colour dialog, the delete question answered), undo from the toolbar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QColorDialog, QDialogButtonBox, QLineEdit, QMessageBox

from annotator.gui.dialogs.object_dialog import ObjectDialog

LEFT = Qt.MouseButton.LeftButton


def _dialog(qtbot, panel, kind):
    qtbot.waitUntil(lambda: isinstance(panel.dialog, kind) and panel.dialog.isVisible(),
                    timeout=5000)
    return panel.dialog


def _ok(qtbot, dlg) -> None:
    box = dlg.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), LEFT)


def _names(panel) -> list[str]:
    return [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]


def _toolbar_button(win, name):
    return win.toolbar.widgetForAction(win.actions_[name])


def test_add_rename_recolour_delete_through_the_buttons(ui, qtbot):
    panel = ui.win.objects_panel
    # Add…: the dialog opens, a name and a category are typed, OK adds the object
    qtbot.mouseClick(panel.add_btn, LEFT)
    dlg = _dialog(qtbot, panel, ObjectDialog)
    qtbot.keyClicks(dlg.name, "singer")
    qtbot.keyClicks(dlg.category.lineEdit(), "person")
    _ok(qtbot, dlg)
    ui.idle()
    singer = ui.store.object_by_name("singer")
    assert singer is not None and singer.category == "person"
    qtbot.waitUntil(lambda: _names(panel) == ["bell", "drum", "singer"], timeout=5000)
    assert panel.current() == singer.id and ui.win.state.object_id == singer.id  # ready for clicks

    # a second object with the same name is refused inside the dialog, which stays open
    qtbot.mouseClick(panel.add_btn, LEFT)
    dlg = _dialog(qtbot, panel, ObjectDialog)
    qtbot.keyClicks(dlg.name, "singer")
    _ok(qtbot, dlg)
    assert dlg.isVisible() and "already an object called singer" in dlg.problem.text()
    qtbot.mouseClick(dlg.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Cancel), LEFT)
    ui.idle()
    assert len(ui.store.objects()) == 3

    # Rename…: the selected row, its name replaced in the dialog
    item = panel.tree.topLevelItem(2)
    qtbot.mouseClick(panel.tree.viewport(), LEFT,
                     pos=panel.tree.visualItemRect(item).center())
    assert panel.current() == singer.id
    qtbot.mouseClick(panel.rename_btn, LEFT)
    dlg = _dialog(qtbot, panel, ObjectDialog)
    assert dlg.name.text() == "singer"
    dlg.name.selectAll()
    qtbot.keyClicks(dlg.name, "vocalist")
    _ok(qtbot, dlg)
    ui.idle()
    assert ui.store.object(singer.id).name == "vocalist"

    # Colour…: a real colour dialog; the colour typed into its HTML field is stored
    qtbot.mouseClick(panel.color_btn, LEFT)
    cdlg = _dialog(qtbot, panel, QColorDialog)
    html = next(e for e in cdlg.findChildren(QLineEdit) if e.text().startswith("#"))
    html.selectAll()
    qtbot.keyClicks(html, "#12ab34")
    qtbot.keyClick(html, Qt.Key.Key_Tab)
    _ok(qtbot, cdlg)
    ui.idle()
    assert ui.store.object(singer.id).color == "#12ab34"

    # Delete…: asks first, saying what goes with it; Cancel keeps the object
    qtbot.mouseClick(panel.delete_btn, LEFT)
    box = _dialog(qtbot, panel, QMessageBox)
    assert "vocalist" in box.text() and "0 masks" in box.informativeText()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), LEFT)
    ui.idle()
    assert ui.store.object_by_name("vocalist") is not None
    qtbot.mouseClick(panel.delete_btn, LEFT)
    box = _dialog(qtbot, panel, QMessageBox)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), LEFT)
    ui.idle()
    assert ui.store.object_by_name("vocalist") is None
    qtbot.waitUntil(lambda: _names(panel) == ["bell", "drum"], timeout=5000)

    # each edit is one undo step, undone from the toolbar's Undo button
    for expected in ("vocalist", "vocalist", "singer"):
        qtbot.mouseClick(_toolbar_button(ui.win, "undo"), LEFT)
        ui.idle()
        assert ui.store.object_by_name(expected) is not None
    assert ui.store.object_by_name("singer").color != "#12ab34"


def test_delete_names_the_masks_that_go_with_the_object(ui, qtbot):
    """The question counts the object's segments and masks (the demo's bell after a click
    and an accept on its first frame)."""
    oid, seg = ui.anchor_bell()
    panel = ui.win.objects_panel
    assert panel.current() == oid
    qtbot.mouseClick(panel.delete_btn, LEFT)
    box = _dialog(qtbot, panel, QMessageBox)
    n = len(ui.store.segments(oid))
    assert f"{n} audible segment" in box.informativeText()
    assert "1 mask (1 drawn or accepted by a person)" in box.informativeText()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), LEFT)
    ui.idle()
    assert ui.store.object_by_name("bell") is None
    assert ui.win.session.history.undoText().startswith("Delete object bell")


def test_a_long_new_name_does_not_move_the_docks(window, qtbot):
    """Rename an object to a longer name: the left column keeps its width (the segments table
    scrolls, the frame keeps its room)."""
    from tests.gui.conftest import _UI

    ui = _UI(qtbot, window)
    window.resize(1400, 860)
    qtbot.wait(300)
    ui.idle()
    left, frame = window.docks["objects"].width(), window.canvas.width()
    panel = window.objects_panel
    item = panel.tree.topLevelItem(0)
    qtbot.mouseClick(panel.tree.viewport(), LEFT, pos=panel.tree.visualItemRect(item).center())
    qtbot.mouseClick(panel.rename_btn, LEFT)
    dlg = _dialog(qtbot, panel, ObjectDialog)
    dlg.name.selectAll()
    qtbot.keyClicks(dlg.name, "the bell of the old tower")
    _ok(qtbot, dlg)
    ui.idle()
    qtbot.wait(300)  # the tables have laid out the new name
    assert window.docks["objects"].width() == left and window.canvas.width() == frame
