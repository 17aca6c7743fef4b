"""The menus and the toolbar, laid out from the window's actions (:mod:`annotator.gui.actions`)
and its docks; the Open recent menu, rebuilt from the recent projects."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QMenuBar, QToolBar, QWidget

from annotator.gui import settings as S
from annotator.gui.icons import icon
from annotator.pipeline.exports import FORMATS

MENUS: list[tuple[str, list[str | None]]] = [  # None: a separator
    ("&File", ["new", "open", "*recent", None, "open_dataset", "dataset_next",
               "dataset_back", None, "import_segments", "import_masks", None,
               "*export", None, "close", "quit"]),
    ("&Edit", ["undo", "redo", None, "accept", "next_candidate", "remove_point", "delete_mask",
               None, "tool_points", "tool_box", "tool_brush", "tool_eraser",
               "brush_smaller", "brush_bigger", None, "tool_keyframe", "box_outside",
               "delete_keyframe", None, "preferences"]),
    ("&View", ["prev_frame", "next_frame", "back10", "fwd10", "first", "last", None, "fit",
               "zoom_in", "zoom_out", None, "outline", "mask_boxes", "more_opaque",
               "less_opaque", None, "*docks"]),
    ("P&layback", ["play", "loop", "slower", "faster", "mute"]),
    ("&Propagate", ["propagate", "propagate_all", "propagate_fwd", "propagate_back",
                    "repropagate", "masks_from_boxes", None, "batch", "cancel"]),
    ("&Review", ["check_view", "next_flag", "prev_flag", "other_version", "compare_with", None,
                 "reviewer_mode", "review_approve", "review_needs_work", None, "mark_done",
                 "mark_failed", None, "propose", "assign_proposal", "reject_proposal"]),
    ("&Models", ["models"]),
    ("&Help", ["shortcuts", "open_log", None, "about"]),
]

#: the toolbar's buttons and their short words (None: a separator)
TOOLBAR: list[tuple[str, str] | None] = [
    ("undo", "Undo"), ("redo", "Redo"), None, ("tool_points", "Points"), ("tool_box", "Box"),
    ("tool_brush", "Brush"),
    ("tool_eraser", "Eraser"), None, ("accept", "Accept"), ("next_candidate", "Candidate"), None,
    ("propagate", "Propagate"), ("propagate_all", "All"), ("cancel", "Cancel"), None,
    ("check_view", "Check"), ("next_flag", "Next flag"), ("other_version", "XMem ⇄ refined")]


def build_menus(bar: QMenuBar, actions: dict[str, QAction],
                docks: dict[str, QDockWidget]) -> QMenu:
    """Fill the menu bar; returns the (empty) Open recent menu."""
    recent = QMenu("Open &recent", bar)
    for title, items in MENUS:
        menu = bar.addMenu(title)
        for item in items:
            if item is None:
                menu.addSeparator()
            elif item == "*recent":
                menu.addMenu(recent)
            elif item == "*export":
                sub = menu.addMenu("&Export")
                sub.addActions([actions[f"export_{f.key.replace('-', '_')}"] for f in FORMATS])
            elif item == "*docks":
                menu.addActions([d.toggleViewAction() for d in docks.values()])
            else:
                menu.addAction(actions[item])
    return recent


def rebuild_recent(menu: QMenu, open_path: Callable[[str], None]) -> None:
    menu.clear()
    for path in S.recent_projects():
        menu.addAction(path, lambda p=path: open_path(p))
    menu.setEnabled(bool(menu.actions()))


def build_toolbar(parent: QWidget, actions: dict[str, QAction]) -> QToolBar:
    tb = QToolBar("Main", parent)
    tb.setObjectName("toolbar_main")
    tb.setIconSize(QSize(20, 20))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for item in TOOLBAR:
        if item is None:
            tb.addSeparator()
            continue
        name, word = item
        actions[name].setIcon(icon(name))
        actions[name].setIconText(word)
        tb.addAction(actions[name])
    return tb
