"""Persistent settings (``QSettings``): window layout, recent projects, preferences.

``AVS_ANNOTATOR_SETTINGS`` names an INI file to use instead of the per-user default (tests and
portable installs use it).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORG = "AVS Annotator"
APP = "AVS Annotator"
MAX_RECENT = 10

DEFAULTS: dict[str, object] = {
    "engines/segmenter": "auto",
    "engines/propagator": "auto",
    "engines/device": "auto",
    "pipeline/refine": "auto",
    "cache/frames_mb": 512,
    "canvas/brush": 12,
}


def app_settings() -> QSettings:
    path = os.environ.get("AVS_ANNOTATOR_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


def value(key: str, default: object | None = None) -> object:
    return app_settings().value(key, DEFAULTS.get(key, default) if default is None else default)


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
