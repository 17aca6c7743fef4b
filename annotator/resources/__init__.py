"""Package data: the icon, the desktop entry, the MIME types of projects, default settings.

Found with :mod:`importlib.resources`, so an installed wheel, an sdist install and a PyInstaller
bundle find them exactly as a checkout does. No Qt here (``core`` may read default settings).
"""

from __future__ import annotations

import atexit
import contextlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

APP_ID = "avs-annotator"  # desktop entry, icon and MIME file names
ICON = "icons/avs-annotator.svg"
DESKTOP_ENTRY = "avs-annotator.desktop"
MIME_XML = "avs-annotator-mime.xml"
DEFAULT_SETTINGS = "default-settings.json"

_files = contextlib.ExitStack()
atexit.register(_files.close)


def _traversable(name: str):
    return resources.files(__name__).joinpath(*name.split("/"))


def read_text(name: str) -> str:
    """The text of the resource ``name`` (``"avs-annotator.desktop"``, ``"icons/…"``)."""
    return _traversable(name).read_text(encoding="utf-8")


def path(name: str) -> Path:
    """A file-system path to the resource ``name``: the installed file itself, or (from a zip)
    a temporary copy kept until the process ends."""
    return _files.enter_context(resources.as_file(_traversable(name)))


def icon_path() -> Path:
    """The application icon (SVG)."""
    return path(ICON)


def default_settings() -> dict[str, Any]:
    """Every per-user setting (``default-settings.json``): key → its ``default``, ``type`` (for
    a ``null`` default), ``choices``/``min``/``max``, ``help`` and ``if_invalid`` (``error`` or
    ``default``); read by :mod:`annotator.settings`."""
    return json.loads(read_text(DEFAULT_SETTINGS))
