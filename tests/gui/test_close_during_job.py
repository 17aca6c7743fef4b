"""Closing the project while a propagation runs asks first; a job that ends while the person
reads the question closes the box by itself and the project closes, as asked (the box stayed,
asking to stop a job long done). The fallback propagator is held at one frame by
``gate_fallback`` (a fake delay); everything else is the real window, job and store."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox


def test_a_job_that_ends_during_the_question_closes_it(ui, qtbot, gate_fallback):
    ui.anchor_bell()
    reached, go = gate_fallback(3)
    ui.trigger("propagate")
    qtbot.waitUntil(reached.is_set, timeout=60000)
    seen: list[str] = []

    def while_asked() -> None:  # runs inside the question's own event loop
        box = ui.win.dialog
        seen.append(box.text() if isinstance(box, QMessageBox) else "")
        go.set()  # the job goes on and ends while the question is open

    def give_up() -> None:  # without the fix the box would wait for a person forever
        if isinstance(ui.win.dialog, QMessageBox):
            seen.append("still asking")
            ui.win.dialog.button(QMessageBox.StandardButton.No).click()

    QTimer.singleShot(200, while_asked)
    QTimer.singleShot(30000, give_up)
    ui.trigger("close")  # File ▸ Close project (Ctrl+W)
    assert seen and "is still running" in seen[0]
    assert "still asking" not in seen
    assert ui.win.session is None and ui.win.dialog is None
