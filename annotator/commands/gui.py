"""The desktop window: ``annotator`` (no sub-command) and ``annotator open VIDEO_OR_PROJECT``."""

from __future__ import annotations

import argparse
from pathlib import Path

from annotator.commands import add_device_option
from annotator.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("open", help="open the desktop window on a project or a video")
    p.add_argument("path", type=Path, nargs="?",
                   help="project folder, or a video (a project is created beside it)")
    add_device_option(p)
    p.set_defaults(func=cmd_open, gui_starts_engines=True)
    p = sub.add_parser("gui", help="open the desktop window (the default command)")
    add_device_option(p)
    p.set_defaults(func=cmd_open, path=None, gui_starts_engines=True)


def window_app(ready: str = ""):
    """The window's ``run_app``; a ``UserError`` when PySide6 cannot be imported (installed
    without its dependencies, or missing the system libraries Qt needs), saying how to get it
    and, in ``ready``, what is there without the window."""
    try:
        from annotator.gui.app import run_app
    except ImportError as exc:
        raise UserError(f"the desktop window needs PySide6 ({exc}); install it with: "
                        f"pip install PySide6-Essentials{ready}") from None
    return run_app


def cmd_open(args: argparse.Namespace) -> int:
    path = getattr(args, "path", None)
    if path is not None and not path.exists():
        raise UserError(f"{path}: no such video or project folder")
    run_app = window_app()
    from annotator.core.project import DB_NAME, is_project

    if path is not None and path.name == DB_NAME and is_project(path.parent):
        path = path.parent  # a project's store (the desktop's project.avs association)
    device = getattr(args, "device", None)
    if path is None:
        return run_app(device=device)
    if is_project(path):
        return run_app(project_dir=path, device=device)
    return run_app(video=path, device=device)
