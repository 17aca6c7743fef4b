"""The main window: canvas (or a dataset's table) in the centre, objects / segments / check
docks, timeline below. It only assembles. What the person looks at is the :class:`ViewState`
(frame, object, tool, comparison, hidden objects); the open project is a :class:`ProjectSession`
(the one writer and emitter, holding objects, segments and check list in memory); views listen
to both, and controllers act (projects, datasets, editing, propagating, reviewing, comparing,
files, errors). The commands are one table (:mod:`annotator.gui.actions`) laid out as menus.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from annotator import settings
from annotator.gui import places
from annotator.gui import settings as S
from annotator.gui.actions import Enabling, build_actions, commands
from annotator.gui.active_time import ActiveTimeRecorder
from annotator.gui.canvas import Canvas
from annotator.gui.canvas_feed import CanvasFeed
from annotator.gui.check_view import CheckView
from annotator.gui.compare_controller import CompareController
from annotator.gui.dataset_controller import DatasetController
from annotator.gui.dialogs import WindowDialogs
from annotator.gui.edit_controller import EditController
from annotator.gui.engines import engines_changed, show_engines
from annotator.gui.error_report import ErrorReporter
from annotator.gui.file_controller import FileController
from annotator.gui.menus import build_menus, build_toolbar, rebuild_recent
from annotator.gui.objects_panel import ObjectsPanel
from annotator.gui.playback import Playback
from annotator.gui.project_controller import ProjectController
from annotator.gui.prompt_controller import PromptController
from annotator.gui.propagation_controller import PropagationController
from annotator.gui.review_controller import ReviewController
from annotator.gui.reviewer_controller import ReviewerController
from annotator.gui.segments_panel import SegmentsPanel
from annotator.gui.session import ProjectSession
from annotator.gui.status_bar import StatusBar
from annotator.gui.timeline import Timeline
from annotator.gui.view_state import ViewState
from annotator.gui.window_layout import WindowLayout

DOCKS = (("objects", "Objects", Qt.DockWidgetArea.LeftDockWidgetArea),
         ("segments", "Audible segments", Qt.DockWidgetArea.LeftDockWidgetArea),
         ("check", "Check and re-annotate", Qt.DockWidgetArea.RightDockWidgetArea),
         ("timeline", "Timeline", Qt.DockWidgetArea.BottomDockWidgetArea))

FRAME = (16, 48)  # what a window manager's frame and title bar may add (width, height)


class MainWindow(QMainWindow):
    """AVS Annotator's window (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle("AVS Annotator")
        # a 1024×640 laptop gets a window that fits, its title bar and frame included (resize
        # sizes the inside; the window manager adds ~30 px above it)
        avail = self.screen().availableGeometry()
        self.resize(min(1400, avail.width() - FRAME[0]), min(860, avail.height() - FRAME[1]))
        self.move(avail.center() - self.rect().center())
        self.setAcceptDrops(True)
        self.session: Any = None
        self.dialog: QWidget | None = None  # the dialog the window has open (tests find it)
        self.prompt = self.feed = None
        self.objects_panel = self.segments_panel = self.check_view = self.timeline = None
        self.state = ViewState(self)
        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.docks: dict[str, QDockWidget] = {}
        for key, title, area in DOCKS:
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{key}")
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        self._build_controllers()
        self.canvas.point_clicked.connect(lambda x, y, pos: self._prompt("click", x, y, pos))
        self.canvas.stroke_finished.connect(lambda pts, r, erase:
                                            self._prompt("stroke", pts, r, erase))
        self.canvas.box_drawn.connect(lambda *corners: self._prompt("box", *corners))
        self.canvas.keyframe_drawn.connect(lambda *corners: self.edit.keyframe(*corners))
        self.state.frame_changed.connect(lambda f, _p: self.status.set_context(
            f, self.state.object_id))
        self.state.object_changed.connect(lambda oid: self.status.set_context(
            self.state.frame, oid))
        self.state.hidden_changed.connect(self.canvas.set_hidden)
        self.state.tool_changed.connect(self.canvas.set_tool)
        self.state.overlay_changed.connect(self.canvas.set_overlay)
        self.resizeDocks([self.docks["objects"], self.docks["check"]], [330, 290],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["timeline"]], [120], Qt.Orientation.Vertical)
        self.window_layout = WindowLayout(self, self.docks, self.toolbar, self.actions_)
        self._restore_layout()

    def _build_controllers(self) -> None:
        state, status = self.state, self.status
        self.playback = Playback(state, status, self)  # play with sound: the audio is the clock
        self.errors = ErrorReporter(status, self, lambda: self.dialogs.models(),
                                    lambda d: self.projects.relink_and_open(d))
        self.propagation = PropagationController(state, status, self, self.playback.pause)
        self.projects = ProjectController(status, self.canvas, self, lambda: self.session,
                                          self.propagation.may_close, self.errors.show_error)
        self.projects.opened.connect(self._opened)
        self.datasets = DatasetController(self, self.projects, status, lambda: self.session,
                                          self.close_project, self.errors.show_error)
        self.review = ReviewController(state, status, self.canvas, self, self._show_check,
                                       lambda: self.window_layout.shown("check"),
                                       self.propagation.repropagate_between_anchors)
        self.files = FileController(status, self, self.playback.pause)
        self.reviewer = ReviewerController(state, status, self.canvas, self, self._show_check,
                                           lambda: self.check_view)
        self.active_time = ActiveTimeRecorder(state, self)
        self.compare = CompareController(state, status, self.canvas, self, self.files,
                                         self._show_check, self.errors.show_error)
        self.edit = EditController(state, status, self.canvas, self)
        self.dialogs = WindowDialogs(self, lambda: self.actions_, self.status.engines_label.toolTip,
                                     self.errors.open_log_folder,
                                     lambda: engines_changed(self.session, self.status))
        parts = SimpleNamespace(
            projects=self.projects, datasets=self.datasets, files=self.files, edit=self.edit,
            review=self.review, compare=self.compare, reviewer=self.reviewer,
            propagation=self.propagation, state=state, playback=self.playback,
            canvas=self.canvas, dialogs=self.dialogs, timeline=lambda: self.timeline,
            close_project=self.close_project, quit=self.close)
        self.actions_ = build_actions(self, commands(parts))
        self.recent_menu = build_menus(self.menuBar(), self.actions_, self.docks)
        rebuild_recent(self.recent_menu, self.projects.open_path)
        self.toolbar = build_toolbar(self, self.actions_)
        self.addToolBar(self.toolbar)
        self.enabling = Enabling(self.actions_, state, self.playback, self)

    # -- the person's layout ---------------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = S.app_settings()
        for key, restore in (("window/geometry", self.restoreGeometry),
                             ("window/state", self.restoreState)):
            value = s.value(key)
            if isinstance(value, QByteArray | bytes):
                restore(value)
        self.canvas.set_brush_radius(settings.get("canvas.brush"))
        self.state.set_overlay(settings.get("canvas.overlay"), settings.get("canvas.opacity"))

    def save_layout(self) -> None:
        s = S.app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.sync()
        for key, value in (("canvas.brush", self.canvas.brush_radius),
                           ("canvas.overlay", self.state.overlay),
                           ("canvas.opacity", round(self.state.opacity, 2))):
            settings.remember(key, value)  # (a damaged settings file: a warning in the log)

    # -- a project opens ---------------------------------------------------------------------
    def open_path(self, path: str | Path | None = None) -> None:
        self.projects.open_path(path)

    def _opened(self, project: Any, video: Any, structure: Any) -> None:
        if self.session is not None:
            self.close_project(ask=False)
        self.attach(project, video, structure)

    def attach(self, project: Any, video: Any, structure: Any = None) -> None:
        """Show an open project (the window takes ownership and closes it later)."""
        session = self.session = ProjectSession(project, video, structure, self)
        # first, before anything queues work that may report (a broken model file)
        session.message.connect(self.status.say)
        session.failed.connect(self.errors.show_error)
        state = self.state
        with self.playback.quiet():
            state.reset(session.frame_count)
        self.feed = CanvasFeed(session, state, self.canvas, session)
        self.prompt = PromptController(session, state, self)
        self.objects_panel = ObjectsPanel(session, state)
        self.segments_panel = SegmentsPanel(session, state)
        self.check_view = CheckView(session, state)
        self.timeline = Timeline(session, state)
        for key, view in (("objects", self.objects_panel), ("segments", self.segments_panel),
                          ("check", self.check_view), ("timeline", self.timeline)):
            self.docks[key].setWidget(view)
        self.segments_panel.segment_activated.connect(lambda _sid: self.canvas.setFocus())
        self.timeline.delete_requested.connect(self.segments_panel.delete)
        self.prompt.points_changed.connect(self.canvas.set_points)
        self.prompt.box_changed.connect(self.canvas.set_box)
        self.prompt.view_ready.connect(self.feed.show_early)
        self.prompt.embedding_changed.connect(self._embedding_changed)
        self.prompt.candidate_changed.connect(lambda k, n: self.status.say(
            f"Candidate {k + 1} of {n} (Tab: next)", context=True))
        session.embedding_status.connect(self.status.set_embedding)
        session.job_finished.connect(lambda _o: self._show_engines())  # XMem may be loaded now
        state.frame_changed.connect(session.follow)
        for ctl in (self.propagation, self.files, self.enabling, self.playback, self.reviewer,
                    self.active_time):
            ctl.attach(session)
        self.review.attach(session, self.check_view, self.prompt)
        self.compare.attach(session, self.check_view)
        self.edit.attach(session, self.prompt)
        view_only = ("" if not session.readonly else " (view only: read-only)"
                     if not session.held_by else f" (view only: open in process {session.held_by})")
        self.setWindowTitle(f"{session.name}{view_only} — AVS Annotator")
        self._show_engines()
        S.add_recent(project.dir)
        rebuild_recent(self.recent_menu, self.projects.open_path)
        frame, oid = places.load(project.dir)
        with self.playback.quiet():  # no sound snippet for the place restored on opening
            state.go(oid if session.object(oid) is not None else state.object_id, frame)
        session.start_precompute()
        engines_changed(session, self.status)
        if session.held_by:
            self.status.say(f"{project.dir} is open for editing in process {session.held_by}: "
                            "shown view only here; close it there, then open it again here to "
                            "edit", msecs=20000)
        else:
            note = "; ".join(getattr(video, "notes", []) or [])
            self.status.say(f"Opened {project.dir}" + (f" — note: {note}" if note else ""))

    def _prompt(self, what: str, *args: Any) -> None:
        """A click or a stroke on the canvas: about the frame on screen."""
        self.playback.pause()
        if self.prompt is not None:
            getattr(self.prompt, what)(*args)

    def _embedding_changed(self, state: str) -> None:
        self.status.set_embedding(state)
        self.canvas.set_notice("Computing the image embedding of this frame… clicks are queued "
                               "and run as soon as it is ready." if state == "computing" else "")

    def _show_engines(self) -> None:
        show_engines(self.session, self.status)

    def _show_check(self) -> None:
        self.docks["check"].show()
        self.docks["check"].raise_()

    # -- closing -------------------------------------------------------------------------------
    def close_project(self, ask: bool = True) -> bool:
        """Close the project (its work is already in the store). False if the person declines."""
        session = self.session
        if session is None:
            return True
        if ask and not self.propagation.may_close():
            return False
        self.playback.detach()
        self.save_layout()
        places.save(session.project.dir, self.state.frame, self.state.object_id)
        for ctl in (self.propagation, self.review, self.compare, self.files, self.edit,
                    self.enabling, self.reviewer, self.active_time):
            ctl.detach()
        for key in self.docks:
            old = self.docks[key].widget()
            self.docks[key].setWidget(QWidget())
            if old is not None:
                old.deleteLater()
        self.feed.close()
        self.prompt.release()
        self.session = self.prompt = self.feed = None
        self.objects_panel = self.segments_panel = self.check_view = self.timeline = None
        session.close()
        session.deleteLater()
        with self.playback.quiet():
            self.state.reset(0)
        for name, empty in (("set_view", None), ("set_points", []), ("set_box", None),
                            ("set_hud", ""), ("set_preview", None)):
            getattr(self.canvas, name)(empty)
        self.setWindowTitle("AVS Annotator")
        self.status.reset()
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
            self.projects.open_path(urls[0])
