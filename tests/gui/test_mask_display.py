"""How masks are drawn, as a person changes it: untick an object in the Objects panel and its
mask goes from the frame; O draws masks as outlines only (the pixels under the mask show
through), O again fills them; Shift+O and Alt+O make the fill more or less opaque. Checked on
the pixels the canvas paints (``grab``), not on flags."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from annotator.demo import FPS, _bell_center


def _pixel(win, x: float, y: float) -> np.ndarray:
    img = win.canvas.grab().toImage()
    p = win.canvas.to_widget(x, y).toPoint()
    c = img.pixelColor(p)
    return np.array([c.red(), c.green(), c.blue()], float)


def test_hide_outline_and_opacity_change_what_is_painted(ui, qtbot):
    win = ui.win
    oid, seg = ui.anchor_bell()
    x, y = _bell_center(seg.start / FPS)
    x += 15  # inside the bell's mask, off the clicked point drawn over it
    ui.idle()
    qtbot.waitUntil(lambda: oid in win.canvas.view.layers, timeout=10000)
    filled = _pixel(win, x, y)
    # untick the bell's row: its mask is not drawn; tick it again
    tree = win.objects_panel.tree
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == oid)
    box = tree.visualItemRect(item)
    tick = box.topLeft() + QPoint(10, box.height() // 2)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tick)
    assert win.state.hidden == {oid}
    bare = _pixel(win, x, y)
    assert np.abs(bare - filled).sum() > 30
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tick)
    assert win.state.hidden == frozenset()
    assert np.abs(_pixel(win, x, y) - filled).sum() < 3
    # O: outlines only — inside the mask the frame shows as if unmasked
    ui.key(Qt.Key.Key_O)
    assert win.state.overlay == "outline" and win.actions_["outline"].isChecked()
    assert np.abs(_pixel(win, x, y) - bare).sum() < 3
    assert "outlines only" in win.status.currentMessage()
    ui.key(Qt.Key.Key_O)
    assert win.state.overlay == "filled"
    # Shift+O: more opaque (further from the frame), Alt+O: less
    ui.key(Qt.Key.Key_O, Qt.KeyboardModifier.ShiftModifier)
    ui.idle()  # the fills are made again, off the GUI thread
    more = _pixel(win, x, y)
    assert np.abs(more - bare).sum() > np.abs(filled - bare).sum() + 10
    for _ in range(2):
        ui.key(Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)
    ui.idle()
    less = _pixel(win, x, y)
    assert np.abs(less - bare).sum() < np.abs(filled - bare).sum() - 10
    assert "opacity" in win.status.currentMessage()


def test_the_way_masks_are_drawn_is_kept_for_next_time(ui, qtbot):
    from annotator import settings
    from annotator.gui.main_window import MainWindow

    ui.key(Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)  # a lighter fill
    ui.key(Qt.Key.Key_O)  # then outlines only
    opacity = ui.win.state.opacity
    ui.key(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)  # close the project
    qtbot.waitUntil(lambda: ui.win.session is None, timeout=10000)
    assert settings.get("canvas.overlay") == "outline"
    assert abs(settings.get("canvas.opacity") - opacity) < 0.01
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.state.overlay == "outline" and again.actions_["outline"].isChecked()
    assert abs(again.state.opacity - opacity) < 0.01
