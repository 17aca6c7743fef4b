"""Per-user settings: one JSON file in the user config folder.

Keys are dotted names with plain JSON values, for example::

    models.dir            folder for downloaded model files (default: per-user data folder)
    models.base_url       mirror / offline base URL for downloads (``file:///mnt/models/``)
    models.paths.<name>   an explicit file for a registry entry (``models.paths.sam_vit_b``)
    device                ``auto`` | ``cuda`` | ``cuda:1`` | ``mps`` | ``cpu``
    threads               CPU threads for torch (0 = torch's default)
    half                  ``auto`` | ``true`` | ``false`` (half precision on CUDA)

The folder is ``platformdirs.user_config_dir("avs-annotator")``, or ``$AVS_ANNOTATOR_CONFIG_DIR``
when set (tests use it).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

from annotator import resources
from annotator.errors import UserError

APP_NAME = "avs-annotator"
CONFIG_ENV = "AVS_ANNOTATOR_CONFIG_DIR"
FILE_NAME = "settings.json"

DEFAULTS: dict[str, Any] = resources.default_settings()  # annotator/resources/default-settings.json


def config_dir() -> Path:
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


DATA_ENV = "AVS_ANNOTATOR_DATA_DIR"


def user_data_dir() -> Path:
    """Per-user data folder (model files live in ``<this>/models`` unless ``models.dir``;
    projects of videos in folders one cannot write to live in ``<this>/projects``), or
    ``$AVS_ANNOTATOR_DATA_DIR``."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME))


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def load() -> dict[str, Any]:
    """All settings in the file (without defaults). A missing file is an empty dict."""
    path = settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UserError(f"cannot read the settings file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise UserError(
            f"the settings file {path} is not valid JSON (line {exc.lineno}): fix or delete it"
        ) from exc
    if not isinstance(data, dict):
        raise UserError(f"the settings file {path} must hold a JSON object: fix or delete it")
    return data


def get(key: str, default: Any = None) -> Any:
    """A setting's value, else its built-in default, else ``default``."""
    data = load()
    if key in data:
        return data[key]
    return DEFAULTS.get(key, default)


def set(key: str, value: Any) -> None:  # noqa: A001 - the natural name for this module
    """Set (or with ``value=None`` remove) one key; the file is replaced atomically."""
    data = load()
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
