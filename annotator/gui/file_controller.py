"""File ▸ Import / Export and Propagate ▸ Batch: the window's file commands.

Imports run on the session's serial writer (one undoable operation each); exports and batches
run as the session's job (progress, cancel), through :func:`annotator.pipeline.exports.run_export`
— the formats and words the command line uses. File dialogs start where the person last
imported or exported (else beside the project), never inside the project folder; a folder an
export should write may be typed new, and the export creates it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from annotator.gui import jobs
from annotator.gui import settings as S
from annotator.gui.status_bar import StatusBar
from annotator.pipeline.exports import BY_KEY, ExportFormat
from annotator.pipeline.outcome import JobOutcome


class FileController(QObject):
    """The window's import, export and batch commands (see the module docstring)."""

    def __init__(self, status: StatusBar, parent: QWidget, before_job: Any = None) -> None:
        super().__init__(parent)
        self.status = status
        self.parent_widget = parent
        self.before_job = before_job or (lambda: None)
        self.session: Any = None

    def attach(self, session: Any) -> None:
        self.session = session

    def detach(self) -> None:
        self.session = None

    # -- where dialogs start -------------------------------------------------------------------
    def start_dir(self) -> str:
        """The folder of the last import or export, else the project's own folder's parent
        (beside the project, where its video usually is)."""
        last = S.app_settings().value("dialogs/last_dir")
        if last and Path(str(last)).is_dir():
            return str(last)
        return str(self.session.project.dir.parent) if self.session is not None else ""

    def remember(self, path: str | Path) -> None:
        """The folder of ``path`` is where the next file dialog starts."""
        path = Path(path)
        S.app_settings().setValue("dialogs/last_dir", str(path if path.is_dir() else path.parent))

    def _editable(self) -> bool:
        if self.session is None:
            return False
        if self.session.readonly:
            self.status.say(self.session.store.readonly_reason, True)
            return False
        return True

    # -- import --------------------------------------------------------------------------------
    def import_segments(self, path: str | Path | None = None) -> None:
        if not self._editable():
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Import audible segments",
                                                  self.start_dir(),
                                                  "Segments (*.csv *.json);;All files (*)")
            if not path:
                return
        from annotator.core.importers import import_segments

        self.remember(path)
        session, p = self.session, Path(path)
        store, video = session.store, session.video
        self._import(lambda: import_segments(store, p, video.index_at),
                     f"Import segments from {p.name}")

    def import_masks(self, path: str | Path | None = None) -> None:
        if not self._editable():
            return
        if path is None:
            start = self.start_dir()
            path = QFileDialog.getExistingDirectory(
                self.parent_widget, "Import masks: a folder of PNG masks (cancel to choose a "
                "COCO JSON file)", start)
            if not path:
                path, _ = QFileDialog.getOpenFileName(
                    self.parent_widget, "Import masks: COCO JSON or CVAT for video XML", start,
                    "COCO JSON or CVAT XML (*.json *.xml)")
            if not path:
                return
        from annotator.core import importers

        self.remember(path)
        store, p = self.session.store, Path(path)

        def work() -> Any:
            if p.is_dir():
                return importers.import_png_masks(store, p)
            if p.suffix.lower() == ".xml":
                from annotator.core.cvat import import_cvat

                return import_cvat(store, p)
            return importers.import_coco(store, p)

        self._import(work, f"Import masks from {p.name}")

    def _import(self, work: Any, label: str) -> None:
        self.session.apply_report(
            label, work, lambda report: self.status.say(label + ": " + "; ".join(report.lines())))

    # -- export --------------------------------------------------------------------------------
    def export(self, key: str, path: str | Path | None = None) -> None:
        """Export as the format ``key`` (:data:`annotator.pipeline.exports.FORMATS`) to
        ``path``, asked for with a save dialog when None (which asks before replacing a file;
        a path given here replaces an earlier export of this project only)."""
        if self.session is None:
            return
        f = BY_KEY[key]
        confirmed = path is None and f.target == "file"
        if path is None:
            path = self._ask_target(f)
            if not path:
                return
        self.remember(path)
        from annotator.core.export_files import TargetTaken
        from annotator.pipeline.exports import run_export

        project = self.session.project

        def run(ctx: Any) -> JobOutcome:
            try:
                res, text = run_export(project, f, Path(path), overwrite=confirmed,
                                       progress=lambda d, t: ctx.progress(d, t))
            except TargetTaken:  # the window has no --overwrite: say what to do here
                raise TargetTaken(f"{path}: this folder holds other files, not an earlier "
                                  "export of this project; choose an empty or a new folder "
                                  "(type a new name in the dialog)") from None
            return JobOutcome(f"Export {f.title}", message=f"Exported {f.title}: {text}",
                              path=str(res.get("path", path)))

        self.before_job()
        self.session.start_job(f"Export {f.title}", run)

    def _ask_target(self, f: ExportFormat) -> str:
        """A save dialog for a file, or for a folder that may not exist yet (typed new)."""
        name = self.session.project.dir.name.removesuffix(".avsproj")
        default = str(Path(self.start_dir()) / (f"{name}.{f.key}{f.suffix}" if f.target == "file"
                                                else f"{name}-{f.key}"))
        title = f"Export {f.title}" + (" into a new or empty folder" if f.target == "folder"
                                       else "")
        options = QFileDialog.Option(0)
        if f.target == "folder":  # the export checks the folder itself and says why not
            options |= QFileDialog.Option.DontConfirmOverwrite
        filt = f"{f.title} (*{f.suffix})" if f.suffix else "Folder (*)"
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, title, default, filt,
                                              options=options)
        if path and f.suffix and not path.lower().endswith(f.suffix):
            path += f.suffix
        return path

    # -- batch ---------------------------------------------------------------------------------
    def batch_projects(self, folders: list[str] | None = None) -> None:
        """Propagate all segments of several other projects, one after the other."""
        if self.session is None:
            self.status.say("Open a project first; the batch runs in its status bar.", True)
            return
        if folders is None:
            from annotator.gui.dialogs.batch_dialog import choose_projects

            folders = choose_projects(self.parent_widget)
            if not folders:
                return
        chosen = list(folders)
        self.before_job()
        self.session.start_job(f"Batch over {len(chosen)} projects",
                               lambda ctx: jobs.batch(chosen, ctx))
