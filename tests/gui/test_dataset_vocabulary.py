"""The object dialog in a project of a dataset, driven as a person drives it: Add… pressed,
the dataset's vocabulary offered in the category list (read when the project opened, off the
GUI thread), a category chosen from it shown with its label id, one typed that the vocabulary
lacks shown as proposed; OK adds the object, and the dataset then lists that category as
proposed. A project in no dataset keeps the project's own categories."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from annotator.cli import main
from annotator.core.dataset import categories_for
from annotator.gui.dialogs.object_dialog import ObjectDialog
from tests.gui.conftest import _UI, open_window

LEFT = Qt.MouseButton.LeftButton


def _add_dialog(qtbot, panel) -> ObjectDialog:
    qtbot.mouseClick(panel.add_btn, LEFT)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, ObjectDialog) and panel.dialog.isVisible(),
                    timeout=5000)
    return panel.dialog


def test_the_object_dialog_offers_the_dataset_vocabulary(qtbot, tmp_path, shared):
    vocab = tmp_path / "vocab.csv"
    vocab.write_text("label_id,label\n4,dog\n9,person\n")
    root = tmp_path / "ds"
    assert main(["dataset", "new", str(root), "--vocabulary", str(vocab), "--videos",
                 str(shared("data", "davis2016", "rollerblade"))]) == 0
    win = open_window(qtbot, root / "projects" / "rollerblade")
    ui = _UI(qtbot, win)
    try:
        assert [c.label for c in win.session.vocabulary] == ["dog", "person"]
        panel = win.objects_panel
        dlg = _add_dialog(qtbot, panel)
        combo = dlg.category
        assert [combo.itemText(i) for i in range(combo.count())] == ["dog", "person"]
        qtbot.keyClicks(dlg.name, "skater")  # no category typed: the name, not in it
        assert "proposed" in dlg.category_state.text() and dlg.proposed
        # chosen from the list: the popup opened, the second row picked with the keys
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
        view = combo.view()
        qtbot.waitUntil(view.isVisible, timeout=5000)
        qtbot.keyClick(view, Qt.Key.Key_Down)
        qtbot.keyClick(view, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: combo.currentText() == "person", timeout=5000)
        assert "label id 9" in dlg.category_state.text() and not dlg.proposed
        # typed, not in the vocabulary: proposed
        combo.lineEdit().selectAll()
        qtbot.keyClicks(combo.lineEdit(), "rollerskate")
        assert "“rollerskate” is proposed" in dlg.category_state.text() and dlg.proposed
        qtbot.mouseClick(dlg.findChild(QDialogButtonBox).button(
            QDialogButtonBox.StandardButton.Ok), LEFT)
        ui.idle()
        assert ui.store.object_by_name("skater").category == "rollerskate"
    finally:
        win.close_project()
    cats = {c.label: c for c in categories_for(root / "projects" / "rollerblade")}
    assert (cats["rollerskate"].state, cats["rollerskate"].videos) == ("proposed",
                                                                      ("rollerblade",))


def test_outside_a_dataset_the_project_categories_are_offered(window, qtbot):
    assert window.session.vocabulary is None
    dlg = _add_dialog(qtbot, window.objects_panel)
    combo = dlg.category
    assert [combo.itemText(i) for i in range(combo.count())] == sorted(
        {o.category for o in window.session.objects})
    assert dlg.category_state.isHidden() and not dlg.proposed
    dlg.reject()
