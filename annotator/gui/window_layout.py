"""How the main window fits its screen, from a 1024×640 laptop to 1920×1080 and up.

Measured on the demo (offscreen, the default style): the objects and segments docks need
346 px, the check view 349 px, the toolbar 1161 px with text on every button; side by side the
docks kept the window from being narrower than 1027 px and left the frame ~320 px. So:

- below :data:`WIDE` px the check view shares a tabbed dock with the audible segments (left,
  under the objects); from :data:`WIDE` px on it has its own column on the right. Only the two
  arrangements this module makes are switched: a dock the person moved, floated or closed stays
  where they put it.
- when the toolbar would not fit, undo/redo and the three tools show their icon only (their
  tooltips say what they are and their key); the commands keep their words.
- side by side the docks still need 1027 px, so a window at least :data:`WIDE` px wide that is
  asked for less than that in one step (a restore from maximised) stops at 1027 px, tabbed.
- in a short window (< 800 px) the timeline is as tall as its rows and no taller; below 720 px
  its sound rows are smaller (the waveform and the spectrogram still shown, the timeline at
  most 30% of the window's height). A taller window lets it grow to its rows (the waveform
  and the spectrogram whole). A person may drag it lower, down to the rows' floor: then the
  spectrogram goes and the waveform's row says how to get it back.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QTableView,
    QToolBar,
    QTreeView,
)

WIDE = 1500
ICON_ONLY_FIRST = ("undo", "redo", "tool_points", "tool_brush", "tool_eraser")
Area = Qt.DockWidgetArea


class WindowLayout(QObject):
    """Keeps the window's docks and toolbar fitted to its width (an event filter on it)."""

    def __init__(self, win: QMainWindow, docks: dict[str, QDockWidget], toolbar: QToolBar,
                 actions: dict[str, QAction]) -> None:
        super().__init__(win)
        self.win = win
        self.docks = docks
        self.toolbar = toolbar
        self.actions = actions
        self._busy = False
        self._first_show = True
        for dock in docks.values():  # a new project's panels arrive as the docks' children
            dock.installEventFilter(self)  # a new project's timeline asks for its height
        win.installEventFilter(self)
        # F / Shift+F / X work on the check view: bring it to the front when it is a tab
        for name in ("next_flag", "prev_flag", "other_version", "check_view"):
            actions[name].triggered.connect(self._raise_check)
        for dock in docks.values():  # View > a dock: shown in front, even as a tab
            dock.toggleViewAction().triggered.connect(
                lambda on, d=dock: on and QTimer.singleShot(0, d.raise_))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if self._busy:
            return False
        if obj is self.win and event.type() == QEvent.Type.Resize:
            self.fit(self.win.width())
        elif obj is self.win and event.type() == QEvent.Type.Show and self._first_show:
            self._first_show = False
            from annotator.gui.settings import app_settings

            if app_settings().value("window/state") is None:  # no layout of the person's own
                QTimer.singleShot(0, self._share_heights)
        elif obj is self.docks["timeline"] and event.type() == QEvent.Type.LayoutRequest:
            # a short window fits the timeline to its rows; a tall one only lets it grow to them
            short = self.win.height() < 800
            QTimer.singleShot(0, lambda: self._fit_timeline(short))
        elif isinstance(obj, QDockWidget) and event.type() == QEvent.Type.ChildAdded:
            QTimer.singleShot(0, lambda d=obj: self._watch_tables(d))
        return False

    def shown(self, key: str) -> bool:
        """Is the dock on screen? (A dock on a tab behind another one is "visible" to Qt.)"""
        dock = self.docks[key]
        return dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _watch_tables(self, dock: QDockWidget) -> None:
        """A project's table that would need a horizontal scroll bar when it is first filled
        widens its dock instead (its columns size to their text), as long as the frame keeps
        60% of the window's width. Only then: a later edit (a longer name) never moves the
        docks under the person — the table scrolls."""
        for view in dock.findChildren(QTableView) + dock.findChildren(QTreeView):
            bar = view.horizontalScrollBar()
            if not bar.property("fits_dock"):
                bar.setProperty("fits_dock", True)
                bar.rangeChanged.connect(lambda _lo, hi, d=dock, v=view, b=bar:
                                         hi and self._widen_once(d, v, b))
                self._widen_once(dock, view, bar)

    def _widen_once(self, dock: QDockWidget, view: QTableView | QTreeView, bar) -> None:  # noqa: ANN001
        model = view.model()
        if bar.property("fitted") or model is None or model.rowCount() == 0:
            return  # fitted already, or nothing listed yet to fit
        bar.setProperty("fitted", True)
        self._widen(dock, view)

    def _widen(self, dock: QDockWidget, view: QTableView | QTreeView) -> None:
        w = self.win
        header = view.header() if isinstance(view, QTreeView) else view.horizontalHeader()
        extra = header.length() - view.viewport().width()
        if extra <= 0 or dock.isFloating() or w.dockWidgetArea(dock) not in (
                Area.LeftDockWidgetArea, Area.RightDockWidgetArea):
            return
        want = dock.width() + extra + 4
        if want <= 0.4 * w.width():
            w.resizeDocks([dock], [want], Qt.Orientation.Horizontal)

    def _raise_check(self) -> None:
        chk = self.docks["check"]
        if chk.widget() is not None and chk.isVisible() and self.win.tabifiedDockWidgets(chk):
            chk.raise_()

    # -- what the window looks like now ------------------------------------------------------
    def arrangement(self) -> str:
        """``"tabbed"``, ``"columns"`` (the two this module makes) or ``"custom"``."""
        w, seg, chk = self.win, self.docks["segments"], self.docks["check"]
        if chk.isFloating() or seg.isFloating():
            return "custom"
        if chk in w.tabifiedDockWidgets(seg) and w.dockWidgetArea(seg) == Area.LeftDockWidgetArea \
                and len(w.tabifiedDockWidgets(seg)) == 1:
            return "tabbed"
        if w.dockWidgetArea(chk) == Area.RightDockWidgetArea and not w.tabifiedDockWidgets(chk) \
                and w.dockWidgetArea(seg) == Area.LeftDockWidgetArea:
            return "columns"
        return "custom"

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, width: int) -> None:
        self._busy = True
        try:
            self.fit_toolbar(width)
            want = "tabbed" if width < WIDE else "columns"
            now = self.arrangement()
            if now != "custom" and now != want:
                self._tab() if want == "tabbed" else self._columns()
            elif self.win.height() < 800:
                self._fit_timeline()
        finally:
            self._busy = False

    def fit_toolbar(self, width: int) -> None:
        tb, actions = self.toolbar, self.actions
        buttons = [tb.widgetForAction(actions[n]) for n in ICON_ONLY_FIRST]
        for b in buttons:
            if b is not None:
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        if tb.sizeHint().width() + 8 <= width:
            return
        for b in buttons:
            if b is not None:
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def _tab(self) -> None:
        w, d = self.win, self.docks
        chk, seg = d["check"], d["segments"]
        was_closed = chk.isHidden()
        focus = QApplication.focusWidget()
        w.tabifyDockWidget(seg, chk)
        chk.setHidden(was_closed)
        # the segments in front, unless the person is working in the check view
        (chk if focus is not None and chk.isAncestorOf(focus) else seg).raise_()
        QTimer.singleShot(0, self._share_heights)

    def _columns(self) -> None:
        w, d = self.win, self.docks
        chk = d["check"]
        was_closed = chk.isHidden() and not chk.toggleViewAction().isChecked()
        w.addDockWidget(Area.RightDockWidgetArea, chk)
        chk.setHidden(was_closed)
        d["segments"].raise_()
        w.resizeDocks([d["objects"], chk], [340, 350], Qt.Orientation.Horizontal)
        QTimer.singleShot(0, self._share_heights)

    def _share_heights(self) -> None:
        """Objects get a quarter of the left column (a list of a few names), segments the
        rest; once the main window has laid out the new arrangement."""
        w, d = self.win, self.docks
        h = max(200, d["objects"].height() + d["segments"].height())
        w.resizeDocks([d["objects"], d["segments"]], [max(120, h // 4), h - max(120, h // 4)],
                      Qt.Orientation.Vertical)
        self._fit_timeline()

    def _fit_timeline(self, shrink: bool = True) -> None:
        """The timeline as tall as it asks for in this window (``Timeline.height_for``: its
        rows whole from 720 px on, smaller sound rows below, the frame keeping most of the
        height); a short window shrinks it to that, a tall one only lets it grow to it."""
        dock = self.docks["timeline"]
        inner = dock.widget()
        if inner is not None and not dock.isFloating() and dock.isVisible():
            asks = getattr(inner, "height_for", None)  # no project: an empty placeholder
            want = max(inner.minimumHeight(), asks(self.win.height()) if asks else 0, 60)
            if shrink and inner.height() > want:
                self.win.resizeDocks([dock], [want + dock.height() - inner.height()],
                                     Qt.Orientation.Vertical)
            elif inner.height() < want:  # grow until the rows fit (the title bar above them)
                self.win.resizeDocks([dock], [want + dock.height() - inner.height()],
                                     Qt.Orientation.Vertical)
