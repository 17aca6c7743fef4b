"""Dialogs of the desktop application, and the window's Edit / Models / Help dialogs opened
without blocking the event loop (:class:`WindowDialogs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget


class WindowDialogs:
    """Preferences, model files, keyboard shortcuts, the log folder and About, for one window."""

    def __init__(self, parent: QWidget, actions: Callable[[], dict], engines_tip: Callable[[], str],
                 log_folder: Callable[[], None],
                 engines_changed: Callable[[], None] = lambda: None) -> None:
        self.parent = parent
        self._actions = actions  # () -> the window's actions (made after this)
        self._engines_tip = engines_tip
        self.log_folder = log_folder
        self._engines_changed = engines_changed  # after Preferences ▸ OK: the status bar

    def preferences(self) -> None:
        from annotator.gui.dialogs.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.parent, self._actions())
        dialog.accepted.connect(self._engines_changed)
        dialog.open()

    def models(self) -> None:
        from annotator.gui.dialogs.models_dialog import ModelsDialog

        ModelsDialog(self.parent).open()

    def shortcuts(self) -> None:
        from annotator.gui.dialogs.shortcuts import ShortcutsDialog

        ShortcutsDialog(self.parent, self._actions()).open()

    def about(self) -> Any:
        import annotator

        QMessageBox.about(self.parent, "About AVS Annotator",
                          f"<b>AVS Annotator</b> {getattr(annotator, '__version__', '')}<br>"
                          "Pixel masks of sounding objects in long, untrimmed videos: "
                          "SAM clicks on the first frame, XMem propagation with SAM "
                          "refinement, a check view for the clips that failed.<br>"
                          f"Engines: {self._engines_tip()}")
