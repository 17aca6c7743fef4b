"""Reopening a project goes back to where the person was: the last viewed frame and object
(view state, kept per person in the settings, keyed by the project's path)."""

from __future__ import annotations

from PySide6.QtCore import Qt


def _reopen_from_recent(ui, qtbot, demo_dir) -> None:
    win = ui.win
    ui.key(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)  # Close project
    qtbot.waitUntil(lambda: win.session is None)
    (recent,) = [a for a in win.recent_menu.actions() if a.text() == str(demo_dir.resolve())]
    recent.trigger()  # File ▸ Recent ▸ the project
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    ui.idle()


def test_reopen_restores_the_last_frame_and_object(ui, qtbot, demo_dir):
    win = ui.win
    drum = ui.store.object_by_name("drum").id
    ui.idle()
    ui.key(Qt.Key.Key_2)  # the second object: the drum
    for _ in range(7):
        ui.key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # 10 frames on
    for _ in range(3):
        ui.key(Qt.Key.Key_Right)
    ui.idle()
    assert (win.state.frame, win.state.object_id) == (73, drum)
    _reopen_from_recent(ui, qtbot, demo_dir)
    qtbot.waitUntil(lambda: (win.state.frame, win.state.object_id) == (73, drum), timeout=10000)
    assert win.canvas.view.index == 73
    assert win.objects_panel.current() == drum
    assert "frame 73" in win.status.frame_label.text()


def test_first_open_starts_at_frame_0(window):
    assert window.state.frame == 0
