"""The window's commands as one table: name, text, keys, what runs, when it is enabled.

Keyboard first: every command has an action, most have a key, and keys can be changed in
Preferences. :func:`build_actions` makes the ``QAction``s from the table; :class:`Enabling`
keeps them enabled only when they can act — with a project open, and for the commands that
change it only when it can be changed (a project open view only keeps navigation, playback and
export). Menus and the toolbar (:mod:`annotator.gui.menus`) are laid out from the actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from annotator import settings
from annotator.pipeline.exports import FORMATS

ALWAYS, PROJECT, EDIT = "always", "project", "edit"  # when an action is enabled
#: commands renamed since a release: new name -> old name (a person's keys for it are kept)
RENAMED = {"other_version": "compare"}  # "compare" is now Review ▸ Compare with…


@dataclass(frozen=True)
class Command:
    name: str
    text: str
    keys: str | tuple[str, ...]
    run: Callable[[], Any]
    needs: str = PROJECT
    tip: str = ""
    title: str = ""  # the name in lists (Preferences, the keys sheet) where the menu text alone is
    # not enough, as "Export COCO" for the File ▸ Export submenu's "COCO…"


def commands(c: Any) -> list[Command]:
    """The table; ``c`` holds the window's parts (``c.projects``, ``c.datasets``, ``c.files``,
    ``c.edit``,
    ``c.propagation``, ``c.review``, ``c.reviewer``, ``c.compare``, ``c.state``, ``c.playback``, ``c.canvas``, ``c.timeline()``
    and the window's own ``c.close_project``, ``c.quit``, ``c.dialogs``)."""
    st, pb, ed, pr, rv, fl = c.state, c.playback, c.edit, c.propagation, c.review, c.files
    tl = c.timeline  # () -> the open project's timeline, or None

    def on_timeline(what: str) -> Callable[[], None]:
        return lambda: tl() and getattr(tl(), what)()

    table = [
        Command("new", "&New project from video…", "Ctrl+N", c.projects.new_project, ALWAYS,
                "Create a project for a video (or drag a video onto the window)"),
        Command("open", "&Open project…", "Ctrl+O", c.projects.open_path, ALWAYS,
                "Open a project folder"),
        Command("open_dataset", "Open &dataset…", "Ctrl+Shift+O", c.datasets.open_dataset,
                ALWAYS, "A dataset folder: the table of its videos, how far each is"),
        Command("dataset_next", "Ne&xt video of the dataset", "Ctrl+Shift+Right",
                c.datasets.next, ALWAYS,
                "Open the next unfinished video assigned to you (needs work first)"),
        Command("dataset_back", "&Back to the dataset", "Ctrl+Shift+Up", c.datasets.back,
                ALWAYS, "Close the project and show the dataset's table again"),
        Command("import_segments", "Import &segments…", "", fl.import_segments, EDIT,
                "Audible segments from CSV or JSON"),
        Command("import_masks", "Import &masks…", "", fl.import_masks, EDIT,
                "Masks from a folder of PNGs, a COCO RLE file or CVAT for video XML"),
    ]
    for f in FORMATS:
        table.append(Command(f"export_{f.key.replace('-', '_')}", f"{f.title}…",
                             "Ctrl+E" if f.key == "coco" else "",
                             lambda k=f.key: fl.export(k), PROJECT, f.note,
                             title=plain(f"Export {f.title}")))
    table += [
        Command("close", "&Close project", "Ctrl+W", c.close_project, PROJECT,
                "Close the project"),
        Command("quit", "&Quit", "Ctrl+Q", c.quit, ALWAYS, "Quit (everything is already saved)"),
        Command("undo", "&Undo", "Ctrl+Z", ed.undo, EDIT, "Undo the last action"),
        Command("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), ed.redo, EDIT, "Redo"),
        Command("preferences", "&Preferences…", "Ctrl+,", c.dialogs.preferences, ALWAYS,
                "Engines and model files, device, refine policy, cache size, shortcuts"),
        Command("prev_frame", "Previous frame", "Left", lambda: st.step(-1)),
        Command("next_frame", "Next frame", "Right", lambda: st.step(1)),
        Command("back10", "Back 10 frames", "Shift+Left", lambda: st.step(-10)),
        Command("fwd10", "Forward 10 frames", "Shift+Right", lambda: st.step(10)),
        Command("first", "First frame", "Home", lambda: st.set_frame(0)),
        Command("last", "Last frame", "End", lambda: st.set_frame(st.frame_count - 1)),
        Command("play", "&Play / pause", "Space", pb.toggle, PROJECT,
                "Play with sound from the playhead (the frames follow the sound)"),
        Command("loop", "&Loop the segment", "L", lambda: pb.set_loop(not pb.loop), PROJECT,
                "Play the audible segment under the playhead over and over"),
        Command("slower", "&Slower", ",", lambda: pb.change_speed(-1), PROJECT,
                "2× → 1× → 0.5× (the pitch follows the speed)"),
        Command("faster", "&Faster", ".", lambda: pb.change_speed(+1), PROJECT,
                "0.5× → 1× → 2× (the pitch follows the speed)"),
        Command("mute", "&Mute", "M", lambda: pb.set_muted(not pb.muted), PROJECT,
                "Playback and scrubbing without sound"),
        Command("fit", "Fit to window", "Ctrl+0", c.canvas.fit, ALWAYS),
        Command("zoom_in", "Zoom in", "Ctrl++", lambda: c.canvas.zoom_at(1.25), ALWAYS),
        Command("zoom_out", "Zoom out", "Ctrl+-", lambda: c.canvas.zoom_at(0.8), ALWAYS),
        Command("outline", "Masks as &outlines only", "O", ed.toggle_outline, ALWAYS,
                "Draw masks as outlines, to see the pixels under them (O again: filled)"),
        Command("mask_boxes", "Masks' &boxes", "Ctrl+B", ed.toggle_mask_boxes, ALWAYS,
                "Draw each mask's tight box (what the exports write as its bbox)"),
        Command("more_opaque", "Masks more opaque", "Shift+O", lambda: ed.opacity(+0.15),
                ALWAYS, "A more opaque fill"),
        Command("less_opaque", "Masks more transparent", "Alt+O", lambda: ed.opacity(-0.15),
                ALWAYS, "A more transparent fill"),
        Command("tool_points", "Points tool", "Escape", lambda: ed.set_tool("points"), EDIT,
                "Left click: object, right click: background"),
        Command("tool_box", "Box tool", "N", lambda: ed.set_tool("box"), EDIT,
                "Drag a rectangle around the object: the segmenter masks what it holds "
                "(a new box replaces it); a click adds a point"),
        Command("tool_keyframe", "Keyframe box tool", "K", lambda: ed.set_tool("keyframe"),
                EDIT, "Box-only annotation: drag the object's box on this frame (a keyframe); "
                "drag inside it to move it, a handle to resize it"),
        Command("box_outside", "Object not visible from here", "Shift+K", ed.box_outside, EDIT,
                "An outside keyframe: no box from this frame until the next keyframe"),
        Command("delete_keyframe", "Delete box keyframe", "Shift+Del", ed.delete_keyframe, EDIT,
                "The box between the neighbouring keyframes is interpolated again"),
        Command("tool_brush", "Brush", "B", lambda: ed.set_tool("brush"), EDIT,
                "Paint the mask"),
        Command("tool_eraser", "Eraser", "E", lambda: ed.set_tool("eraser"), EDIT,
                "Erase the mask"),
        Command("brush_smaller", "Smaller brush", "[", lambda: ed.brush_size(-3), EDIT),
        Command("brush_bigger", "Bigger brush", "]", lambda: ed.brush_size(3), EDIT),
        Command("next_candidate", "Next candidate mask", "Tab", ed.next_candidate, EDIT,
                "Cycle the segmenter's candidates"),
        Command("remove_point", "Remove last point", "Backspace", ed.remove_last_point, EDIT),
        Command("accept", "Accept mask (anchor)", ("Return", "Enter"), rv.accept, EDIT,
                "The mask becomes this frame's anchor"),
        Command("delete_mask", "Delete mask on this frame", "Delete", ed.delete_mask, EDIT),
        Command("propagate", "Propagate current &segment", "P", pr.propagate_current, EDIT,
                "Propagate the segment under the playhead from its anchors"),
        Command("propagate_all", "Propagate &all segments", "Shift+P", pr.propagate_all, EDIT,
                "Every segment with an anchor that is not propagated or done yet"),
        Command("propagate_fwd", "Propagate &forward from this frame", "Ctrl+Right",
                lambda: pr.propagate_from_here(+1), EDIT),
        Command("propagate_back", "Propagate &backward from this frame", "Ctrl+Left",
                lambda: pr.propagate_from_here(-1), EDIT),
        Command("repropagate", "&Re-propagate between anchors", "R",
                pr.repropagate_between_anchors, EDIT, "Only up to the neighbouring anchors"),
        Command("masks_from_boxes", "&Masks from boxes", "", pr.masks_from_boxes, EDIT,
                "A box-only segment: the segmenter's mask of each box keyframe becomes an "
                "anchor, then the segment is propagated (the boxes stay)"),
        Command("batch", "&Batch over several projects…", "", fl.batch_projects, PROJECT,
                "Propagate every segment of other projects, one after the other"),
        Command("cancel", "&Cancel job", "Ctrl+.", pr.cancel_job, PROJECT,
                "Stop the running job; frames already done are kept"),
        Command("propose", "Propose segments from &audio", "", on_timeline("propose"), EDIT,
                "Find the sounds in the audio track; they show on the timeline's sound row"),
        Command("assign_proposal", "&Assign sound proposal to object", "A",
                on_timeline("assign_proposal"), EDIT,
                "The selected sound proposal (or the one under the playhead) becomes a segment "
                "of the selected object"),
        Command("reject_proposal", "Re&ject sound proposal", "Shift+R",
                on_timeline("reject_proposal"), EDIT,
                "The selected sound proposal (or the one under the playhead) is not a sound to "
                "annotate"),
        Command("check_view", "&Check && re-annotate view", "Ctrl+R", rv.show_check_view),
        Command("next_flag", "&Next flagged frame", "F", lambda: rv.next_flag(+1)),
        Command("prev_flag", "&Previous flagged frame", "Shift+F", lambda: rv.next_flag(-1)),
        Command("other_version", "Toggle &XMem / refined mask", "X", rv.toggle_other_version),
        Command("compare_with", "Compare &with…", "", c.compare.compare_with, PROJECT,
                "Score this project against another project or LU-AVS export of the same "
                "video, and walk the frames where the two disagree most"),
        Command("reviewer_mode", "Re&viewer mode", "", c.reviewer.toggle, PROJECT,
                "Review another person's work: approve segments or ask for work on them"),
        Command("review_approve", "&Approve segment", "Ctrl+Alt+A",
                lambda: c.reviewer.verdict("approved"), EDIT,
                "Reviewer mode: the segment under the playhead is approved"),
        Command("review_needs_work", "Needs &work…", "Ctrl+Alt+W",
                lambda: c.reviewer.verdict("needs_work"), EDIT,
                "Reviewer mode: ask for work on the segment under the playhead, with a comment "
                "on this frame"),
        Command("mark_done", "Mark segment &done", "Ctrl+D",
                lambda: rv.mark_current_segment("done"), EDIT),
        Command("mark_failed", "Mark segment &failed", "Ctrl+Shift+D",
                lambda: rv.mark_current_segment("failed"), EDIT),
        Command("models", "&Manage model files…", "", c.dialogs.models, ALWAYS,
                "Find, verify or download model files"),
        Command("shortcuts", "&Keyboard shortcuts", "F1", c.dialogs.shortcuts, ALWAYS),
        Command("open_log", "Open &log folder", "", c.dialogs.log_folder, ALWAYS,
                "The log file with every error's details, to attach to a bug report"),
        Command("about", "&About", "", c.dialogs.about, ALWAYS),
    ]
    table += [Command(f"object_{n}", f"Object {n}", str(n),
                      lambda n=n: ed.select_object_key(n)) for n in range(1, 10)]
    return table


def plain(text: str) -> str:
    """A menu text without its mnemonic ``&`` and trailing ``…`` (``&&`` is a real ``&``)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def build_actions(parent: QWidget, table: list[Command]) -> dict[str, QAction]:
    """One ``QAction`` per command, on ``parent`` (so its keys work anywhere in the window)."""
    actions: dict[str, QAction] = {}
    for cmd in table:
        act = QAction(cmd.text, parent)
        act.setObjectName(f"action_{cmd.name}")
        defaults = (cmd.keys,) if isinstance(cmd.keys, str) else cmd.keys
        own = settings.get(f"shortcuts.{cmd.name}")
        if own is None and cmd.name in RENAMED:  # keys chosen under the command's old name
            own = settings.get(f"shortcuts.{RENAMED[cmd.name]}")
        # None: the built-in keys; "": the person cleared them (no key)
        seqs = [k for k in defaults if k] if own is None else [own] if own else []
        act.setShortcuts([QKeySequence(k) for k in seqs])
        act.default_shortcuts = list(k for k in defaults if k)  # type: ignore[attr-defined]
        act.needs = cmd.needs  # type: ignore[attr-defined]
        act.title = cmd.title or plain(cmd.text)  # type: ignore[attr-defined]  # what it does, for lists
        if cmd.tip:
            act.setStatusTip(cmd.tip)
        label = act.title  # type: ignore[attr-defined]
        act.setToolTip(f"{label} ({', '.join(seqs)})" if seqs else (cmd.tip or label))
        act.triggered.connect(lambda _checked=False, f=cmd.run: f())
        parent.addAction(act)
        actions[cmd.name] = act
    for name in ("tool_points", "tool_box", "tool_keyframe", "tool_brush", "tool_eraser",
                 "loop", "mute", "outline", "mask_boxes", "reviewer_mode"):
        actions[name].setCheckable(True)
    actions["tool_points"].setChecked(True)
    return actions


class Enabling(QObject):
    """Keeps the actions' enabled state, check marks and undo/redo texts true to the session
    and the view state (a QObject of the window's, so its connections end with it)."""

    def __init__(self, actions: dict[str, QAction], state: Any, playback: Any,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.actions = actions
        self.session: Any = None
        self.playback = playback
        state.tool_changed.connect(self._tool)
        state.overlay_changed.connect(self._overlay)
        self.update()

    def attach(self, session: Any) -> None:
        self.session = session
        for sig in (session.busy_changed, session.history.canUndoChanged,
                    session.history.canRedoChanged, session.history.indexChanged):
            sig.connect(self.update)
        self.update()

    def detach(self) -> None:
        self.session = None
        self.update()

    def _overlay(self, overlay: str, _opacity: float) -> None:
        self.actions["outline"].setChecked(overlay == "outline")

    def _tool(self, tool: str) -> None:
        for name in ("points", "box", "keyframe", "brush", "eraser"):
            self.actions[f"tool_{name}"].setChecked(name == tool)

    def update(self, *_changed: Any) -> None:
        s = self.session
        editable = s is not None and not s.readonly
        for act in self.actions.values():
            needs = getattr(act, "needs", ALWAYS)
            act.setEnabled(needs == ALWAYS or (s is not None and (needs == PROJECT or editable)))
        self.actions["loop"].setChecked(self.playback.loop)
        self.actions["mute"].setChecked(self.playback.muted)
        history = s.history if s is not None else None
        busy = s is not None and s.busy
        self.actions["undo"].setEnabled(editable and history.canUndo() and not busy)
        self.actions["redo"].setEnabled(editable and history.canRedo() and not busy)
        self.actions["cancel"].setEnabled(s is not None and s.job is not None)
        for name, word in (("undo", "Undo"), ("redo", "Redo")):
            act = self.actions[name]
            text = (history.undoText() if name == "undo" else history.redoText()) if history \
                else ""
            act.setText(f"&{word} {text}" if text else f"&{word}")
            act.setIconText(word)
            keys = act.shortcut().toString()
            act.setToolTip(f"{word} {text} ({keys})" if text else f"Nothing to {word.lower()}")
