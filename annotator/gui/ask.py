"""Questions before a destructive or doubtful action, asked without blocking the event loop.

:func:`ask` opens a window-modal box with the action's own verb on its Yes button and Cancel
as the default; ``on_yes`` runs only when the person presses the verb. While open, the box is
``parent.dialog`` (tests find it there and press its buttons).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

YES, CANCEL = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel


def ask(parent: QWidget, title: str, text: str, info: str, verb: str,
        on_yes: Callable[[], None], *,
        icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
    """Ask ``text`` (``info`` below it); ``verb`` names the Yes button; returns the box."""
    box = QMessageBox(icon, title, text, YES | CANCEL, parent)
    box.setInformativeText(info)
    box.button(YES).setText(verb)
    box.setDefaultButton(CANCEL)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    parent.dialog = box

    def answered(_result: int) -> None:
        if getattr(parent, "dialog", None) is box:
            parent.dialog = None
        if box.clickedButton() is box.button(YES):
            on_yes()

    box.finished.connect(answered)
    box.open()
    return box
