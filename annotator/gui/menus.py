"""Actions, menus and the toolbar of the main window. Keyboard first: every command has an
action, most have a key; keys can be changed in Preferences (kept in QSettings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

from annotator import settings

if TYPE_CHECKING:  # pragma: no cover
    from annotator.gui.main_window import MainWindow


def _spec(w: MainWindow) -> list[tuple[str, str, str | list[str], Callable[[], None], bool, str]]:
    """(name, text, default shortcut(s), slot, needs a project, tip)."""
    return [
        ("new", "&New project from video…", "Ctrl+N", w.new_project, False,
         "Create a project for a video (or drag a video onto the window)"),
        ("open", "&Open project…", "Ctrl+O", w.open_path, False, "Open a project folder"),
        ("import_segments", "Import &segments…", "", w.import_segments, True,
         "Audible segments from CSV or JSON"),
        ("import_masks", "Import &masks…", "", w.import_masks, True,
         "Masks from a folder of PNGs or a COCO RLE file"),
        ("export_coco", "Export &COCO RLE…", "Ctrl+E", w.export_coco, True,
         "COCO JSON with RLE masks and the audible segments"),
        ("export_png", "Export &PNG masks…", "", w.export_png, True,
         "DAVIS layout: an indexed PNG for every frame, ids 1..N"),
        ("export_cvat", "Export CVAT for &video…", "", w.export_cvat, True,
         "CVAT for video 1.1 XML: one track per object, to review or fix tracks in CVAT"),
        ("close", "&Close project", "Ctrl+W", w.close_project, True, "Close the project"),
        ("quit", "&Quit", "Ctrl+Q", w.close, False, "Quit (everything is already saved)"),
        ("undo", "&Undo", "Ctrl+Z", w.undo, True, "Undo the last action"),
        ("redo", "&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], w.redo, True, "Redo"),
        ("preferences", "&Preferences…", "Ctrl+,", w.show_preferences, False,
         "Engines and model files, device, refine policy, cache size, shortcuts"),
        ("prev_frame", "Previous frame", "Left", lambda: w.step(-1), True, ""),
        ("next_frame", "Next frame", "Right", lambda: w.step(1), True, ""),
        ("back10", "Back 10 frames", "Shift+Left", lambda: w.step(-10), True, ""),
        ("fwd10", "Forward 10 frames", "Shift+Right", lambda: w.step(10), True, ""),
        ("first", "First frame", "Home", w.first_frame, True, ""),
        ("last", "Last frame", "End", w.last_frame, True, ""),
        ("play", "&Play / pause", "Space", w.toggle_play, True,
         "Play with sound from the playhead (the frames follow the sound)"),
        ("loop", "&Loop the segment", "L",
         lambda: w.playback.set_loop(w.actions_["loop"].isChecked()), True,
         "Play the audible segment under the playhead over and over"),
        ("slower", "&Slower", ",", lambda: w.playback.change_speed(-1), True,
         "2× → 1× → 0.5× (the pitch follows the speed)"),
        ("faster", "&Faster", ".", lambda: w.playback.change_speed(+1), True,
         "0.5× → 1× → 2× (the pitch follows the speed)"),
        ("mute", "&Mute", "M", lambda: w.playback.set_muted(w.actions_["mute"].isChecked()),
         True, "Playback and scrubbing without sound"),
        ("fit", "Fit to window", "Ctrl+0", w.canvas.fit, False, ""),
        ("zoom_in", "Zoom in", "Ctrl++", lambda: w.canvas.zoom_at(1.25), False, ""),
        ("zoom_out", "Zoom out", "Ctrl+-", lambda: w.canvas.zoom_at(0.8), False, ""),
        ("tool_points", "Points tool", "Escape", lambda: w.set_tool("points"), True,
         "Left click: object, right click: background"),
        ("tool_brush", "Brush", "B", lambda: w.set_tool("brush"), True, "Paint the mask"),
        ("tool_eraser", "Eraser", "E", lambda: w.set_tool("eraser"), True, "Erase the mask"),
        ("brush_smaller", "Smaller brush", "[", lambda: w.brush_size(-3), True, ""),
        ("brush_bigger", "Bigger brush", "]", lambda: w.brush_size(3), True, ""),
        ("next_candidate", "Next candidate mask", "Tab",
         lambda: w.prompt and w.prompt.next_candidate(), True, "Cycle the segmenter's candidates"),
        ("remove_point", "Remove last point", "Backspace",
         lambda: w.prompt and w.prompt.remove_last_point(), True, ""),
        ("accept", "Accept mask (anchor)", ["Return", "Enter"], w.accept, True,
         "The mask becomes this frame's anchor"),
        ("delete_mask", "Delete mask on this frame", "Delete",
         lambda: w.prompt and w.prompt.delete_mask(), True, ""),
        ("propagate", "Propagate current &segment", "P", w.propagate_current, True,
         "Propagate the segment under the playhead from its anchors"),
        ("propagate_all", "Propagate &all segments", "Shift+P", w.propagate_all, True, ""),
        ("propagate_fwd", "Propagate &forward from this frame", "Ctrl+Right",
         lambda: w.propagate_from_here(+1), True, ""),
        ("propagate_back", "Propagate &backward from this frame", "Ctrl+Left",
         lambda: w.propagate_from_here(-1), True, ""),
        ("repropagate", "&Re-propagate between anchors", "R", w.repropagate_between_anchors,
         True, "Only up to the neighbouring anchors"),
        ("batch", "&Batch over several projects…", "", w.batch_projects, True, ""),
        ("cancel", "&Cancel job", "Ctrl+.", w.cancel_job, True,
         "Stop the running job; frames already done are kept"),
        ("propose", "Propose segments from &audio", "",
         lambda: w.timeline and w.timeline.propose(), True,
         "Find the sounds in the audio track; they show on the timeline's sound row"),
        ("assign_proposal", "&Assign sound proposal to object", "A",
         lambda: w.timeline and w.timeline.assign_proposal(), True,
         "The selected sound proposal (or the one under the playhead) becomes a segment of "
         "the selected object"),
        ("reject_proposal", "Re&ject sound proposal", "Shift+R",
         lambda: w.timeline and w.timeline.reject_proposal(), True,
         "The selected sound proposal (or the one under the playhead) is not a sound to "
         "annotate"),
        ("check_view", "&Check && re-annotate view", "Ctrl+R", w.show_check_view, True, ""),
        ("next_flag", "&Next flagged frame", "F", lambda: w.next_flag(+1), True, ""),
        ("prev_flag", "&Previous flagged frame", "Shift+F", lambda: w.next_flag(-1), True, ""),
        ("compare", "Toggle &XMem / refined mask", "X", w.toggle_compare, True, ""),
        ("mark_done", "Mark segment &done", "Ctrl+D",
         lambda: w.mark_current_segment("done"), True, ""),
        ("mark_failed", "Mark segment &failed", "Ctrl+Shift+D",
         lambda: w.mark_current_segment("failed"), True, ""),
        ("models", "&Manage model files…", "", w.show_models, False,
         "Find, verify or download model files"),
        ("shortcuts", "&Keyboard shortcuts", "F1", w.show_shortcuts, False, ""),
        ("open_log", "Open &log folder", "", w.open_log_folder, False,
         "The log file with every error's details, to attach to a bug report"),
        ("about", "&About", "", w.show_about, False, ""),
    ] + [(f"object_{n}", f"Object {n}", str(n), (lambda n=n: w.select_object_key(n)), True, "")
         for n in range(1, 10)]


def build_actions(w: MainWindow) -> dict[str, QAction]:
    actions: dict[str, QAction] = {}
    for name, text, keys, slot, needs, tip in _spec(w):
        act = QAction(text, w)
        act.setObjectName(f"action_{name}")
        custom = settings.get(f"shortcuts.{name}")
        seqs = [custom] if custom else (keys if isinstance(keys, list) else [keys] if keys else [])
        act.setShortcuts([QKeySequence(k) for k in seqs if k])
        act.default_shortcuts = keys  # type: ignore[attr-defined]
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(f"{text.replace('&', '').rstrip('…')} ({', '.join(seqs)})" if seqs
                           else tip)
        act.triggered.connect(lambda _checked=False, f=slot: f())
        act._needs_project = needs  # type: ignore[attr-defined]
        w.addAction(act)
        actions[name] = act
    for name in ("tool_points", "tool_brush", "tool_eraser"):
        actions[name].setCheckable(True)
    actions["tool_points"].setChecked(True)
    return actions


def build_menus(w: MainWindow, a: dict[str, QAction]) -> None:
    mb = w.menuBar()
    m = mb.addMenu("&File")
    m.addActions([a["new"], a["open"]])
    w.recent_menu = m.addMenu("Open &recent")
    w._rebuild_recent()
    m.addSeparator()
    m.addActions([a["import_segments"], a["import_masks"]])
    m.addSeparator()
    m.addActions([a["export_coco"], a["export_png"], a["export_cvat"]])
    m.addSeparator()
    m.addActions([a["close"], a["quit"]])
    m = mb.addMenu("&Edit")
    m.addActions([a["undo"], a["redo"]])
    m.addSeparator()
    m.addActions([a["accept"], a["next_candidate"], a["remove_point"], a["delete_mask"]])
    m.addSeparator()
    m.addActions([a["tool_points"], a["tool_brush"], a["tool_eraser"], a["brush_smaller"],
                  a["brush_bigger"]])
    m.addSeparator()
    m.addAction(a["preferences"])
    m = mb.addMenu("&View")
    m.addActions([a["prev_frame"], a["next_frame"], a["back10"], a["fwd10"], a["first"],
                  a["last"]])
    m.addSeparator()
    m.addActions([a["fit"], a["zoom_in"], a["zoom_out"]])
    m.addSeparator()
    for dock in w.docks.values():
        m.addAction(dock.toggleViewAction())
    m = mb.addMenu("P&layback")
    m.addActions([a["play"], a["loop"], a["slower"], a["faster"], a["mute"]])
    m = mb.addMenu("&Propagate")
    m.addActions([a["propagate"], a["propagate_all"], a["propagate_fwd"], a["propagate_back"],
                  a["repropagate"]])
    m.addSeparator()
    m.addActions([a["batch"], a["cancel"]])
    m = mb.addMenu("&Review")
    m.addActions([a["check_view"], a["next_flag"], a["prev_flag"], a["compare"]])
    m.addSeparator()
    m.addActions([a["mark_done"], a["mark_failed"]])
    m.addSeparator()
    m.addActions([a["propose"], a["assign_proposal"], a["reject_proposal"]])
    m = mb.addMenu("&Models")
    m.addAction(a["models"])
    m = mb.addMenu("&Help")
    m.addAction(a["shortcuts"])
    m.addAction(a["open_log"])
    m.addSeparator()
    m.addAction(a["about"])


SHORT = {"undo": "Undo", "redo": "Redo", "tool_points": "Points", "tool_brush": "Brush",
         "tool_eraser": "Eraser", "accept": "Accept", "next_candidate": "Candidate",
         "propagate": "Propagate", "propagate_all": "All", "cancel": "Cancel",
         "check_view": "Check", "next_flag": "Next flag", "compare": "XMem ⇄ refined"}


def build_toolbar(w: MainWindow, a: dict[str, QAction]) -> QToolBar:
    from PySide6.QtCore import QSize, Qt

    from annotator.gui.icons import icon

    for name, text in SHORT.items():
        a[name].setIcon(icon(name))
        a[name].setIconText(text)
    tb = QToolBar("Main", w)
    tb.setObjectName("toolbar_main")
    tb.setIconSize(QSize(20, 20))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(tb)
    tb.addActions([a["undo"], a["redo"]])
    tb.addSeparator()
    tb.addActions([a["tool_points"], a["tool_brush"], a["tool_eraser"]])
    tb.addSeparator()
    tb.addActions([a["accept"], a["next_candidate"]])
    tb.addSeparator()
    tb.addActions([a["propagate"], a["propagate_all"], a["cancel"]])
    tb.addSeparator()
    tb.addActions([a["check_view"], a["next_flag"], a["compare"]])
    return tb
