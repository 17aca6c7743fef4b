"""Review ▸ Compare with…: this project against another project or LU-AVS export of the same
video — the scores, and the frames where the two disagree most, walked in the check view.

A folder dialog (starting where the last import or export was, else beside the project) picks
the other side; the comparison runs on a thread of its own
(:func:`annotator.pipeline.disagreement.compare_sources`: this project through a read-only
connection of its own, the other opened read-only and refused, in one line naming it, when it
is unreadable or of another video). This project is the reference by default; the dialog can
swap them. The dialog (:class:`~annotator.gui.dialogs.compare_dialog.CompareDialog`) shows the
scores, the check view gets the runs as its second list, and while that list is the one walked
the canvas draws the other side's masks of the frame on screen as dashed outlines (read off the
GUI thread at each frame the person stops on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from annotator.errors import Cancelled, explain
from annotator.gui.canvas import Canvas
from annotator.gui.layers import mask_layer
from annotator.gui.status_bar import StatusBar
from annotator.gui.view_state import ViewState
from annotator.gui.workers import TaskRunner

TITLE = "Compare with: a project folder (.avsproj) or an LU-AVS export folder"


class _Relay(QObject):
    """Progress from the comparison's thread, delivered on the GUI thread."""

    progress = Signal(int, int, int)  # run, done, total


class CompareController(QObject):
    """The window's *Compare with…* (see the module docstring)."""

    def __init__(self, state: ViewState, status: StatusBar, canvas: Canvas, parent: QWidget,
                 files: Any, show_check: Callable[[], None],
                 show_error: Callable[[BaseException], None]) -> None:
        super().__init__(parent)
        self.state, self.status, self.canvas = state, status, canvas
        self.parent_widget = parent
        self.files = files  # where file dialogs start (start_dir / remember)
        self.show_check = show_check
        self.show_error = show_error
        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        self._runner = TaskRunner(pool, self)
        self._relay = _Relay(self)
        self._relay.progress.connect(self._progress)
        self.session: Any = None
        self.check_view: Any = None
        self.dialog: Any = None
        self.path: Path | None = None
        self.reference = "this"
        self.result: Any = None  # the Comparison shown
        self.other: Any = None  # the other side, open while its masks are drawn
        self._run = 0  # the comparison asked for last; older answers are dropped
        self._cancel: threading.Event | None = None
        self._drawn = 0  # the overlay asked for last
        state.frame_changed.connect(self._frame)
        state.hidden_changed.connect(lambda *_: self._draw())
        state.object_changed.connect(lambda *_: self._draw())

    def attach(self, session: Any, check_view: Any) -> None:
        self.session, self.check_view = session, check_view
        session.masks_changed.connect(self._project_changed)
        session.segments_changed.connect(self._project_changed)
        check_view.source_changed.connect(lambda *_: self._draw())

    def detach(self) -> None:
        self._stop()
        self._forget()
        if self.dialog is not None:
            self.dialog.close()
        self.session = self.check_view = None

    # -- the command -------------------------------------------------------------------------
    def compare_with(self, path: str | Path | None = None) -> None:
        """Ask for the other side (a folder), then compare; ``path`` skips the dialog."""
        if self.session is None:
            return
        if path is None:
            path = QFileDialog.getExistingDirectory(self.parent_widget, TITLE,
                                                    self.files.start_dir())
            if not path or self.session is None:
                return
        self.path = Path(path)
        self.files.remember(self.path.parent)
        self.reference = "this"
        self._open_dialog()
        self.start()

    def _open_dialog(self) -> None:
        from annotator.gui.dialogs.compare_dialog import CompareDialog

        if self.dialog is not None:
            self.dialog.close()
        win = self.parent_widget
        dlg = self.dialog = CompareDialog(self.path.name, win)
        win.dialog = dlg
        dlg.walk.connect(self.walk)
        dlg.again.connect(self.start)
        dlg.reference_changed.connect(self._swap)

        def closed(_r: int) -> None:
            if getattr(win, "dialog", None) is dlg:
                win.dialog = None
            if self.dialog is dlg:
                self.dialog = None
            dlg.deleteLater()
            win.activateWindow()  # the keys (F) go to the window again

        dlg.finished.connect(closed)
        dlg.show()

    def _swap(self, reference: str) -> None:
        self.reference = reference
        self.start()

    def start(self) -> None:
        """(Re)compute the comparison with :attr:`path` on the comparison's thread."""
        session, path, reference = self.session, self.path, self.reference
        if session is None or path is None:
            return
        from annotator.pipeline.disagreement import compare_sources

        self._stop()
        self._run += 1
        run, cancel, relay = self._run, threading.Event(), self._relay
        self._cancel = cancel
        project_dir, last = session.project.dir, [0.0]
        if self.dialog is not None:
            self.dialog.show_running(0, 0)
        self.status.say(f"Comparing with {path}…")

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - last[0] >= 0.1:
                last[0] = now
                relay.progress.emit(run, done, total)

        def work() -> tuple:
            return compare_sources(project_dir, path, reference=reference, progress=progress,
                                   cancel=cancel)

        self._runner.submit(work, lambda r: self._done(run, session, r),
                            lambda exc: self._failed(run, exc))

    def _stop(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None

    def _progress(self, run: int, done: int, total: int) -> None:
        if run == self._run and self.dialog is not None:
            self.dialog.show_running(done, total)

    def _done(self, run: int, session: Any, result: tuple) -> None:
        comp, other = result
        if run != self._run or session is not self.session:
            self._runner.submit(other.close)  # stale: a newer comparison or another project
            return
        self._forget()
        self.result, self.other = comp, other
        self._cancel = None
        runs, frames = len(comp.checks.clips), comp.disagreeing_frames
        if self.dialog is not None:
            self.dialog.show_scores(comp.scores, self.reference, runs, frames)
        self.check_view.set_comparison(comp, other.name, self.reference)
        self.show_check()
        self.status.say(f"Compared with {other.path}: m_tIoU "
                        f"{100 * comp.scores.overall['m_tIoU']:.1f} %, {runs} stretches over "
                        f"{frames} frames disagree (the check view lists them, worst first)")
        self._draw()

    def _failed(self, run: int, exc: BaseException) -> None:
        if isinstance(exc, Cancelled) or run != self._run:
            return
        self._cancel = None
        user = explain(exc, self.path)
        if user is None:  # a bug: the error dialog with its traceback
            if self.dialog is not None:
                self.dialog.show_error(f"Something went wrong: {exc}")
            self.show_error(exc)
            return
        from annotator import logs

        logs.report(exc, "Compare with", getattr(exc, "__gui_traceback__", None),
                    level=logging.INFO, stderr=False)
        if self.dialog is not None:
            self.dialog.show_error(str(user))
        self.status.say(str(user), True, 12000)

    def _forget(self) -> None:
        """Drop the comparison shown (the other side is closed off the GUI thread)."""
        if self.other is not None:
            self._runner.submit(self.other.close)
        self.result = self.other = None
        self.canvas.set_others([])
        if self.check_view is not None:
            self.check_view.set_comparison(None)

    def walk(self) -> None:
        """The dialog's *Walk*: the check view forward, on the worst disagreement."""
        if self.check_view is None or self.result is None:
            return
        self.show_check()
        self.check_view.first()
        self.parent_widget.activateWindow()
        self.canvas.setFocus()

    def _project_changed(self, *_: Any) -> None:
        if self.result is not None:
            self.check_view.set_comparison_stale()
            if self.dialog is not None:
                self.dialog.set_stale()

    # -- the other side's masks on the canvas --------------------------------------------------
    def _say_here(self, frame: int) -> None:
        """The frame's IoU with the other side, in the status bar (until the person moves)."""
        oid = self.state.object_id
        iou = self.result.iou.get((oid, frame))
        obj = self.session.object(oid)
        what = f"Frame {frame}" + (f", {obj.name}" if obj is not None else "")
        self.status.say(f"{what}: IoU {iou:.2f} with {self.other.name} (its masks dashed)"
                        if iou is not None else
                        f"{what}: {self.other.name}'s masks are drawn dashed", context=True)

    def _frame(self, _frame: int, playing: bool) -> None:
        if not playing:  # while playing, only the frame the person stops on is read
            self._draw()

    def _draw(self) -> None:
        self._drawn += 1
        request, other, session = self._drawn, self.other, self.session
        if (other is None or session is None or self.check_view is None
                or self.check_view.walking != "compare"):
            self.canvas.set_others([])
            return
        frame, hidden = self.state.frame, self.state.hidden
        colors = {o.id: o.color for o in session.objects}
        objects = list(other.objects)

        def work() -> list:
            layers = []
            for i, mask in other.masks_at(frame):
                if objects[i] not in hidden:
                    layer = mask_layer(mask, colors.get(objects[i], "#ffffff"), dashed=True)
                    if layer is not None:
                        layers.append(layer)
            return layers

        def done(layers: list) -> None:
            if request == self._drawn and self.other is other:
                self.canvas.set_others(layers, frame)
                self._say_here(frame)  # (after the window dropped the last frame's words)

        session.run(work, done)
