"""Edit ▸ Preferences as a person uses it, end to end: open it with its key (Ctrl+,), change the
device, the refinement, the brush, the frame cache and a shortcut through the dialog's own
widgets, press OK; the JSON settings file holds the values, the engines' device choice, the
jobs and the window use them (now, and a new window after a restart), and QSettings got nothing
but the window's own layout, recent projects and places. Also: an old version's QSettings
preferences move into the JSON file when the app starts, and a damaged settings file never
loses what the person wrote in it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from annotator import settings

#: what QSettings may hold: the window's own memory, never a preference
WINDOW_KEYS = ("window/", "recent", "last_project", "places/")


@pytest.fixture
def fresh_registry():
    from annotator.engines import registry

    registry.reset_for_tests()
    settings.reload()
    yield registry
    registry.reset_for_tests()


def _window(qtbot, demo_dir=None):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    if demo_dir is not None:
        win.open_path(demo_dir)
        qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                        timeout=30000)
    return win


def _press(qtbot, win, key, modifier) -> None:
    """A key pressed in the window (its shortcuts answer in the active window)."""
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    win.canvas.setFocus()
    qtbot.keyClick(win.canvas, key, modifier)


def _preferences(qtbot, win):
    """Ctrl+, in the window, as a person presses it: the dialog that opens."""
    from annotator.gui.dialogs.preferences import PreferencesDialog

    _press(qtbot, win, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)

    def shown():
        return next((d for d in win.findChildren(PreferencesDialog) if d.isVisible()), None)

    qtbot.waitUntil(lambda: shown() is not None, timeout=5000)
    return shown()


def _tab(qtbot, dlg, title: str) -> None:
    bar = dlg.tabs.tabBar()
    i = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(i).center())
    assert dlg.tabs.currentIndex() == i


def _type_number(qtbot, box, text: str) -> None:
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all
    qtbot.keyClicks(box, text)


def _ok(qtbot, dlg) -> None:
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def test_preferences_journey(qtbot, demo_dir, fresh_registry):
    from annotator.engines import devices
    from annotator.gui import jobs

    ini = Path(os.environ["AVS_ANNOTATOR_SETTINGS"])
    win = _window(qtbot, demo_dir)
    assert win.canvas.brush_radius == settings.get("canvas.brush") == 12
    dlg = _preferences(qtbot, win)
    # Engines: the device (the arrow keys in its list) and the refinement
    dlg.device.setFocus()
    qtbot.keyClick(dlg.device, Qt.Key.Key_Home)
    while dlg.device.currentData() != "cpu":
        qtbot.keyClick(dlg.device, Qt.Key.Key_Down)
    dlg.refine.setFocus()
    qtbot.keyClick(dlg.refine, Qt.Key.Key_End)
    assert dlg.refine.currentData() == "off"
    # Window: the brush and the frame cache, typed
    _tab(qtbot, dlg, "Window")
    _type_number(qtbot, dlg.brush, "20")
    _type_number(qtbot, dlg.cache, "1024")
    assert (dlg.brush.value(), dlg.cache.value()) == (20, 1024)
    # Shortcuts: Propagate current segment gets Ctrl+Shift+G
    _tab(qtbot, dlg, "Shortcuts")
    edit = dlg._edits["propagate"]
    row = next(r for r in range(dlg.keys.rowCount()) if dlg.keys.cellWidget(r, 1) is edit)
    dlg.keys.scrollToItem(dlg.keys.item(row, 0))
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_G,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: edit.keySequence().toString() == "Ctrl+Shift+G", timeout=3000)
    _ok(qtbot, dlg)
    assert not dlg.isVisible()

    # (a) the JSON settings file holds the values (and only what differs from the defaults)
    assert json.loads(settings.settings_path().read_text()) == {
        "device": "cpu", "pipeline.refine": "off", "canvas.brush": 20, "cache.frames_mb": 1024,
        "shortcuts.propagate": "Ctrl+Shift+G"}
    # (b) the engines, the jobs and the window use them
    assert devices.choose_device().reason == "setting device=cpu"
    assert str(fresh_registry.get().choice.device) == "cpu"
    assert jobs.options()["refine"] == "off"
    assert win.canvas.brush_radius == 20
    assert win.actions_["propagate"].shortcut().toString() == "Ctrl+Shift+G"
    win.close_project()
    win.open_path(demo_dir)  # the frame cache applies to the next project opened
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    assert win.session.video.cache_max_bytes == 1024 << 20
    _press(qtbot, win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Q
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=10000)

    # (c) QSettings holds the window's layout, recent projects and places, no preference
    keys = QSettings(str(ini), QSettings.Format.IniFormat).allKeys()
    assert "window/geometry" in keys and "recent" in keys
    assert [k for k in keys if not k.startswith(WINDOW_KEYS)] == []
    # after a restart, the window starts with them
    settings.reload()
    again = _window(qtbot)
    assert again.canvas.brush_radius == 20
    assert again.actions_["propagate"].shortcut().toString() == "Ctrl+Shift+G"
    assert again.actions_["propagate_all"].shortcut().toString() == "Shift+P"  # untouched


def test_old_preferences_move_into_the_json_settings_when_the_app_starts(
        qtbot, demo_dir, monkeypatch, fresh_registry):
    """An old version's QSettings preferences (``annotator open DIR`` → run_app): the real
    ``exec()`` is replaced by a loop that looks at the window and closes it (as in
    test_project)."""
    from annotator.cli import main
    from annotator.gui.main_window import MainWindow

    ini = Path(os.environ["AVS_ANNOTATOR_SETTINGS"])
    old = QSettings(str(ini), QSettings.Format.IniFormat)
    for key, value in {"canvas/brush": 31, "shortcuts/propagate": "Ctrl+Shift+K",
                       "engines/device": "cpu", "pipeline/refine": "off",
                       "guards/area_factor": 2.5, "window/geometry": b"x"}.items():
        old.setValue(key, value)
    old.sync()
    del old
    settings.set("pipeline.refine", "every")  # already in the JSON file: it wins
    seen = []

    def fake_exec(self=None):
        win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)
                   and w.isVisible())
        qtbot.waitUntil(lambda: win.session is not None, timeout=30000)
        seen.append((win.canvas.brush_radius, win.actions_["propagate"].shortcut().toString()))
        win.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert main(["open", str(demo_dir)]) == 0
    assert seen == [(31, "Ctrl+Shift+K")]
    assert json.loads(settings.settings_path().read_text()) == {
        "canvas.brush": 31, "shortcuts.propagate": "Ctrl+Shift+K", "device": "cpu",
        "pipeline.refine": "every", "guards.area_factor": 2.5}
    assert str(fresh_registry.get().choice.device) == "cpu"  # the engines started there
    keys = QSettings(str(ini), QSettings.Format.IniFormat).allKeys()
    assert "window/geometry" in keys
    assert [k for k in keys if not k.startswith(WINDOW_KEYS)] == []


def test_a_damaged_settings_file_keeps_the_dialog_open_and_the_file_as_it_was(
        qtbot, fresh_registry):
    win = _window(qtbot)
    path = settings.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"device": "cpu", "canvas.brush": 20,}', encoding="utf-8")
    settings.reload()
    dlg = _preferences(qtbot, win)  # it opens, on the defaults
    assert dlg.brush.value() == 12 and dlg.device.currentData() == "auto"
    _ok(qtbot, dlg)

    def box():
        return next((w for w in QApplication.topLevelWidgets()
                     if isinstance(w, QMessageBox) and w.isVisible()), None)

    qtbot.waitUntil(lambda: box() is not None, timeout=5000)
    text = box().text()
    assert str(path) in text and "not valid JSON" in text and "fix or delete it" in text
    box().close()
    assert dlg.isVisible()  # nothing is lost: the dialog stays, the file is untouched
    assert path.read_text() == '{"device": "cpu", "canvas.brush": 20,}'
    dlg.reject()


def test_a_cleared_shortcut_stays_cleared(qtbot, demo_dir):
    """Clear the key of a command in Preferences ▸ Shortcuts with the field's clear button: it
    has no key, also in the next window (an empty value is the person's choice, not 'use the
    built-in key')."""
    from PySide6.QtWidgets import QToolButton

    from annotator.gui.main_window import MainWindow

    win = _window(qtbot, demo_dir)
    dlg = _preferences(qtbot, win)
    _tab(qtbot, dlg, "Shortcuts")
    edit = dlg._edits["propagate_all"]
    assert edit.keySequence().toString() == "Shift+P"
    row = next(r for r in range(dlg.keys.rowCount()) if dlg.keys.cellWidget(r, 1) is edit)
    dlg.keys.scrollToItem(dlg.keys.item(row, 0))
    clear = next(b for b in edit.findChildren(QToolButton) if b.isVisible())
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert edit.keySequence().toString() == ""
    _ok(qtbot, dlg)
    assert settings.get("shortcuts.propagate_all") == ""
    assert win.actions_["propagate_all"].shortcut().toString() == ""
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.actions_["propagate_all"].shortcuts() == []
    assert again.actions_["propagate"].shortcut().toString() == "P"


def test_keys_chosen_for_a_renamed_command_are_kept(qtbot):
    """The XMem ⇄ refined toggle was the command "compare" (the name now belongs to Review ▸
    Compare with…): keys a person set under the old name still drive the toggle."""
    from annotator.gui.main_window import MainWindow

    settings.set("shortcuts.compare", "Ctrl+Alt+X")
    try:
        win = MainWindow()
        qtbot.addWidget(win)
        assert win.actions_["other_version"].shortcut().toString() == "Ctrl+Alt+X"
    finally:
        settings.set("shortcuts.compare", None)


def test_the_first_mask_guards_bars_are_preferences(qtbot, demo_dir, fresh_registry):
    """The bars of the first-mask questions (frame share, leak past the clicks, SAM's score)
    are typed in the Window tab and saved in the settings file; the window's question reads
    them from there."""
    import numpy as np

    from annotator.pipeline.prompting import anchor_concern

    win = _window(qtbot, demo_dir)
    dlg = _preferences(qtbot, win)
    _tab(qtbot, dlg, "Window")
    assert (dlg.frame_share.value(), dlg.leak_share.value(), dlg.sam_score.value()) == \
        (0.5, 0.25, 0.7)
    _type_number(qtbot, dlg.frame_share, "0.3")
    _type_number(qtbot, dlg.sam_score, "0.8")
    _ok(qtbot, dlg)
    assert json.loads(settings.settings_path().read_text()) == {
        "guards.frame_share": 0.3, "guards.sam_score": 0.8}
    store = win.session.store
    bell = store.object_by_name("bell").id
    h, w = store.size_hw
    third = np.zeros((h, w), bool)
    third[:, : int(0.4 * w)] = True  # 40% of the frame: over the typed 30%
    store.put_mask(bell, 12, third, source="brush")
    assert "covers 40% of the frame (more than 30%)" in anchor_concern(store, bell, 12)
    win.close_project()
