"""Preferences ▸ Engines ▸ Device offers only the devices this machine has (the others are
shown disabled, with the reason); a stored device the machine lacks is reported once at
start-up and the models run on the automatic choice."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@pytest.fixture
def dialog(qtbot):
    from annotator.engines import registry
    from annotator.gui.app import application
    from annotator.gui.dialogs.preferences import PreferencesDialog
    from annotator.gui.main_window import MainWindow

    registry.reset_for_tests()
    application()
    win = MainWindow()
    qtbot.addWidget(win)

    def make():
        dlg = PreferencesDialog(win, win.actions_)
        qtbot.addWidget(dlg)
        dlg.show()
        return dlg

    yield make
    registry.reset_for_tests()


def _ok(qtbot, dlg):
    box = dlg.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def test_cuda_cannot_be_chosen_on_a_machine_without_it(qtbot, dialog):
    from annotator import settings

    dlg = dialog()
    combo = dlg.device
    i = combo.findData("cuda")
    item = combo.model().item(i)
    assert not item.isEnabled() and "no CUDA device" in combo.itemText(i)
    assert "no CUDA device" in item.toolTip()
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(4):  # a person walking the list with the arrow keys never lands on cuda
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        assert combo.currentData() in ("auto", "cpu")
    assert combo.currentData() == "cpu"
    _ok(qtbot, dlg)
    assert settings.load()["device"] == "cpu"  # in the file the engines and the CLI read
    from annotator.engines import registry

    assert str(registry.get().choice.device) == "cpu"


def test_the_device_note_row_shows_only_while_it_says_something(qtbot, dialog):
    dlg = dialog()  # no model loaded, the stored device usable: nothing to say, no empty gap
    assert dlg.device_note.text() == "" and not dlg.device_note.isVisible()
    btn = next(b for b in dlg.findChildren(type(dlg.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Ok))) if b.text() == "Unload models now")
    qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
    assert dlg.device_note.isVisible() and "unloaded" in dlg.device_note.text()


def test_a_stored_missing_device_shows_as_auto_with_the_reason(qtbot, dialog):
    from annotator import settings

    settings.set("device", "cuda")
    dlg = dialog()
    assert dlg.device.currentData() == "auto"
    assert dlg.device_note.isVisible()
    assert "'cuda'" in dlg.device_note.text() and "no CUDA device" in dlg.device_note.text()
    _ok(qtbot, dlg)  # saving fixes the stored value
    assert "device" not in settings.load() and settings.get("device") == "auto"


def test_start_up_reports_a_stored_missing_device_once_and_runs_on_auto(caplog):
    from annotator import settings
    from annotator.engines import registry
    from annotator.gui.engines import start_engines, summary

    settings.set("device", "cuda")  # the one Device preference, shared with the CLI
    try:
        notice = start_engines()
        assert notice and "'cuda'" in notice and "Preferences" in notice
        assert registry.get().choice.device.type == "cpu"
        assert [r for r in caplog.records if "'cuda'" in r.getMessage()]  # logged, once
        assert sum("'cuda'" in r.getMessage() for r in caplog.records) == 1
        assert notice in summary(None)[1]  # and in the status bar's tooltip
    finally:
        settings.set("device", None)
        registry.reset_for_tests()


def test_unload_models_releases_the_registry(qtbot, dialog, monkeypatch):
    from annotator.engines import registry

    released = []
    monkeypatch.setattr(registry.EngineRegistry, "release",
                        lambda self: released.append(self))
    dlg = dialog()
    btn = next(b for b in dlg.findChildren(type(dlg.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Ok))) if b.text() == "Unload models now")
    qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
    assert released == [registry.get()] and "unloaded" in dlg.device_note.text()
