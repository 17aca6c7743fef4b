"""File ▸ New / Open / Open recent, a dropped file, a moved video: opening projects.

Opening is slow (the video's fingerprint and index, the first read of the store), so it runs
on a thread of its own; only once it worked is the current project closed, so a failed open or
create leaves it open. The window gets ``opened(project, video, structure)``, closes the current
project and assembles the views; a failure goes to the error reporter with what was being
opened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from annotator.gui.canvas import Canvas
from annotator.gui.status_bar import StatusBar
from annotator.gui.workers import TaskRunner
from annotator.pipeline import opening

VIDEOS = "Videos (*.mp4 *.mkv *.avi *.mov *.webm *.m4v);;All files (*)"


class ProjectController(QObject):
    """Opens projects for one window (see the module docstring)."""

    opened = Signal(object, object, object)  # project, video, Structure
    dataset_wanted = Signal(object)  # a dataset folder was given to open: its path

    def __init__(self, status: StatusBar, canvas: Canvas, parent: QWidget,
                 current: Callable[[], Any], may_close: Callable[[], bool],
                 show_error: Callable[..., None]) -> None:
        super().__init__(parent)
        self.status = status
        self.canvas = canvas
        self.parent_widget = parent
        self.current = current  # () -> the open session, or None
        self.may_close = may_close  # asks about a running job; False: the person said no
        self.show_error = show_error
        self.opening = False
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        self._runner = TaskRunner(pool, self)

    def open_path(self, path: str | Path | None = None) -> None:
        """Open a project folder, or a video (creating ``VIDEO.avsproj`` beside it); a
        dataset folder (it holds ``dataset.avsds``) is handed on as ``dataset_wanted``."""
        if path is None:
            path = QFileDialog.getExistingDirectory(self.parent_widget,
                                                    "Open an AVS Annotator project")
            if not path:
                return
        from annotator.core.dataset_db import DB_NAME
        from annotator.core.project import is_project

        path = Path(path)
        if path.name == DB_NAME and path.is_file():  # the dataset database itself
            path = path.parent
        if (path / DB_NAME).is_file():
            self.dataset_wanted.emit(path)
        elif is_project(path):
            self._open_with(opening.open_project, path)
        elif path.name and path.is_dir() and is_project(path.with_name(path.name + ".avsproj")):
            self._open_with(opening.open_project, path.with_name(path.name + ".avsproj"))
        else:
            self._open_with(opening.create_project, path)

    def new_project(self, video: str | Path | None = None) -> None:
        """Ask for the video and where its project goes (default beside the video, or the
        per-user projects folder when that cannot be written to), then create and open it."""
        from annotator.gui.dialogs.new_project_dialog import NewProjectDialog

        win = self.parent_widget
        dlg = NewProjectDialog(win, video or "")
        win.dialog = dlg

        def closed(_r: int) -> None:
            if win.dialog is dlg:
                win.dialog = None
            dlg.deleteLater()

        dlg.accepted.connect(lambda: self._create(*dlg.values()))
        dlg.finished.connect(closed)
        dlg.open()

    def _create(self, video: Path, location: Path) -> None:
        self._open_with(lambda _p: opening.create_project(video, location), location,
                        f"Could not create a project from {video.name}")

    def relink_and_open(self, project_dir: Path, video: str | Path | None = None) -> None:
        """Point the project at its moved video (same content only), then open it."""
        if video is None:
            video, _ = QFileDialog.getOpenFileName(self.parent_widget,
                                                   "Locate the project's video", "", VIDEOS)
            if not video:
                return
        from annotator.core.project import Project

        def work(_path: Path) -> tuple:
            with Project.open(project_dir) as project:
                project.relink(video)
            return opening.open_project(project_dir)

        self._open_with(work, Path(project_dir))

    def _open_with(self, fn: Any, path: Path, what: str = "") -> None:
        """Open in the background; ``what`` heads an error (default "Could not open PATH")."""
        if self.opening:
            return
        current = self.current()
        if current is not None:
            if Path(path).resolve() == current.project.dir.resolve():
                self.status.say(f"{current.project.dir} is already open.")
                return
            if not self.may_close():
                return
        self.opening = True
        if current is None:
            self.canvas.set_view(None)
            self.canvas.set_notice(f"Opening {path}…")
        self.status.say(f"Opening {path}…")

        def done(result: tuple) -> None:
            self.opening = False
            self.canvas.set_notice("")
            self.opened.emit(*result)

        def failed(exc: BaseException) -> None:
            from annotator.core.project import is_project

            self.opening = False
            self.canvas.set_notice("")
            self.show_error(exc, context=(what or f"Could not open {path}")
                            + (f"; {current.project.dir.name} stays open" if current else ""),
                            project_dir=path if is_project(path) else None)

        self._runner.submit(lambda: fn(path), done, failed)
