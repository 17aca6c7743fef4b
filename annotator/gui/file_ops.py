"""The window's file commands: import segments and masks, export COCO and PNG, batch over
projects. Everything slow runs on the serial writer or as a job; nothing blocks the window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from annotator.gui import jobs


class FileOps:
    """Mixed into :class:`~annotator.gui.main_window.MainWindow`."""

    # -- import / export -----------------------------------------------------------------------
    def import_segments(self, path: str | Path | None = None) -> None:
        if self.session is None:
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import audible segments", "",
                                                  "Segments (*.csv *.json);;All files (*)")
            if not path:
                return
        from annotator.core.importers import import_segments

        session = self.session
        store, video = session.store, session.video
        self.session.write(
            lambda: import_segments(store, Path(path), video.index_at),
            lambda report: self._imported(report, f"Import segments from {Path(path).name}"))

    def import_masks(self, path: str | Path | None = None) -> None:
        if self.session is None:
            return
        if path is None:
            path = QFileDialog.getExistingDirectory(self, "Import masks: a folder of PNG masks "
                                                    "(cancel to choose a COCO JSON file)")
            if not path:
                path, _ = QFileDialog.getOpenFileName(
                    self, "Import masks: COCO JSON or CVAT for video XML", "",
                    "COCO JSON or CVAT XML (*.json *.xml)")
            if not path:
                return
        from annotator.core import importers

        store, p = self.session.store, Path(path)

        def work() -> Any:
            if p.is_dir():
                return importers.import_png_masks(store, p)
            if p.suffix.lower() == ".xml":
                from annotator.core.cvat import import_cvat

                return import_cvat(store, p)
            return importers.import_coco(store, p)

        self.session.write(work, lambda r: self._imported(r, f"Import masks from {p.name}"))

    def _imported(self, report: Any, label: str) -> None:
        if self.session is None:
            return
        self.session.history.record(getattr(report, "op_id", None), label)
        self.session._announce(None, True)
        self.status.say(label + ": " + "; ".join(report.lines()))

    def export_coco(self, path: str | Path | None = None) -> None:
        if self.session is None:
            return
        confirmed = path is None  # the save dialog asked before replacing a file
        if path is None:
            default = str(self.session.project.dir / "annotations.coco.json")
            path, _ = QFileDialog.getSaveFileName(self, "Export COCO RLE", default,
                                                  "COCO JSON (*.json)")
            if not path:
                return
        from annotator.core.export import export_coco

        store = self.session.store

        def run(ctx: Any) -> dict:
            r = export_coco(store, Path(path), overwrite=confirmed,
                            progress=lambda d, t: ctx.progress(d, t))
            return {"message": f"Exported {r['annotations']} masks on {r['images']} frames to "
                               f"{r['path']} (verified with pycocotools)", "path": r["path"]}

        self.session.start_job("Export COCO", run)

    def export_png(self, path: str | Path | None = None) -> None:
        """DAVIS / VOS layout: an indexed PNG for every frame (empty ones too), ids 1..N, the
        DAVIS palette and objects.json — what a DAVIS evaluator or a VOS trainer reads."""
        if self.session is None:
            return
        if path is None:
            path = QFileDialog.getExistingDirectory(
                self, "Export PNG masks (DAVIS layout) into an empty folder")
            if not path:
                return
        from annotator.core.export_files import TargetTaken
        from annotator.core.export_vos import export_davis

        store = self.session.store

        def run(ctx: Any) -> dict:
            try:
                r = export_davis(store, Path(path), progress=lambda d, t: ctx.progress(d, t))
            except TargetTaken:  # the window has no --overwrite: say what to do here
                raise TargetTaken(f"{path}: this folder holds other files, not an earlier "
                                  "export of this project; choose an empty or a new folder "
                                  "(New Folder in the dialog)") from None
            n = r["objects"]
            return {"message": f"Exported {r['frames']} PNG masks of {n} object"
                               f"{'' if n == 1 else 's'} (DAVIS layout, ids 1–{n}) to {r['path']}"}

        self.session.start_job("Export PNG masks", run)

    def export_cvat(self, path: str | Path | None = None) -> None:
        """CVAT for video 1.1 XML (upload it to CVAT as "CVAT for video 1.1")."""
        if self.session is None:
            return
        if path is None:
            default = str(self.session.project.dir / "annotations.cvat.xml")
            path, _ = QFileDialog.getSaveFileName(self, "Export CVAT for video 1.1", default,
                                                  "CVAT XML (*.xml)")
            if not path:
                return
        from annotator.core.cvat import export_cvat

        store = self.session.store

        def run(_ctx: Any) -> dict:
            # the save dialog already asked before replacing a file
            r = export_cvat(store, Path(path), overwrite=True)
            return {"message": f"Exported CVAT for video 1.1 to {r['path']}"}

        self.session.start_job("Export CVAT", run)

    def batch_projects(self, folders: list[str] | None = None) -> None:
        """Propagate all segments of several other projects, one after the other."""
        if self.session is None:
            self.status.say("Open a project first; the batch runs in its status bar.", True)
            return
        if folders is None:
            from annotator.gui.dialogs.batch_dialog import choose_projects

            folders = choose_projects(self)
            if not folders:
                return
        chosen = list(folders)
        self._start_job(f"Batch over {len(chosen)} projects",
                        lambda ctx: jobs.batch(chosen, ctx))
