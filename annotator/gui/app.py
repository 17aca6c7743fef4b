"""Start the desktop application: ``run_app(project_dir=None, video=None) -> int``."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from annotator import resources
from annotator.gui import settings as S

_APP: QApplication | None = None


def application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, created (with our names and icon) if needed."""
    from annotator import logs

    logs.setup()  # tracebacks (caught in the window, or uncaught in a slot) go to the log file
    logs.install_excepthook()
    app = QApplication.instance()
    # Workers (decoding, models, the store) share the interpreter lock with the GUI thread: a
    # shorter switch interval lets the GUI thread in sooner, keeping repaints smooth.
    sys.setswitchinterval(0.001)
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(S.ORG)
    app.setApplicationName(S.APP)
    app.setApplicationDisplayName("AVS Annotator")
    app.setDesktopFileName(resources.APP_ID)  # the installed .desktop entry (Wayland, docks)
    icon = resources.icon_path()  # package data: the same from a checkout, a wheel or a bundle
    app.setWindowIcon(QIcon(str(icon)))
    app.setProperty("iconPath", str(icon))  # where the icon came from (packaging checks)
    global _APP
    _APP = app  # keep it alive between windows (run_app may return and be called again)
    return app  # type: ignore[return-value]


def run_app(project_dir: str | Path | None = None, video: str | Path | None = None,
            device: str | None = None) -> int:
    """Open the window (on a project, a video, or the last project) and run until it closes.

    Start-up first moves the preferences an earlier version kept in QSettings into the JSON
    settings (:func:`gui.settings.move_old_preferences`), then sets the process-wide settings
    once, before any model or worker: the engine registry on ``device`` (``--device``; a device
    the machine lacks is a ``UserError``) or on the Device preference, torch's threads and the
    allocator (:func:`gui.engines.start_engines`).
    """
    from annotator.gui.engines import start_engines

    S.move_old_preferences()
    notice = start_engines(device)
    app = application()
    from annotator.gui.main_window import MainWindow

    win = MainWindow()
    win.show()
    if notice:  # a stored device this machine lacks: said once, at start-up
        QTimer.singleShot(0, lambda: win.status.say(notice))
    target = project_dir or video
    if target is None:
        last = S.app_settings().value("last_project")
        from annotator.core.project import is_project

        if last and is_project(str(last)):
            target = last
    if target is not None:
        QTimer.singleShot(0, lambda: win.open_path(Path(target)))
    return int(app.exec())
