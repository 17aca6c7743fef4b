"""The main window: canvas in the centre, objects / segments / check docks, timeline below.

The window keeps only view state (current frame, current object, zoom, which objects are
hidden). Everything else is read from the store through the session, off the GUI thread, and
repainted when the session says the store changed.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QWidget

from annotator.errors import UserError
from annotator.gui import jobs
from annotator.gui import settings as S
from annotator.gui.canvas import Canvas
from annotator.gui.layers import mask_layer
from annotator.gui.menus import build_actions, build_menus, build_toolbar
from annotator.gui.segments_panel import fmt_time
from annotator.gui.session import ProjectSession
from annotator.gui.status_bar import StatusBar

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


class MainWindow(QMainWindow):
    """AVS Annotator's window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle("AVS Annotator")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.session: ProjectSession | None = None
        self.prompt = None
        self.objects_panel = None
        self.segments_panel = None
        self.check_view = None
        self.timeline = None
        self.frame = 0
        self.object_id: int | None = None
        self.last_error: str | None = None
        self._opening = False
        self._loading = False
        self._want: int | None = None
        self._version = 0
        self._compare = False
        from PySide6.QtCore import QThreadPool

        from annotator.gui.workers import TaskRunner

        self._open_pool = QThreadPool(self)
        self._open_pool.setMaxThreadCount(1)
        self._opener = TaskRunner(self._open_pool, self)  # opening projects (slow: fingerprint, index)
        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.status.cancel_requested.connect(self.cancel_job)
        self.docks: dict[str, QDockWidget] = {}
        for key, title, area in (("objects", "Objects", Qt.DockWidgetArea.LeftDockWidgetArea),
                                 ("segments", "Audible segments", Qt.DockWidgetArea.LeftDockWidgetArea),
                                 ("check", "Check and re-annotate", Qt.DockWidgetArea.RightDockWidgetArea),
                                 ("timeline", "Timeline", Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{key}")
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        self.actions_ = build_actions(self)
        build_menus(self, self.actions_)
        self.toolbar = build_toolbar(self, self.actions_)
        self.canvas.point_clicked.connect(self._clicked)
        self.canvas.stroke_finished.connect(self._stroked)
        self._play = QTimer(self)
        self._play.timeout.connect(self._play_tick)
        self.resizeDocks([self.docks["objects"], self.docks["check"]], [330, 290],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["timeline"]], [120], Qt.Orientation.Vertical)
        self._restore_layout()
        self._update_enabled()

    # -- settings ------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = S.app_settings()
        geo = s.value("window/geometry")
        state = s.value("window/state")
        if isinstance(geo, QByteArray | bytes):
            self.restoreGeometry(geo)
        if isinstance(state, QByteArray | bytes):
            self.restoreState(state)
        self.canvas.set_brush_radius(int(s.value("canvas/brush", 12)))

    def save_layout(self) -> None:
        s = S.app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("canvas/brush", self.canvas.brush_radius)
        s.sync()

    # -- opening and closing -------------------------------------------------------------------
    def open_path(self, path: str | Path | None = None) -> None:
        """Open a project folder, or a video (creating ``VIDEO.avsproj`` beside it)."""
        if path is None:
            path = QFileDialog.getExistingDirectory(self, "Open an AVS Annotator project")
            if not path:
                return
        from annotator.core.project import is_project

        path = Path(path)
        if is_project(path):
            self._open_with(ProjectSession.open_project, path)
        elif path.is_dir() and is_project(path.with_name(path.name + ".avsproj")):
            self._open_with(ProjectSession.open_project, path.with_name(path.name + ".avsproj"))
        else:
            self._open_with(ProjectSession.create_project, path)

    def new_project(self, video: str | Path | None = None) -> None:
        if video is None:
            video, _ = QFileDialog.getOpenFileName(
                self, "New project from video", "",
                "Videos (*.mp4 *.mkv *.avi *.mov *.webm *.m4v);;All files (*)")
            if not video:
                return
        self._open_with(ProjectSession.create_project, Path(video))

    def _open_with(self, fn: Any, path: Path) -> None:
        if self._opening:
            return
        if self.session is not None and not self.close_project():
            return
        self._opening = True
        self.canvas.set_view(None)
        self.canvas.set_notice(f"Opening {path}…")
        self.status.say(f"Opening {path}…")
        def done(result: tuple) -> None:
            self._opening = False
            self.canvas.set_notice("")
            self.attach(*result)

        def failed(exc: BaseException) -> None:
            self._opening = False
            self.canvas.set_notice("")
            self.show_error(exc, context=f"Could not open {path}")

        self._opener.submit(lambda: fn(path), done, failed)

    def attach(self, project: Any, video: Any) -> None:
        """Show an open project (the window takes ownership and closes it later)."""
        session = ProjectSession(project, video, self)
        self.session = session
        from annotator.gui.check_view import CheckView
        from annotator.gui.objects_panel import ObjectsPanel
        from annotator.gui.prompt_controller import PromptController
        from annotator.gui.segments_panel import SegmentsPanel
        from annotator.gui.timeline import Timeline

        self.prompt = PromptController(session, self)
        self.objects_panel = ObjectsPanel(session)
        self.segments_panel = SegmentsPanel(session)
        self.check_view = CheckView(session)
        self.timeline = Timeline(session)
        self.docks["objects"].setWidget(self.objects_panel)
        self.docks["segments"].setWidget(self.segments_panel)
        self.docks["check"].setWidget(self.check_view)
        self.docks["timeline"].setWidget(self.timeline)
        self.objects_panel.object_selected.connect(self.set_object)
        self.objects_panel.hidden_changed.connect(self.canvas.set_hidden)
        self.segments_panel.segment_activated.connect(self.go_to_segment)
        self.timeline.frame_requested.connect(self.go_to)
        self.check_view.goto.connect(self._goto_flag)
        self.check_view.compare_changed.connect(self.set_compare)
        self.check_view.use_shown.connect(self.use_shown_mask)
        self.check_view.mark.connect(self.mark_current_segment)
        self.prompt.points_changed.connect(self.canvas.set_points)
        self.prompt.view_ready.connect(self._view_ready)
        self.prompt.embedding_changed.connect(self._embedding_changed)
        self.prompt.candidate_changed.connect(self._candidate_changed)
        session.masks_changed.connect(self._masks_changed)
        session.message.connect(self.status.say)
        session.failed.connect(self.show_error)
        session.job_started.connect(self._job_started)
        session.job_progress.connect(self.status.job_progress)
        session.job_finished.connect(self._job_finished)
        session.busy_changed.connect(self._update_enabled)
        session.history.canUndoChanged.connect(self._update_enabled)
        session.history.canRedoChanged.connect(self._update_enabled)
        session.history.indexChanged.connect(self._update_enabled)
        session.objects_changed.connect(self._objects_changed)
        session.embedding_status.connect(self.status.set_embedding)
        self.setWindowTitle(f"{session.name} — AVS Annotator")
        self._show_engines()
        S.add_recent(project.dir)
        self._rebuild_recent()
        self.frame = 0
        self.go_to(0)
        self._update_enabled()
        self._precompute_embeddings()
        session.write(session.segmenter, lambda seg: self._segmenter_ready())
        note = "; ".join(getattr(video, "notes", []) or [])
        self.status.say(f"Opened {project.dir}" + (f" — note: {note}" if note else ""))

    def _show_engines(self) -> None:
        from annotator.gui.engines import summary

        seg = self.session.loaded_segmenter if self.session is not None else None
        self.status.set_engines(*summary(seg), self._device())

    def _device(self) -> str:
        from annotator.gui.engines import device_label

        return device_label()

    def _segmenter_ready(self) -> None:
        if self.session is None:
            return
        self._show_engines()

    def _precompute_embeddings(self) -> None:
        """Embed every segment's first frame in the background, before anyone asks."""
        session = self.session
        if session is None:
            return
        starts = sorted({s.start for s in session.store.segments()})
        session.write(lambda: session.start_precompute(starts), None, lambda exc: None)

    def close_project(self) -> bool:
        """Close the project (its work is already in the store). False if the user declines."""
        session = self.session
        if session is None:
            return True
        if session.job is not None:
            answer = QMessageBox.question(
                self, "A job is running",
                f"“{session.job.title}” is still running. Stop it and close the project? "
                "Frames already done are kept and the job can be run again later.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self._play.stop()
        self.save_layout()
        for key in ("objects", "segments", "check", "timeline"):
            w = self.docks[key].widget()
            self.docks[key].setWidget(QWidget())
            if w is not None:
                w.deleteLater()
        self.session = None
        self.prompt = None
        self.objects_panel = self.segments_panel = self.check_view = self.timeline = None
        session.close()
        session.deleteLater()
        self.canvas.set_view(None)
        self.canvas.set_points([])
        self.canvas.set_hud("")
        self.setWindowTitle("AVS Annotator")
        self.status.set_engines("no project")
        self._update_enabled()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.close_project():
            self.save_layout()
            event.accept()
        else:
            event.ignore()

    # -- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    # -- navigation ----------------------------------------------------------------------------
    def go_to(self, frame: int) -> None:
        if self.session is None:
            return
        frame = max(0, min(self.session.frame_count - 1, int(frame)))
        if frame != self.frame:
            self.set_compare(False)
        self.frame = frame
        if self.timeline:
            self.timeline.set_frame(frame)
        if self.check_view:
            self.check_view.set_frame(frame)
        if self.prompt:
            self.prompt.set_target(self.object_id, frame)
        self._update_hud()
        self._request_view(frame)

    def step(self, delta: int) -> None:
        self.go_to(self.frame + delta)

    def _request_view(self, frame: int) -> None:
        self._want = frame
        if self._loading or self.session is None:
            return
        self._loading = True
        session, version = self.session, self._version

        def done(view: Any) -> None:
            self._loading = False
            if self.session is not session:
                return
            self.canvas.set_view(view)
            if self._want != view.index or self._version != version:
                self._request_view(self._want)
            else:
                self._want = None

        def failed(exc: BaseException) -> None:
            self._loading = False
            self._want = None
            self.show_error(exc, context=f"Could not show frame {frame}")

        session.run(lambda: session.frame_view(frame), done, failed)

    def _view_ready(self, view: Any) -> None:
        if view.index == self.frame and not self._loading:
            self.canvas.set_view(view)

    def _masks_changed(self, keys: Any) -> None:
        if keys is None or any(int(k[1]) == self.frame for k in keys):
            self._version += 1
            self._request_view(self.frame)
            if self._compare:
                self.set_compare(True)

    def go_to_segment(self, segment_id: int) -> None:
        """Stage 1: the segment's first frame, its object selected, ready for clicks."""
        if self.session is None:
            return
        seg = self.session.store.segment(segment_id)
        self.set_object(seg.object_id)
        if self.objects_panel:
            self.objects_panel.select(seg.object_id)
        self.go_to(seg.start)
        self.canvas.setFocus()

    def set_object(self, oid: int | None) -> None:
        self.object_id = oid
        if self.timeline:
            self.timeline.set_current_object(oid)
        if self.prompt:
            self.prompt.set_target(oid, self.frame)
        if self.session is not None and oid is not None:
            try:
                self.canvas.active_color = QColor(self.session.store.object(oid).color)
            except UserError:
                pass
        self._update_hud()

    def select_object_key(self, n: int) -> None:
        if self.objects_panel is None:
            return
        oid = self.objects_panel.object_at_key(n)
        if oid is None:
            self.status.say(f"There is no object {n}: add one in the Objects panel.", True)
            return
        self.objects_panel.select(oid)

    def _objects_changed(self) -> None:
        if self.session is None or self.object_id is None:
            return
        if self.object_id not in {o.id for o in self.session.store.objects()}:
            self.set_object(None)
        else:
            self.set_object(self.object_id)

    def _update_hud(self) -> None:
        if self.session is None:
            return
        s = self.session
        name = ""
        if self.object_id is not None:
            try:
                name = s.store.object(self.object_id).name
            except UserError:
                name = ""
        text = f"frame {self.frame} / {s.frame_count - 1} · {fmt_time(s.time_of(self.frame))}"
        if name:
            segs = [g for g in s.store.segments(self.object_id) if self.frame in g]
            where = f"segment {segs[0].start}–{segs[0].end}" if segs else "not audible here"
            text += f" · {name} ({where})"
        self.canvas.set_hud(text)
        self.status.frame_label.setText(f"frame {self.frame}")

    def toggle_play(self) -> None:
        if self._play.isActive():
            self._play.stop()
            return
        if self.session is None:
            return
        self._play.start(max(10, int(1000 / self.session.fps)))

    def _play_tick(self) -> None:
        if self.session is None or self.frame >= self.session.frame_count - 1:
            self._play.stop()
            return
        if not self._loading:
            self.go_to(self.frame + 1)

    def first_frame(self) -> None:
        self.go_to(0)

    def last_frame(self) -> None:
        if self.session:
            self.go_to(self.session.frame_count - 1)

    # -- prompting -----------------------------------------------------------------------------
    def _clicked(self, x: float, y: float, positive: bool) -> None:
        if self.prompt:
            self.prompt.click(x, y, positive)

    def _stroked(self, points: list, radius: int, erase: bool) -> None:
        if self.prompt:
            self.prompt.stroke(points, radius, erase)

    def _candidate_changed(self, k: int, n: int) -> None:
        self.status.say(f"Candidate {k + 1} of {n} (Tab: next)")

    def _embedding_changed(self, state: str) -> None:
        self.status.set_embedding(state)
        self.canvas.set_notice("Computing the image embedding of this frame… clicks are queued "
                               "and run as soon as it is ready." if state == "computing" else "")

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        for name in ("points", "brush", "eraser"):
            self.actions_[f"tool_{name}"].setChecked(name == tool)
        self.status.say({"points": "Points: left click object, right click background",
                         "brush": "Brush: drag to paint ([ and ] change the size)",
                         "eraser": "Eraser: drag to erase ([ and ] change the size)"}[tool])

    def brush_size(self, delta: int) -> None:
        self.canvas.set_brush_radius(self.canvas.brush_radius + delta)
        self.status.say(f"Brush radius {self.canvas.brush_radius} px")

    def accept(self) -> None:
        """Enter: the mask on screen becomes this frame's anchor (in the check view, a fix
        is then re-propagated up to the neighbouring anchors)."""
        if self.prompt is None:
            return
        if self._compare:
            self.use_shown_mask()
            return
        self.prompt.accept(after=self._after_accept)

    def _after_accept(self) -> None:
        """In the check view, a fix re-propagates up to the neighbouring anchors."""
        session = self.session
        if (session is None or self.check_view is None or self.object_id is None
                or not self.docks["check"].isVisible()
                or not self.check_view.auto_repropagate.isChecked()):
            return
        seg = self.current_segment()
        if seg is not None and any(not m.anchor for m in
                                   session.store.masks_of(self.object_id, seg.start, seg.end)):
            self.repropagate_between_anchors()

    # -- propagation ---------------------------------------------------------------------------
    def _start_job(self, title: str, fn: Any) -> None:
        session = self.session
        if session is None:
            return
        self._play.stop()
        session.start_job(title, fn)

    def current_segment(self) -> Any:
        if self.session is None:
            return None
        if self.object_id is not None:
            for s in self.session.store.segments(self.object_id):
                if self.frame in s:
                    return s
        if self.segments_panel and self.segments_panel.selected_id() is not None:
            return self.session.store.segment(self.segments_panel.selected_id())
        return None

    def propagate_current(self) -> None:
        seg = self.current_segment()
        if seg is None or self.session is None:
            self.status.say("No segment here: choose an object and a frame inside one of its "
                            "audible segments (or select a segment).", True)
            return
        project, sid = self.session.project, seg.id
        self._start_job(f"Propagate segment {seg.start}–{seg.end}",
                        lambda ctx: jobs.propagate_segments(project, [sid], ctx))

    def propagate_all(self) -> None:
        if self.session is None:
            return
        project = self.session.project
        self._start_job("Propagate all segments",
                        lambda ctx: jobs.propagate_segments(project, None, ctx))

    def propagate_from_here(self, direction: int) -> None:
        if self.session is None or self.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        project, oid, f = self.session.project, self.object_id, self.frame
        dirs = ("forward",) if direction > 0 else ("backward",)
        self._start_job(f"Propagate {dirs[0]} from frame {f}",
                        lambda ctx: jobs.repropagate(project, oid, f, ctx, dirs))

    def repropagate_between_anchors(self) -> None:
        if self.session is None or self.object_id is None:
            self.status.say("Choose an object first (1–9).", True)
            return
        project, oid, f = self.session.project, self.object_id, self.frame
        self._start_job(f"Re-propagate around frame {f}",
                        lambda ctx: jobs.repropagate(project, oid, f, ctx))

    def _job_started(self, job: Any) -> None:
        self.status.show_job(job.title)

    def cancel_job(self) -> None:
        if self.session is not None and self.session.cancel_job():
            self.status.cancel_btn.setEnabled(False)

    def _job_finished(self, result: Any) -> None:
        self.status.show_job(None)
        if not isinstance(result, dict):
            return
        if result.get("failed"):
            return
        for line in result.get("skipped", []):
            self.status.say(line, True, 12000)
        if "message" in result:
            self.status.say(result["message"])
        elif "frames" in result and not (result.get("skipped") and not result["frames"]):
            what = (f"{result['frames']} masks propagated"
                    + (f", {result['flagged']} flagged" if result.get("flagged") else ""))
            self.status.say(("Cancelled: " if result.get("cancelled") else "Done: ") + what
                            + (" (kept; propagate again to resume)"
                               if result.get("cancelled") else ""))

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

    # -- check view ----------------------------------------------------------------------------
    def show_check_view(self) -> None:
        self.docks["check"].show()
        self.docks["check"].raise_()
        if self.check_view:
            self.check_view.reload()

    def next_flag(self, direction: int = 1) -> None:
        if self.check_view is None:
            return
        if not self.docks["check"].isVisible():
            self.show_check_view()
        self.check_view.step(direction)

    def _goto_flag(self, oid: int, frame: int) -> None:
        if self.objects_panel:
            self.objects_panel.select(oid)
        self.set_object(oid)
        self.go_to(frame)

    def set_compare(self, on: bool) -> None:
        """Show the other version of the current mask: XMem's raw one or the refined one."""
        self._compare = bool(on)
        if self.check_view and self.check_view.compare_btn.isChecked() != self._compare:
            self.check_view.compare_btn.blockSignals(True)
            self.check_view.compare_btn.setChecked(self._compare)
            self.check_view.compare_btn.blockSignals(False)
        if not on or self.session is None or self.object_id is None:
            self.canvas.set_preview(None)
            if self.check_view:
                self.check_view.set_compare_text("")
            return
        store, oid, frame, session = self.session.store, self.object_id, self.frame, self.session
        color = store.object(oid).color

        def work() -> tuple:
            revs = [r for r in store.revisions(oid, frame) if r.rle is not None]
            cur = store.mask(oid, frame)
            if cur is None or len(revs) < 2:
                return None, "No other version of this mask to compare with."
            others = [r for r in revs if r.rev_id != cur.rev_id]
            want = "propagated" if cur.source == "refined" else "refined"
            pick = next((r for r in reversed(others) if r.source == want), others[-1])
            return pick, (f"Showing the {pick.source} version (revision {pick.rev_id}) instead of "
                          f"the current {cur.source} one; Enter uses it, X switches back.")

        def done(result: tuple) -> None:
            rec, text = result
            if self.check_view:
                self.check_view.set_compare_text(text)
            if rec is None or not self._compare:
                self.canvas.set_preview(None)
                if rec is None:
                    self.status.say(text)
                return
            self.canvas.set_preview(mask_layer(rec.decode(), color, dashed=True), hides=oid)
            self._shown_rev = rec.rev_id

        session.run(work, done)

    def toggle_compare(self) -> None:
        self.set_compare(not self._compare)

    def use_shown_mask(self) -> None:
        """Make the version on screen (after X) this frame's anchor."""
        if self.session is None or self.object_id is None or not self._compare:
            if self.prompt:
                self.prompt.accept(after=self._after_accept)
            return
        store, rev_id = self.session.store, getattr(self, "_shown_rev", None)
        oid, frame = self.object_id, self.frame
        if rev_id is None:
            return

        def fn(op: int) -> list:
            rec = store.revision(rev_id)
            store.put_mask(oid, frame, rec.rle, source=rec.source, anchor=True, op=op)
            return [(oid, frame)]

        self.set_compare(False)
        self.session.apply("Use the other mask version as anchor", fn, "accept",
                           on_done=lambda _op: self._after_accept())

    def mark_current_segment(self, status: str) -> None:
        seg = self.current_segment()
        if seg is None or self.segments_panel is None:
            self.status.say("No segment here to mark.", True)
            return
        self.segments_panel.set_status(status, seg.id)

    # -- undo ----------------------------------------------------------------------------------
    def undo(self) -> None:
        if self.session is None:
            return
        if self.session.busy:
            self.status.say("Wait for the running work to finish (or cancel it) before undoing.",
                            True)
            return
        self.session.history.undo()

    def redo(self) -> None:
        if self.session is None:
            return
        if self.session.busy:
            self.status.say("Wait for the running work to finish before redoing.", True)
            return
        self.session.history.redo()

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
                path, _ = QFileDialog.getOpenFileName(self, "Import COCO RLE masks", "",
                                                      "COCO JSON (*.json)")
            if not path:
                return
        from annotator.core import importers

        store, p = self.session.store, Path(path)

        def work() -> Any:
            if p.is_dir():
                return importers.import_png_masks(store, p)
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
        if path is None:
            default = str(self.session.project.dir / "annotations.coco.json")
            path, _ = QFileDialog.getSaveFileName(self, "Export COCO RLE", default,
                                                  "COCO JSON (*.json)")
            if not path:
                return
        from annotator.core.export import export_coco

        store = self.session.store

        def run(ctx: Any) -> dict:
            r = export_coco(store, Path(path), progress=lambda d, t: ctx.progress(d, t))
            return {"message": f"Exported {r['annotations']} masks on {r['images']} frames to "
                               f"{r['path']} (verified with pycocotools)", "path": r["path"]}

        self.session.start_job("Export COCO", run)

    def export_png(self, path: str | Path | None = None) -> None:
        if self.session is None:
            return
        if path is None:
            path = QFileDialog.getExistingDirectory(self, "Export PNG masks into a folder")
            if not path:
                return
        from annotator.core.export import export_png

        store = self.session.store

        def run(ctx: Any) -> dict:
            r = export_png(store, Path(path), progress=lambda d, t: ctx.progress(d, t))
            return {"message": f"Exported {r['frames']} PNG masks to {r['path']}"}

        self.session.start_job("Export PNG masks", run)

    # -- errors --------------------------------------------------------------------------------
    def show_error(self, exc: BaseException, context: str = "") -> None:
        """Tell the person what happened and what to do; never leave a dead window."""
        text = str(exc) or type(exc).__name__
        self.last_error = text
        name = type(exc).__name__
        is_user = isinstance(exc, UserError)
        from annotator.engines.models import ModelFileError

        model_missing = isinstance(exc, ModelFileError)
        if model_missing:
            box = QMessageBox(QMessageBox.Icon.Warning, "Model file missing",
                              f"{context + ': ' if context else ''}{text}\n\nOpen the Models "
                              "dialog to find, verify or download the model files.",
                              QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Close,
                              self)
            box.button(QMessageBox.StandardButton.Open).clicked.connect(self.show_models)
            box.open()
        elif is_user and not context:
            self.status.say(text, True, 12000)
        elif is_user:
            box = QMessageBox(QMessageBox.Icon.Warning, "AVS Annotator", f"{context}.\n\n{text}",
                              QMessageBox.StandardButton.Ok, self)
            box.open()
        else:
            detail = getattr(exc, "__gui_traceback__", None) or "".join(
                traceback.format_exception(type(exc), exc, exc.__traceback__))
            box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                              f"{context + ': ' if context else ''}{name}: {text}\n\nYour work so "
                              "far is saved in the project. This is a bug: please report it "
                              "with the details below.", QMessageBox.StandardButton.Ok, self)
            box.setDetailedText(detail)
            box.open()
        self.status.say(text, True, 12000)

    # -- dialogs -------------------------------------------------------------------------------
    def show_preferences(self) -> None:
        from annotator.gui.dialogs.preferences import PreferencesDialog

        dlg = PreferencesDialog(self, self.actions_)
        dlg.open()

    def show_models(self) -> None:
        from annotator.gui.dialogs.models_dialog import ModelsDialog

        dlg = ModelsDialog(self)
        dlg.open()

    def show_shortcuts(self) -> None:
        from annotator.gui.dialogs.shortcuts import ShortcutsDialog

        ShortcutsDialog(self, self.actions_).open()

    def show_about(self) -> None:
        import annotator

        QMessageBox.about(self, "About AVS Annotator",
                          f"<b>AVS Annotator</b> {getattr(annotator, '__version__', '')}<br>"
                          "Pixel masks of sounding objects in long, untrimmed videos: "
                          "SAM clicks on the first frame, XMem propagation with SAM "
                          "refinement, a check view for the clips that failed.<br>"
                          f"Engines: {self.status.engines_label.toolTip()}")

    # -- recent projects -----------------------------------------------------------------------
    def _rebuild_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        for path in S.recent_projects():
            menu.addAction(path, lambda p=path: self.open_path(p))
        menu.setEnabled(bool(S.recent_projects()))

    # -- enabling ------------------------------------------------------------------------------
    def _update_enabled(self, *_args: Any) -> None:
        has = self.session is not None
        for act in self.actions_.values():
            if getattr(act, "_needs_project", False):
                act.setEnabled(has)
        if has:
            busy = self.session.busy
            self.actions_["undo"].setEnabled(self.session.history.canUndo() and not busy)
            self.actions_["redo"].setEnabled(self.session.history.canRedo() and not busy)
            self.actions_["cancel"].setEnabled(self.session.job is not None)
            for name, word, text in (("undo", "Undo", self.session.history.undoText()),
                                     ("redo", "Redo", self.session.history.redoText())):
                act = self.actions_[name]
                act.setText(f"&{word} {text}" if text else f"&{word}")
                act.setIconText(word)
                act.setToolTip(f"{word} {text} ({act.shortcut().toString()})" if text
                               else f"Nothing to {word.lower()}")
        else:
            self.actions_["undo"].setEnabled(False)
            self.actions_["redo"].setEnabled(False)
            self.actions_["cancel"].setEnabled(False)
