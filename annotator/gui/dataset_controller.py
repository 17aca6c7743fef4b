"""File ▸ Open dataset…, *Next* and *Back to the dataset*: the window as a dataset's window.

The window's centre becomes a stack: the canvas of the open project, or the dataset's table
(:class:`annotator.gui.dataset_table.DatasetView`). The table's rows are what ``annotator
dataset status`` shows, read on a worker of this controller (the dataset database and every
project's store are read there, never on the GUI thread). A double-click on a row opens that
video's project through the window's ordinary open path; *Next* reads the rows afresh and
opens the next unfinished video assigned to the person (:func:`annotator.core.dataset_progress.
next_video`: needs work first); *Back to the dataset* closes the project (asking about a
running job) and shows the table again, read afresh. *Assign…* in the table writes the
assignment (:meth:`annotator.core.dataset.Dataset.assign`, as ``annotator dataset assign``)
on the same worker, then reads the rows afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool
from PySide6.QtWidgets import QFileDialog, QMainWindow, QStackedWidget

from annotator.gui.dataset_table import DatasetView
from annotator.gui.status_bar import StatusBar
from annotator.gui.workers import TaskRunner


def read_rows(root: Path, current: Path | None = None) -> tuple[list[dict], str, str | None]:
    """On a worker: ``(the dataset's status rows, the person, the video id of the project
    ``current``)``."""
    from annotator import settings
    from annotator.core.dataset import Dataset
    from annotator.core.dataset_summary import status_rows

    with Dataset.open(root) as ds:
        rows = status_rows(ds)
    here = None
    if current is not None:
        here = next((r["video_id"] for r in rows
                     if Path(r["project"]).resolve() == current.resolve()), None)
    return rows, settings.person(), here


class DatasetController(QObject):
    """The window's dataset commands and its table (see the module docstring)."""

    def __init__(self, win: QMainWindow, projects: Any, status: StatusBar,
                 current: Callable[[], Any], close_project: Callable[..., bool],
                 show_error: Callable[..., None]) -> None:
        super().__init__(win)
        self.win, self.projects, self.status = win, projects, status
        self.current = current  # () -> the open session, or None
        self.close_project = close_project
        self.show_error = show_error
        self.root: Path | None = None
        self.rows: list[dict] = []
        self.view = DatasetView()
        self.stack = QStackedWidget()
        self.stack.setObjectName("centre")
        self.stack.addWidget(win.takeCentralWidget())  # the canvas
        self.stack.addWidget(self.view)
        win.setCentralWidget(self.stack)
        self.view.video_activated.connect(lambda row: self.open_video(row))
        self.view.next_requested.connect(self.next)
        self.view.assign_requested.connect(self.assign)
        projects.opened.connect(lambda *_: self.stack.setCurrentIndex(0))
        projects.dataset_wanted.connect(self.open_dataset)
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        self._runner = TaskRunner(pool, self)

    @property
    def showing(self) -> bool:
        """Whether the table is what the window shows."""
        return self.stack.currentWidget() is self.view

    # -- the commands ------------------------------------------------------------------------
    def open_dataset(self, path: str | Path | None = None) -> None:
        """Show the table of the dataset in ``path`` (asked for with a folder dialog)."""
        if path is None:
            path = QFileDialog.getExistingDirectory(self.win, "Open a dataset folder (it holds "
                                                    "dataset.avsds)")
            if not path:
                return
        if not self.close_project():
            return
        before, self.root = self.root, Path(path)
        self.status.say(f"Reading the dataset {self.root}…")
        self._read(lambda rows, me, _h: self._show(rows, f"Opened the dataset {self.root}", me),
                   undo=lambda: setattr(self, "root", before))

    def back(self) -> None:
        """Close the project and show the dataset's table, read afresh."""
        if self.root is None:
            self.status.say("No dataset is open: File ▸ Open dataset… first.", True)
            return
        if not self.close_project():
            return
        self.stack.setCurrentWidget(self.view)
        self._read(lambda rows, me, _h: self._show(rows, "", me))

    def next(self) -> None:
        """Open the next unfinished video assigned to the person (needs work first)."""
        if self.root is None:
            self.status.say("No dataset is open: File ▸ Open dataset… first.", True)
            return
        from annotator.core.dataset_progress import next_video

        def chosen(rows: list[dict], person: str, here: str | None) -> None:
            self.rows = rows
            self.view.set_rows(str(self.root), rows, person)
            row = next_video(rows, person, here)
            if row is None:
                self.status.say(f"No unfinished video of {self.root.name} is assigned to "
                                f"{person}; assign some with: annotator dataset assign "
                                f"{self.root} --to {person} VIDEO…", warning=True, msecs=15000)
                return
            self.open_video(row)

        session = self.current()
        self._read(chosen, session.project.dir if session is not None else None)

    def assign(self, video_ids: list[str], person: str) -> None:
        """Assign ``video_ids`` to ``person`` (on the worker), then show the rows afresh."""
        person = person.strip()
        if self.root is None or not video_ids:
            return
        if not person:
            self.status.say("Nothing assigned: type the person's name in the dialog.", True)
            return
        root = self.root

        def write() -> tuple[list[dict], str, str | None]:
            from annotator.core.dataset import Dataset

            with Dataset.open(root) as ds:
                ds.assign(person, video_ids)
            return read_rows(root)

        n = len(video_ids)
        self.status.say(f"Assigning {n} video{'s' if n != 1 else ''} to {person}…")
        self._runner.submit(
            write,
            lambda result: self._show(result[0], f"Assigned {', '.join(video_ids)} to "
                                      f"{person}", result[1]),
            lambda exc: self.show_error(exc, context=f"Could not assign videos in {root}"))

    def open_video(self, row: dict) -> None:
        if "error" in row:
            self.status.say(row["error"], True, msecs=15000)
            return
        self.status.say(f"Opening {row['video_id']}…")
        self.projects.open_path(Path(row["project"]))

    # -- reading the rows --------------------------------------------------------------------
    def _read(self, then: Callable[[list[dict], str, str | None], None],
              current: Path | None = None, undo: Callable[[], None] | None = None) -> None:
        root = self.root

        def failed(exc: BaseException) -> None:
            if undo is not None:  # the dataset shown before (if any) stays the window's
                undo()
            self.show_error(exc, context=f"Could not read the dataset {root}")

        self._runner.submit(lambda: read_rows(root, current),
                            lambda result: then(*result), failed)

    def _show(self, rows: list[dict], message: str, me: str | None = None) -> None:
        self.rows = rows
        self.view.set_rows(str(self.root), rows, me)
        self.stack.setCurrentWidget(self.view)
        self.win.setWindowTitle(f"{self.root.name} (dataset) — AVS Annotator")
        if message:
            self.status.say(message)
