"""The window on a small laptop screen (1024×640) and a large one (1920×1080): every dock's
buttons on screen and whole, the toolbar without an overflow menu, the frame keeping most of
the space, the status bar eliding instead of cutting text; stale status messages go away when
the frame, the object or the project changes. Real window, demo project, offscreen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QDockWidget, QTabBar, QToolButton


def _settle(qtbot, win, w: int, h: int) -> None:
    win.resize(w, h)
    qtbot.waitUntil(lambda: win.size().toTuple() == (w, h), timeout=5000)
    qtbot.wait(50)  # the dock layout settles on the next turns of the event loop


def _raise_by_tab(qtbot, win, dock: QDockWidget) -> None:
    """Click the dock's tab, as a person would, when it shares its place with another."""
    for bar in win.findChildren(QTabBar):
        for i in range(bar.count()):
            if bar.isVisible() and bar.tabText(i) == dock.windowTitle():
                qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(i).center())
                qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=3000)
                return


def _assert_whole(button: QAbstractButton, where: str) -> None:
    name = f"{where}: {type(button).__name__} {button.text()!r}"
    assert button.isVisible(), name
    parent = button.parentWidget()
    assert parent.rect().contains(button.geometry()), name
    # nothing of it is cut off by any ancestor (a splitter, a dock, the window's edge)
    assert button.visibleRegion().boundingRect() == button.rect(), name
    assert button.sizeHint().width() <= button.width(), name
    fm = button.fontMetrics()
    assert fm.elidedText(button.text(), Qt.TextElideMode.ElideRight, button.width()) \
        == button.text(), name


def _dock_buttons(dock: QDockWidget) -> list[QAbstractButton]:
    """The panel's own buttons (not the dock's title bar), less those the panel hides."""
    inner = dock.widget()
    return [b for b in inner.findChildren(QAbstractButton) if b.isVisibleTo(inner)]


def test_window_at_1024x640_shows_every_button_whole(window, qtbot):
    win = window
    _settle(qtbot, win, 1024, 640)
    assert win.width() == 1024 and win.height() == 640
    checked = 0
    for key in ("objects", "segments", "check", "timeline"):
        dock = win.docks[key]
        _raise_by_tab(qtbot, win, dock)
        assert win.window_layout.shown(key), key
        for b in _dock_buttons(dock):
            _assert_whole(b, key)
            checked += 1
    assert checked >= 12  # objects 4, segments 4, check 6 + the check box
    # every toolbar command on screen: no "»" overflow menu
    ext = [b for b in win.toolbar.findChildren(QToolButton)
           if b.objectName() == "qt_toolbar_ext_button"]
    assert all(not b.isVisible() for b in ext)
    for act in win.toolbar.actions():
        b = win.toolbar.widgetForAction(act)
        if b is not None and not act.isSeparator():
            assert b.isVisible() and b.visibleRegion().boundingRect() == b.rect(), act.text()
            assert b.toolTip(), act.text()  # an icon-only button still says what it is
    # the frame keeps most of the space: most of the width and two thirds of the height; the
    # timeline under it shows the waveform and the spectrogram (smaller rows)
    canvas = win.canvas
    assert canvas.width() >= 0.6 * win.width()
    between = win.height() - win.menuBar().height() - win.toolbar.height() - win.status.height()
    assert canvas.height() >= 0.66 * between
    assert min(win.timeline.sound_heights()) >= 14 and win.timeline.scroll.isVisible()
    # the segments table shows a useful number of rows (it showed 2.5)
    table = win.segments_panel.table
    _raise_by_tab(qtbot, win, win.docks["segments"])
    assert table.viewport().height() >= 5 * table.verticalHeader().defaultSectionSize()
    # every column whole: the dock widened instead of a horizontal scroll bar
    qtbot.waitUntil(lambda: table.model().rowCount() == 3, timeout=5000)
    qtbot.waitUntil(lambda: table.horizontalHeader().length() <= table.viewport().width(),
                    timeout=3000)
    assert not table.horizontalScrollBar().isVisible()
    for col in range(table.model().columnCount()):
        assert table.horizontalHeader().sectionSize(col) >= table.sizeHintForColumn(col), col


def test_status_bar_elides_with_the_whole_text_in_a_tooltip(window, qtbot):
    win = window
    _settle(qtbot, win, 1024, 640)
    status = win.status
    long_engines = "SAM vit_h (sam_vit_h_4b8939.pth) + XMem (XMem-s012.pth), refined " * 2
    status.set_engines(long_engines.strip(), "full names", "cuda:0 (NVIDIA H200)")
    message = "Exported 12345 masks of 3 objects to " + "/a/long/folder" * 20 + "/coco.json"
    status.say(message)
    status.grab()  # paint it
    for label in (status.frame_label, status.embedding_label, status.engines_label):
        if label.isVisible():
            assert status.rect().contains(label.geometry())
    assert status.engines_label.width() < status.engines_label.sizeHint().width()
    assert "cuda:0" in status.engines_label.text()  # the text itself is whole
    assert "full names" in status.engines_label.toolTip()
    assert status.currentMessage() == message
    assert status.toolTip() == message  # elided on screen, whole in the tooltip


def test_check_view_is_a_tab_on_small_screens_and_a_column_on_large(window, qtbot):
    win = window
    chk, seg = win.docks["check"], win.docks["segments"]
    _settle(qtbot, win, 1920, 1080)
    assert win.window_layout.arrangement() == "columns"
    assert win.window_layout.shown("check") and win.window_layout.shown("segments")
    assert win.dockWidgetArea(chk) == Qt.DockWidgetArea.RightDockWidgetArea
    _settle(qtbot, win, 1400, 800)  # side by side the docks need 1027 px: shrink in two steps
    _settle(qtbot, win, 1024, 640)
    assert win.window_layout.arrangement() == "tabbed"
    assert chk in win.tabifiedDockWidgets(seg)
    assert win.window_layout.shown("segments") and not win.window_layout.shown("check")
    # F (next flag) brings the check view to the front
    qtbot.keyClick(win.canvas, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: win.window_layout.shown("check"), timeout=3000)
    # a dock the person closed stays closed when the window grows and shrinks again
    close = [b for b in chk.findChildren(QAbstractButton) if b.objectName() ==
             "qt_dockwidget_closebutton"][0]
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert chk.isHidden()
    _settle(qtbot, win, 1920, 1080)
    _settle(qtbot, win, 1400, 800)
    _settle(qtbot, win, 1024, 640)
    assert chk.isHidden()
    chk.toggleViewAction().trigger()  # View > Check and re-annotate
    qtbot.waitUntil(lambda: win.window_layout.shown("check"), timeout=3000)


def test_stale_status_messages_go_away(ui, qtbot):
    """"Candidate 2 of 3" goes when the frame changes or a job starts; a success is not red;
    nothing of a closed project stays."""
    win = ui.win
    bell, seg = ui.bell()
    ui.key(Qt.Key.Key_1)  # the bell
    for _ in range(seg.start // 10):
        ui.key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # 10 frames on
    for _ in range(seg.start % 10):
        ui.key(Qt.Key.Key_Right)
    ui.idle()
    assert (win.state.frame, win.state.object_id) == (seg.start, bell)
    from annotator.demo import FPS, _bell_center

    x, y = _bell_center(seg.start / FPS)
    ui.click(float(x), float(y))
    ui.idle()
    ui.key(Qt.Key.Key_Tab)
    ui.idle()
    qtbot.waitUntil(lambda: "Candidate" in win.status.currentMessage(), timeout=5000)
    ui.key(Qt.Key.Key_Right)
    ui.idle()
    assert win.state.frame == seg.start + 1
    assert "Candidate" not in win.status.currentMessage()
    assert win.status.frame_label.text() == f"frame {seg.start + 1}"
    ui.key(Qt.Key.Key_Left)  # back on the clicked frame: Tab, accept it, then propagate
    ui.idle()
    ui.key(Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: "Candidate" in win.status.currentMessage(), timeout=5000)
    assert win.status.level == "info"
    ui.key(Qt.Key.Key_Return)
    ui.idle()
    assert "Candidate" in win.status.currentMessage()
    with qtbot.waitSignal(win.session.job_started, timeout=10000):
        ui.key(Qt.Key.Key_P)
    assert "Candidate" not in win.status.currentMessage()  # it was about the moment before
    ui.idle(timeout=120000)
    assert win.status.currentMessage().startswith("Done: ") and win.status.level == "info"
    qtbot.waitUntil(lambda: win.status.embedding_label.text() != "", timeout=5000)
    # close the project (Ctrl+W): no frame, embedding, engines or message of it is left
    ui.key(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.session is None, timeout=10000)
    assert win.status.embedding_label.text() == ""
    assert win.status.frame_label.text() == ""
    assert win.status.engines_label.text() == "no project"
    assert win.status.currentMessage() == ""


def test_a_first_window_leaves_room_for_the_title_bar_on_the_screen(qtbot):
    """No geometry saved yet: the window's inside plus a window manager's frame fits the
    available screen (the status bar was below a 1280×800 screen's edge under openbox), and the
    window starts centred on it."""
    from PySide6.QtCore import QSettings

    from annotator.gui.app import application
    from annotator.gui.main_window import FRAME, MainWindow

    application()
    QSettings().remove("window/geometry")
    win = MainWindow()
    qtbot.addWidget(win)
    avail = win.screen().availableGeometry()
    assert win.height() + FRAME[1] <= avail.height() and win.width() + FRAME[0] <= avail.width()
    assert FRAME[1] >= 30  # room for a title bar, whatever the screen
    assert abs(win.geometry().center().x() - avail.center().x()) <= 1
