"""The main window: canvas in the centre, objects / segments / check docks, timeline below.

The window keeps only view state (current frame, current object, zoom, which objects are
hidden). Everything else is read from the store through the session, off the GUI thread, and
repainted when the session says the store changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent, QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QWidget

from annotator.errors import UserError
from annotator.gui import settings as S
from annotator.gui.canvas import Canvas
from annotator.gui.error_report import ErrorReport
from annotator.gui.file_ops import FileOps
from annotator.gui.menus import build_actions, build_menus, build_toolbar
from annotator.gui.propagation_ops import PropagationOps
from annotator.gui.review_ops import ReviewOps
from annotator.gui.segments_panel import fmt_time
from annotator.gui.session import ProjectSession
from annotator.gui.status_bar import StatusBar

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


class MainWindow(PropagationOps, ReviewOps, FileOps, ErrorReport, QMainWindow):
    """AVS Annotator's window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle("AVS Annotator")
        avail = self.screen().availableGeometry()  # a 1024×640 laptop gets a window that fits
        self.resize(min(1400, avail.width()), min(860, avail.height()))
        self.setAcceptDrops(True)
        self.session: ProjectSession | None = None
        self.dialog: QWidget | None = None  # the dialog the window has open (tests find it)
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
        from annotator.gui.playback import Playback

        self.playback = Playback(self)  # play with sound: the audio is the clock
        self.resizeDocks([self.docks["objects"], self.docks["check"]], [330, 290],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["timeline"]], [120], Qt.Orientation.Vertical)
        from annotator.gui.window_layout import WindowLayout

        self.window_layout = WindowLayout(self)  # docks tab and toolbar shrinks on small screens
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
        from annotator import settings

        self.canvas.set_brush_radius(settings.get("canvas.brush"))

    def save_layout(self) -> None:
        s = S.app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        from annotator import settings

        settings.remember("canvas.brush", self.canvas.brush_radius)
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
        elif path.name and path.is_dir() and is_project(path.with_name(path.name + ".avsproj")):
            self._open_with(ProjectSession.open_project, path.with_name(path.name + ".avsproj"))
        else:
            self._open_with(ProjectSession.create_project, path)

    def new_project(self, video: str | Path | None = None) -> None:
        """Ask for the video and where its project goes (default beside the video, or the
        per-user projects folder when that cannot be written to), then create and open it."""
        from annotator.gui.dialogs.new_project_dialog import NewProjectDialog

        dlg = NewProjectDialog(self, video or "")
        self.dialog = dlg
        dlg.accepted.connect(lambda: self._create(*dlg.values()))
        dlg.finished.connect(lambda _r: self._dialog_closed(dlg))
        dlg.open()

    def _dialog_closed(self, dlg: QWidget) -> None:
        if self.dialog is dlg:
            self.dialog = None
        dlg.deleteLater()

    def _create(self, video: Path, location: Path) -> None:
        self._open_with(lambda _p: ProjectSession.create_project(video, location), location,
                        f"Could not create a project from {video.name}")

    def _open_with(self, fn: Any, path: Path, what: str = "") -> None:
        """Open in the background; only once that worked is the current project closed, so a
        failed open or create leaves it open. ``what`` heads an error (default: "Could not
        open PATH")."""
        if self._opening:
            return
        current = self.session
        if current is not None:
            if Path(path).resolve() == current.project.dir.resolve():
                self.status.say(f"{current.project.dir} is already open.")
                return
            if not self._may_close():
                return
        self._opening = True
        if current is None:
            self.canvas.set_view(None)
            self.canvas.set_notice(f"Opening {path}…")
        self.status.say(f"Opening {path}…")

        def done(result: tuple) -> None:
            self._opening = False
            self.canvas.set_notice("")
            if self.session is not None:
                self.close_project(ask=False)
            self.attach(*result)

        def failed(exc: BaseException) -> None:
            self._opening = False
            self.canvas.set_notice("")
            from annotator.core.project import is_project

            self.show_error(exc, context=(what or f"Could not open {path}")
                            + (f"; {current.project.dir.name} stays open" if current else ""),
                            project_dir=path if is_project(path) else None)

        self._opener.submit(lambda: fn(path), done, failed)

    def attach(self, project: Any, video: Any) -> None:
        """Show an open project (the window takes ownership and closes it later)."""
        session = ProjectSession(project, video, self)
        self.session = session
        self.playback.attach(session)
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
        self.segments_panel.where = lambda: (self.object_id, self.frame)
        self.timeline.frame_requested.connect(self.go_to)
        self.timeline.delete_requested.connect(self.segments_panel.delete)
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
        held_by = session.store.held_by
        view_only = ("" if not session.store.readonly else " (view only: read-only)"
                     if not held_by else f" (view only: open in process {held_by})")
        self.setWindowTitle(f"{session.name}{view_only} — AVS Annotator")
        self._show_engines()
        S.add_recent(project.dir)
        self._rebuild_recent()
        self.frame = 0
        with self.playback.quiet():  # no sound snippet for the place restored on opening
            self._restore_place(session)
        self._update_enabled()
        self._precompute_embeddings()
        session.write(session.segmenter, lambda seg: self._segmenter_ready())
        note = "; ".join(getattr(video, "notes", []) or [])
        if held_by:
            self.status.say(f"{project.dir} is open for editing in process {held_by}: shown "
                            "view only here; close it there, then open it again here to edit",
                            msecs=20000)
        else:
            self.status.say(f"Opened {project.dir}" + (f" — note: {note}" if note else ""))

    # -- where the person was: view state, per person, so QSettings keyed by the project path
    # (the project file holds annotations and may be shared or read-only; nothing is written
    # to it just because someone looked at a frame)
    @staticmethod
    def _place_key(session: ProjectSession) -> str:
        import hashlib

        path = str(Path(session.project.dir).resolve())
        return "places/" + hashlib.sha1(path.encode()).hexdigest()[:16]

    def _save_place(self, session: ProjectSession) -> None:
        s, key = S.app_settings(), self._place_key(session)
        s.setValue(f"{key}/path", str(Path(session.project.dir).resolve()))
        s.setValue(f"{key}/frame", int(self.frame))
        s.setValue(f"{key}/object", -1 if self.object_id is None else int(self.object_id))
        s.sync()

    def _restore_place(self, session: ProjectSession) -> None:
        """The frame and object last viewed in this project (frame 0 the first time)."""
        s, key = S.app_settings(), self._place_key(session)
        frame, oid = int(s.value(f"{key}/frame", 0)), int(s.value(f"{key}/object", -1))
        self.go_to(frame)
        if oid < 0:
            return
        store = session.store

        def chosen(exists: bool) -> None:
            if exists and session is self.session and self.objects_panel is not None:
                self.objects_panel.select(oid)

        session.run(lambda: any(o.id == oid for o in store.objects()), chosen)

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

    def _may_close(self) -> bool:
        """Ask before closing a project whose job is still running (False: the person said no)."""
        session = self.session
        if session is None or session.job is None:
            return True
        yes = QMessageBox.StandardButton.Yes
        box = QMessageBox(
            QMessageBox.Icon.Question, "A job is running",
            f"“{session.job.title}” is still running. Stop it and close the project? "
            "Frames already done are kept and the job can be run again later.",
            yes | QMessageBox.StandardButton.No, self)
        # a job that ends while the person reads the question leaves nothing to stop: the
        # box closes itself and the project closes, as asked (it stayed, asking about a job
        # long done)
        ended = session.job_finished.connect(lambda _result: box.done(yes))
        self.dialog = box
        try:
            return box.exec() == yes
        finally:
            session.job_finished.disconnect(ended)
            if self.dialog is box:
                self.dialog = None

    def close_project(self, ask: bool = True) -> bool:
        """Close the project (its work is already in the store). False if the user declines."""
        session = self.session
        if session is None:
            return True
        if ask and not self._may_close():
            return False
        self.playback.detach()
        self.save_layout()
        self._save_place(session)
        for key in ("objects", "segments", "check", "timeline"):
            w = self.docks[key].widget()
            self.docks[key].setWidget(QWidget())
            if w is not None:
                w.deleteLater()
        self.session = None
        self.prompt = None
        self.objects_panel = self.segments_panel = self.check_view = self.timeline = None
        # a frame still loading belongs to the closed session, whose callbacks never come:
        # the next project must not wait for it
        self._loading, self._want = False, None
        session.close()
        session.deleteLater()
        self.canvas.set_view(None)
        self.canvas.set_points([])
        self.canvas.set_hud("")
        self.setWindowTitle("AVS Annotator")
        self.status.reset()
        self._update_enabled()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.close_project():
            self.save_layout()
            self.playback.shut()
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
    def go_to(self, frame: int, playing: bool = False) -> None:
        """Show ``frame``; ``playing``: playback moves on (no embedding, no snippet)."""
        if self.session is None:
            return
        frame = max(0, min(self.session.frame_count - 1, int(frame)))
        changed = frame != self.frame
        if changed:
            self.set_compare(False)
        self.frame = frame
        if not playing:
            self.session.precompute_now(frame)  # the frame under the cursor is embedded first
        if self.timeline:
            self.timeline.set_frame(frame)
        if self.check_view:
            self.check_view.set_frame(frame)
        if self.prompt and not playing:
            self.prompt.set_target(self.object_id, frame)
        self._update_hud()
        self._request_view(frame)
        if not playing:
            self.playback.moved(frame, changed)

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
        self.status.set_context(self.frame, self.object_id)

    def toggle_play(self) -> None:
        self.playback.toggle()

    def first_frame(self) -> None:
        self.go_to(0)

    def last_frame(self) -> None:
        if self.session:
            self.go_to(self.session.frame_count - 1)

    # -- prompting -----------------------------------------------------------------------------
    def _clicked(self, x: float, y: float, positive: bool) -> None:
        self.playback.pause()  # a click is about the frame on screen
        if self.prompt:
            self.prompt.click(x, y, positive)

    def _stroked(self, points: list, radius: int, erase: bool) -> None:
        self.playback.pause()
        if self.prompt:
            self.prompt.stroke(points, radius, erase)

    def _candidate_changed(self, k: int, n: int) -> None:
        self.status.say(f"Candidate {k + 1} of {n} (Tab: next)", context=True)

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
        session, oid, frame = self.session, self.object_id, self.frame
        if session is None or oid is None:
            self.prompt.accept(after=self._after_accept)  # it says what is missing
            return
        from annotator import settings
        from annotator.core.guards import anchor_concern

        factor = settings.get("guards.area_factor")
        # on the serial thread, so a click still being computed is part of what is checked
        session.write(lambda: anchor_concern(session.store, oid, frame, factor),
                      lambda concern: self._accept_checked(session, oid, frame, concern))

    def _accept_checked(self, session: Any, oid: int, frame: int, concern: str | None) -> None:
        """Accept at once, or ask first when the mask looks wrong for an anchor."""
        if session is not self.session or (oid, frame) != (self.object_id, self.frame):
            return  # the person moved on meanwhile: nothing to accept here any more
        if concern is None:
            self.prompt.accept(after=self._after_accept)
            return
        from annotator.gui.ask import ask

        def accept_anyway() -> None:
            if session is self.session and (oid, frame) == (self.object_id, self.frame):
                self.prompt.accept(after=self._after_accept)

        ask(self, "Accept this mask as an anchor?", concern,
            "Propagation starts from anchors and never changes them. Fix the mask first "
            "(clicks, brush) or accept it anyway.", "Accept anyway", accept_anyway)

    def _after_accept(self) -> None:
        """In the check view, a fix re-propagates up to the neighbouring anchors."""
        session = self.session
        if (session is None or self.check_view is None or self.object_id is None
                or not self.window_layout.shown("check")
                or not self.check_view.auto_repropagate.isChecked()):
            return
        seg = self.current_segment()
        if seg is not None and any(not m.anchor for m in
                                   session.store.masks_of(self.object_id, seg.start, seg.end)):
            self.repropagate_between_anchors()

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
