"""Choosing SAM 2.1 in Preferences, as a person does: the demo project open with the
weight-free engines chosen, Edit ▸ Preferences opened through its action, the SAM 2.1
segmenter and the sam2 propagator picked in their comboboxes with keys, OK pressed; the status
bar then names SAM 2.1 (and the propagator chosen, not the best installed), and a click on the
bell gives a mask made by SAM 2.1 (the test Hiera-Tiny of conftest.py, found through its
environment variable like a user's file): the store names it as the mask's model."""

from __future__ import annotations

import pytest

from .conftest import SKIP_REASON

pytest.importorskip("sam2", reason=SKIP_REASON)
pytest.importorskip("pytestqt", reason="the GUI tests need pytest-qt")

from tests.gui.conftest import _UI, _private_settings, open_window  # noqa: E402, F401

pytestmark = pytest.mark.slow  # the click runs the SAM 2.1 image encoder on the CPU

NAME = "SAM 2.1 hiera_tiny (cpu, fp32)"


def _pick(qtbot, combo, data: str) -> None:
    """Choose the item whose data is ``data`` with the keyboard: Home, then Down."""
    from PySide6.QtCore import Qt

    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentData() == data:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == data, [combo.itemData(i) for i in range(combo.count())]


def test_choosing_sam2_in_preferences_then_a_click_is_a_sam2_mask(sam2_installed, qtbot,
                                                                   demo_dir):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialogButtonBox

    from annotator import settings
    from annotator.demo import FPS, _bell_center
    from annotator.gui.dialogs.preferences import PreferencesDialog

    settings.update({"engines.segmenter": "fallback", "engines.propagator": "fallback"})
    win = open_window(qtbot, demo_dir)
    try:
        ui = _UI(qtbot, win)
        label = win.status.engines_label
        qtbot.waitUntil(lambda: "fallback engines" in label.text(), timeout=60000)

        ui.menu_action("Edit", "Preferences").trigger()
        qtbot.waitUntil(lambda: any(d.isVisible() for d in win.findChildren(PreferencesDialog)),
                        timeout=5000)
        dlg = next(d for d in win.findChildren(PreferencesDialog) if d.isVisible())
        _pick(qtbot, dlg.segmenter, "sam2")
        assert dlg.segmenter.currentText() == "SAM 2.1 (the largest model file present)"
        _pick(qtbot, dlg.propagator, "sam2")
        ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        assert not dlg.isVisible()
        assert settings.get("engines.segmenter") == "sam2"
        # the window names the chosen engines (SAM 2.1 loaded on the serial thread first)
        qtbot.waitUntil(lambda: label.text().startswith("sam2 + SAM 2.1 hiera_tiny"),
                        timeout=120000)
        assert NAME in label.toolTip()

        oid, seg = ui.bell()
        win.segments_panel.select(seg.id)
        qtbot.mouseClick(win.segments_panel.go_btn, Qt.MouseButton.LeftButton)
        ui.idle()
        x, y = _bell_center(seg.start / FPS)
        ui.click(float(x), float(y))
        ui.idle(timeout=120000)
        rec = ui.store.mask(oid, seg.start)
        assert rec is not None and rec.source == "sam" and rec.model == NAME, rec
        assert rec.decode().any()
    finally:
        win.close_project(ask=False)
