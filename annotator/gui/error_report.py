"""How failures reach the person: a status message for a bad input, a dialog that names the
file and says what to do for a failed open, the Models dialog for a model file, and a
"this is a bug" dialog with the traceback for anything else. Every failure is written with its
traceback to the log file (:mod:`annotator.logs`), which the dialogs name. Never a dead window."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from annotator import logs
from annotator.core.project import VideoMissingError
from annotator.errors import UserError, explain
from annotator.gui.status_bar import StatusBar


class ErrorReporter(QObject):
    """Every failure of the window goes through :meth:`show_error`."""

    def __init__(self, status: StatusBar, parent: QWidget, show_models: Callable[[], None],
                 relink: Callable[[Path], None]) -> None:
        super().__init__(parent)
        self.status = status
        self.parent_widget = parent
        self.show_models = show_models
        self.relink = relink  # ask for the moved video of a project, then open it
        self.last_error: str | None = None

    def show_error(self, exc: BaseException, context: str = "",
                   project_dir: Path | None = None) -> None:
        """Tell the person what happened and what to do; never leave a dead window.
        ``project_dir``: the project being opened (a moved video can then be located)."""
        user = explain(exc)  # a full disk, read-only media, a damaged file: the CLI's words
        if user is not None and user is not exc:
            user.__traceback__ = exc.__traceback__
            exc = user
        text = str(exc) or type(exc).__name__
        self.last_error = text
        name = type(exc).__name__
        is_user = isinstance(exc, UserError)
        from annotator.engines.models import ModelFileError

        model_missing = isinstance(exc, ModelFileError)
        detail = getattr(exc, "__gui_traceback__", None) or "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))
        bug = not (is_user or model_missing)
        # every failure goes to the log file with its traceback; on stderr a bug's traceback,
        # a bad input's one line
        log_path = logs.report(exc, context, detail, level=logging.ERROR if bug else logging.INFO,
                               stderr=bug)
        if not bug:
            print(f"annotator: {context + ': ' if context else ''}{text}", file=sys.stderr)
        if model_missing:
            box = QMessageBox(QMessageBox.Icon.Warning, "Model file missing",
                              f"{context + ': ' if context else ''}{text}\n\nOpen the Models "
                              "dialog to find, verify or download the model files.",
                              QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Close,
                              self.parent_widget)
            box.button(QMessageBox.StandardButton.Open).clicked.connect(self.show_models)
            box.open()
        elif isinstance(exc, VideoMissingError) and project_dir is not None:
            box = QMessageBox(QMessageBox.Icon.Warning, "Where is the video?",
                              f"{context}.\n\n{text}\n\nLocate the video to go on: the project "
                              "checks that it is the same video.",
                              QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Close,
                              self.parent_widget)
            box.button(QMessageBox.StandardButton.Open).setText("Locate video…")
            box.button(QMessageBox.StandardButton.Open).clicked.connect(
                lambda: self.relink(project_dir))
            box.open()
        elif is_user and not context:
            self.status.say(text, True, 12000)
        elif is_user:
            box = QMessageBox(QMessageBox.Icon.Warning, "AVS Annotator",
                              f"{context}.\n\n{text}\n\n(Details in the log file {log_path}.)",
                              QMessageBox.StandardButton.Ok, self.parent_widget)
            box.open()
        else:
            box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                              f"{context + ': ' if context else ''}{name}: {text}\n\nYour work so "
                              "far is saved in the project. This is a bug: please report it "
                              "with the details below and the log file "
                              f"{log_path} (Help > Open log folder).",
                              QMessageBox.StandardButton.Ok, self.parent_widget)
            box.setDetailedText(detail)
            box.open()
        self.status.say(text, True, 12000)

    def open_log_folder(self) -> None:
        """Help > Open log folder: the folder of the log file, in the desktop's file manager."""
        folder = logs.setup().parent
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
