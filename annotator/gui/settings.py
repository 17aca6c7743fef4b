"""The window's own memory (``QSettings``): geometry, dock state, recent projects, the last
project and the place (frame, object) last viewed in each project. Preferences are not here:
they live in the JSON settings (:mod:`annotator.settings`), shared with the command line.

``AVS_ANNOTATOR_SETTINGS`` names an INI file to use instead of the per-user default (tests and
portable installs use it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORG = "AVS Annotator"
APP = "AVS Annotator"
MAX_RECENT = 10

log = logging.getLogger(__name__)

#: preferences that earlier versions kept in QSettings → their key in the JSON settings
#: (and ``shortcuts/<name>`` → ``shortcuts.<name>``)
OLD_PREFERENCES = {
    "engines/segmenter": "engines.segmenter",
    "engines/propagator": "engines.propagator",
    "engines/device": "device",
    "pipeline/refine": "pipeline.refine",
    "pipeline/cluster": "pipeline.cluster",
    "cache/frames_mb": "cache.frames_mb",
    "canvas/brush": "canvas.brush",
    "guards/area_factor": "guards.area_factor",
    "guards/reviewed_frames": "guards.reviewed_frames",
}


def app_settings() -> QSettings:
    path = os.environ.get("AVS_ANNOTATOR_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


def recent_projects() -> list[str]:
    raw = app_settings().value("recent", []) or []
    if isinstance(raw, str):
        raw = [raw]
    return [p for p in raw if p]


def add_recent(path: str | Path) -> list[str]:
    s = app_settings()
    path = str(Path(path).resolve())
    items = [path] + [p for p in recent_projects() if p != path]
    items = items[:MAX_RECENT]
    s.setValue("recent", items)
    s.setValue("last_project", path)
    return items


def move_old_preferences() -> dict[str, object]:
    """Once, at start-up: preferences an earlier version kept in QSettings move into the JSON
    settings (a value already in the JSON file wins) and leave QSettings. A value that is not
    valid for its key is dropped, with a warning. Returns what was moved (JSON key → value)."""
    from annotator import settings

    s = app_settings()
    old = {k: k.replace("/", ".", 1) for k in s.allKeys() if k.startswith("shortcuts/")}
    old.update({k: new for k, new in OLD_PREFERENCES.items() if s.contains(k)})
    if not old:
        return {}
    in_file = settings.load()
    moved: dict[str, object] = {}
    for key, new in old.items():
        raw = s.value(key)
        if new in in_file or raw is None:
            continue
        try:
            moved[new] = settings.spec(new).from_text(raw)
        except (KeyError, ValueError) as exc:
            log.warning("the old preference %s=%r in %s is not moved to %s: %s", key, raw,
                        s.fileName(), settings.settings_path(), exc)
    settings.update(moved)  # written before the old keys go: a failed write keeps them
    for key in old:
        s.remove(key)
    s.sync()
    if moved:
        log.info("preferences moved from %s to %s: %s", s.fileName(), settings.settings_path(),
                 ", ".join(sorted(moved)))
    return moved
