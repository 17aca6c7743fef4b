"""File ▸ Close project on the real window: the empty window looks like a fresh start — the
canvas shows how to open something, not a notice left over from the closed project."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_after_close_the_canvas_says_how_to_open_not_computing_the_embedding(ui, qtbot):
    win = ui.win
    ui.key(Qt.Key.Key_End)  # somewhere other than the first frame, its embedding ready
    ui.idle()
    qtbot.waitUntil(lambda: win.prompt.embedding == "ready", timeout=30000)
    assert win.canvas.notice == ""
    ui.menu_action("File", "Close project").trigger()
    qtbot.wait(200)  # whatever the closing queued has run
    assert win.session is None
    # it read "Computing the image embedding of this frame… clicks are queued" over an empty
    # window, for a frame of a project no longer open
    assert win.canvas.notice == "", win.canvas.notice
    assert "computing" not in win.status.embedding_label.text().lower()
