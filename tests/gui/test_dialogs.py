"""Dialogs and error paths: the Models dialog over the real registry, a broken model file
leading the person to it, preferences keeping a hand-written value, the shortcuts list, queued
clicks while the embedding is computed. (The Preferences journey: test_preferences.py.)"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from annotator.demo import FPS, _bell_center


def test_models_dialog_lists_finds_and_verifies(qtbot, tmp_path, monkeypatch):
    from annotator.engines import models
    from annotator.gui.dialogs.models_dialog import ModelsDialog

    dlg = ModelsDialog()
    qtbot.addWidget(dlg)
    names = [dlg.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
             for i in range(dlg.tree.topLevelItemCount())]
    assert names == list(models.REGISTRY)
    assert {dlg.tree.topLevelItem(i).text(1) for i in range(len(names))} == {"missing"}
    # a truncated SAM file in the models folder: found, and verify says what is wrong
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "sam_vit_b_01ec64.pth").write_bytes(b"\0" * 1000)
    dlg.reload()
    item = dlg.tree.topLevelItem(names.index("sam_vit_b"))
    assert item.text(1) == "found"
    dlg.tree.setCurrentItem(item)
    dlg.verify_btn.click()
    qtbot.waitUntil(lambda: dlg.job is None, timeout=10000)
    assert "truncated" in dlg.info.text() and "annotator models download" in dlg.info.text()


def test_broken_model_file_leads_to_the_models_dialog(qtbot, tmp_path, demo_dir):
    from annotator.gui.app import application
    from annotator.gui.dialogs.models_dialog import ModelsDialog
    from annotator.gui.main_window import MainWindow

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "sam_vit_b_01ec64.pth").write_bytes(b"not a checkpoint" * 64)
    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.errors.last_error is not None, timeout=60000)
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert "sam_vit_b_01ec64.pth" in box.text() and "Models dialog" in box.text()
    box.button(QMessageBox.StandardButton.Open).click()
    qtbot.waitUntil(lambda: any(isinstance(w, ModelsDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=5000)
    # the window still works, on the fallback segmenter
    assert win.session is not None
    qtbot.waitUntil(lambda: "fallback" in win.status.engines_label.text(), timeout=30000)
    for w in QApplication.topLevelWidgets():
        if isinstance(w, ModelsDialog):
            w.close()
    win.close_project()


def test_preferences_keep_a_hand_written_value_they_do_not_list(qtbot):
    """A refine policy written into the settings file by hand (``k=5``) shows as it is, and OK,
    pressed after changing only the segmenter, keeps it; the window's segmenter follows."""
    from annotator import settings
    from annotator.engines import registry
    from annotator.gui.app import application
    from annotator.gui.dialogs.preferences import PreferencesDialog
    from annotator.gui.engines import make_segmenter
    from annotator.gui.main_window import MainWindow

    registry.reset_for_tests()
    settings.set("pipeline.refine", "k=5")
    application()
    win = MainWindow()
    qtbot.addWidget(win)
    dlg = PreferencesDialog(win, win.actions_)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.refine.currentData() == "k=5" and "k=5" in dlg.refine.currentText()
    dlg.segmenter.setFocus()
    qtbot.keyClick(dlg.segmenter, Qt.Key.Key_End)
    assert dlg.segmenter.currentData() == "fallback"
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert settings.load() == {"pipeline.refine": "k=5", "engines.segmenter": "fallback"}
    assert make_segmenter().is_fallback
    registry.reset_for_tests()


def test_shortcuts_dialog_lists_the_keys(qtbot):
    from annotator.gui.app import application
    from annotator.gui.dialogs.shortcuts import ShortcutsDialog, shortcut_rows
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    rows = dict((text, keys) for keys, text in shortcut_rows(win.actions_))
    assert rows["Next candidate mask"] == "Tab"
    assert rows["Propagate current segment"] == "P"
    assert rows["Next flagged frame"] == "F"
    assert rows["Redo"].startswith("Ctrl+Shift+Z")
    assert rows["Export COCO RLE (JSON)"] == "Ctrl+E"  # not "COCO RLE (JSON)": what it does
    from annotator.gui.dialogs.preferences import PreferencesDialog

    prefs = PreferencesDialog(win, win.actions_)  # its Shortcuts tab lists every command
    qtbot.addWidget(prefs)
    named = [prefs.keys.item(r, 0).text() for r in range(prefs.keys.rowCount())]
    assert "Export LU-AVS release layout" in named and "LU-AVS release layout" not in named
    from PySide6.QtWidgets import QTableWidget

    dlg = ShortcutsDialog(win, win.actions_)
    qtbot.addWidget(dlg)
    table = dlg.findChild(QTableWidget)
    assert table.rowCount() == len(shortcut_rows(win.actions_))
    assert table.item(0, 0).text() == "Ctrl+N"


def test_the_shortcuts_name_the_command_not_its_last_use(ui, qtbot):
    """After an undoable step the Undo entry reads "Undo Accept mask …" in the menu; the keys
    list (F1) still names the command."""
    from PySide6.QtWidgets import QTableWidget

    ui.anchor_bell()
    assert ui.win.actions_["undo"].text().startswith("&Undo ")  # the menu names the step
    ui.key(Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: ui.win.findChild(QTableWidget) is not None, timeout=5000)
    table = ui.win.findChild(QTableWidget)
    texts = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert texts["Undo"] == "Ctrl+Z"
    assert not any(t.startswith("Undo ") for t in texts)


def test_clicks_queue_while_the_embedding_is_computed(ui, monkeypatch):
    """The embedding of a new frame is held back (a gate around the real fallback's embed:
    this test is about the queueing around the model, not the model); clicks made meanwhile
    show as pending points and the view says so; once the gate opens they all apply."""
    seg_engine = ui.win.session.segmenter()
    gate = threading.Event()
    real_embed = seg_engine.embed

    def slow_embed(frame, key=None):
        gate.wait(30)
        return real_embed(frame, key)

    monkeypatch.setattr(seg_engine, "embed", slow_embed)
    oid, seg = ui.bell()
    ui.go_to_segment(seg.id, wait=False)
    ui.qtbot.waitUntil(lambda: ui.win.prompt.embedding == "computing")
    assert "clicks are queued" in ui.win.canvas.notice
    x, y = _bell_center(seg.start / FPS)
    ui.click(float(x), float(y))
    ui.click(30.0, 30.0, positive=False)
    assert len(ui.win.canvas.pending) == 2 and ui.store.mask(oid, seg.start) is None
    gate.set()
    ui.idle()
    assert ui.win.canvas.pending == [] and [p[2] for p in ui.win.canvas.points] == [True, False]
    assert ui.store.mask(oid, seg.start) is not None
    assert ui.win.canvas.notice == ""
