"""Per-user settings: one JSON file in the user config folder, the one place for preferences.

Every key, with its default, its type and its meaning, is written once, in
``annotator/resources/default-settings.json`` (``shortcuts.*`` and ``models.paths.*`` stand for
families of keys); the file in the config folder holds only what differs from it, as one JSON
object of dotted keys (``{"device": "cuda", "canvas.brush": 20}``). The window, the command line
and the engines all read it here; QSettings keeps only the window's own layout.

Reads come from memory: the file is read once, and again when it changed on disk (its
modification time is looked at, at most once a second, so a command run beside the window sees
the same values and the window sees the command's). :func:`set` and :func:`update` re-read the
file, write it atomically and update the memory.

A bad value is handled by what its key decides (``if_invalid`` in the defaults file): keys that
decide what runs where and what comes out (device, precision, engines, refine policy, model
files, the cluster) stop with a :class:`~annotator.errors.UserError` naming the file, the key and
what to do — a long batch on another device or with another model than the one a person set is
worse than a stop; the window's own comfort (brush, frame cache, the questions before an accept
or a re-propagation, shortcuts) falls back to the default with a warning in the log, so one typo
never keeps the window from opening. A file that is not a JSON object is a ``UserError`` (and is
never overwritten); once good values were read, a later damage keeps them, with a warning.

The folder is ``platformdirs.user_config_dir("avs-annotator")``, or ``$AVS_ANNOTATOR_CONFIG_DIR``
when set (tests use it).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from annotator import resources
from annotator.errors import UserError

APP_NAME = "avs-annotator"
CONFIG_ENV = "AVS_ANNOTATOR_CONFIG_DIR"
FILE_NAME = "settings.json"
DATA_ENV = "AVS_ANNOTATOR_DATA_DIR"
CHECK_INTERVAL_S = 1.0  # how often a read looks whether the file changed on disk
_clock = time.monotonic  # (tests play the clock)

log = logging.getLogger(__name__)


def config_dir() -> Path:
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def user_data_dir() -> Path:
    """Per-user data folder (model files live in ``<this>/models`` unless ``models.dir``;
    projects of videos in folders one cannot write to live in ``<this>/projects``), or
    ``$AVS_ANNOTATOR_DATA_DIR``."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME))


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


# -- the keys: default-settings.json ------------------------------------------------------------
_KINDS = {str: "string", bool: "boolean", int: "integer", float: "number"}


@dataclass(frozen=True)
class Spec:
    """One key of the defaults file: its default, type, bounds and what a bad value does."""

    key: str
    default: Any
    kind: str  # string | boolean | integer | number
    help: str
    strict: bool  # a bad value: a UserError (True), else the default and a warning
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        """What a value must be, in words: ``an integer from 1 to 200``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        words = {"string": "a string", "boolean": "true or false", "integer": "an integer",
                 "number": "a number"}[self.kind]
        if self.minimum is not None and self.maximum is not None:
            return f"{words} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{words} of at least {self.minimum:g}"
        return words

    def check(self, value: Any) -> Any:
        """``value`` as this key's type; ``ValueError`` (saying what it must be) if it is not."""
        ok = False
        if self.kind == "string":
            ok = isinstance(value, str) and (not self.choices or value in self.choices)
        elif self.kind == "boolean":
            ok = isinstance(value, bool)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if self.kind == "integer" and float(value).is_integer():
                value, ok = int(value), True
            elif self.kind == "number":
                value, ok = float(value), True
            if ok and ((self.minimum is not None and value < self.minimum)
                       or (self.maximum is not None and value > self.maximum)):
                ok = False
        if not ok:
            raise ValueError(f"{self.key} must be {self.describe()}, not {value!r}")
        return value

    def from_text(self, text: str) -> Any:
        """A value written as text (an INI file's ``512``, ``true``) as this key's type."""
        if not isinstance(text, str) or self.kind == "string":
            return self.check(text)
        word = text.strip()
        if self.kind == "boolean" and word.lower() in ("true", "false"):
            return word.lower() == "true"
        try:
            return self.check(int(word) if self.kind == "integer" else float(word))
        except ValueError:
            raise ValueError(f"{self.key} must be {self.describe()}, not {text!r}") from None


def _specs(raw: dict[str, dict[str, Any]]) -> dict[str, Spec]:
    out = {}
    for key, entry in raw.items():
        default = entry["default"]
        kind = entry.get("type") or _KINDS[type(default)]
        out[key] = Spec(key, default, kind, entry.get("help", ""),
                        strict=entry["if_invalid"] == "error",
                        choices=tuple(entry.get("choices", ())),
                        minimum=entry.get("min"), maximum=entry.get("max"))
    return out


SPECS: dict[str, Spec] = _specs(resources.default_settings())


def spec(key: str) -> Spec:
    """The key's entry in the defaults file (``shortcuts.undo``: the ``shortcuts.*`` entry);
    ``KeyError`` for a key it does not list."""
    found = SPECS.get(key)
    if found is None and "." in key:
        family = SPECS.get(key.rsplit(".", 1)[0] + ".*")
        if family is None and key.startswith("models.paths."):  # sam2.1_hiera_tiny: a dot
            family = SPECS.get("models.paths.*")                 # in the model's own name
        elif family is not None and key.count(".") != family.key.count("."):
            family = None
        if family is not None:
            found = Spec(key, family.default, family.kind, family.help, family.strict,
                         family.choices, family.minimum, family.maximum)
    if found is None:
        raise KeyError(f"{key!r} is not a setting (annotator/resources/default-settings.json "
                       "lists them)")
    return found


# -- the file, and its values in memory ---------------------------------------------------------
def load() -> dict[str, Any]:
    """All settings in the file, as written (without defaults), read now. A missing file is an
    empty dict; a file that cannot be read or is not a JSON object is a ``UserError``."""
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


@dataclass
class _Loaded:
    path: Path
    stamp: tuple | None  # (mtime, size, inode) of the file read; None: no file
    checked: float  # _clock() of the last look at the file
    values: dict[str, Any] = field(default_factory=dict)  # the file's valid values
    errors: dict[str, str] = field(default_factory=dict)  # strict keys with a bad value
    failure: UserError | None = None  # the file could not be read at all


_state: _Loaded | None = None
_lock = threading.Lock()


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _validated(path: Path, stamp: tuple | None, data: dict[str, Any]) -> _Loaded:
    out = _Loaded(path, stamp, _clock())
    for key, value in data.items():
        try:
            sp = spec(key)
        except KeyError:
            log.warning("the settings file %s: %r is not a setting this version knows; it is "
                        "left as it is and not used", path, key)
            continue
        try:
            out.values[key] = sp.check(value)
        except ValueError as exc:
            if sp.strict:
                out.errors[key] = (f"the settings file {path}: {exc}: fix it, or remove the "
                                   f"line to use the default ({sp.default!r})")
            else:
                log.warning("the settings file %s: %s; the default %r is used: change it in "
                            "Edit ▸ Preferences or remove the line", path, exc, sp.default)
    return out


def _current() -> _Loaded:
    """The values in memory, read again when the file changed on disk (looked at no more than
    once every :data:`CHECK_INTERVAL_S`)."""
    global _state
    path, now = settings_path(), _clock()
    st = _state
    if st is not None and st.path == path and now - st.checked < CHECK_INTERVAL_S:
        return st
    with _lock:
        st = _state
        stamp = _stamp(path)
        if st is not None and st.path == path and st.stamp == stamp and st.failure is None:
            st.checked = now
            return st
        try:
            new = _validated(path, stamp, load())
        except UserError as exc:
            if st is not None and st.path == path and st.failure is None:
                log.warning("%s; the values read before are kept meanwhile", exc)
                st.stamp, st.checked = stamp, now
                return st
            new = _Loaded(path, stamp, now, failure=exc)
        _state = new
        return new


def reload() -> None:
    """Forget the values in memory: the next read reads the file."""
    global _state
    with _lock:
        _state = None


def get(key: str, _ignored: Any = None) -> Any:
    """The setting's value: the file's, else the default in the defaults file. A key the
    defaults file does not list is a ``KeyError``; a bad value of a strict key, or a file that
    cannot be read, is a ``UserError`` (see the module). The second argument is ignored (every
    default lives in the defaults file); callers written before it drop it."""
    sp = spec(key)
    st = _current()
    if st.failure is not None:
        raise st.failure
    if key in st.errors:
        raise UserError(st.errors[key])
    return st.values.get(key, sp.default)


def for_editing(key: str) -> Any:
    """The setting's value for a form that shows it (Preferences, the batch dialog): as
    :func:`get`, but the default where the file holds a bad value or cannot be read, so the
    form opens and saving it puts a good value there (or says why it cannot)."""
    try:
        return get(key)
    except UserError:
        return spec(key).default


def set(key: str, value: Any) -> None:  # noqa: A001 - the natural name for this module
    """Set one key (``None`` or the default: remove it, so the default applies)."""
    update({key: value})


def remember(key: str, value: Any) -> None:
    """:func:`set`, for what the app keeps on its own (the brush radius when the window
    closes): a settings file that cannot be written is a warning in the log, not an error."""
    try:
        update({key: value})
    except UserError as exc:
        log.warning("%s; %s=%r is not remembered", exc, key, value)


def update(values: Mapping[str, Any]) -> None:
    """Set several keys in one atomic write (see :func:`set`). A value of the wrong type is a
    ``ValueError``; another process's changes to other keys are kept (the file is read first);
    a damaged file, or one that cannot be written, is a ``UserError`` (and stays as it is)."""
    global _state
    checked = {k: (None if v is None else spec(k).check(v)) for k, v in values.items()}
    path = settings_path()
    with _lock:
        data = load()
        new = dict(data)
        for key, value in checked.items():
            if value is None or value == spec(key).default:
                new.pop(key, None)
            else:
                new[key] = value
        if new != data:
            try:
                _write(path, new)
            except OSError as exc:
                raise UserError(f"cannot write the settings file {path}: {exc.strerror}: make "
                                f"its folder writable, or set ${CONFIG_ENV} to one that is"
                                ) from exc
        _state = _validated(path, _stamp(path), new)


def _write(path: Path, data: dict[str, Any]) -> None:
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


# -- the person ---------------------------------------------------------------------------------
_acting_as: str | None = None  # ``annotator --as NAME``: this process works as NAME


def login_name() -> str:
    """The operating system's name of the person logged in ("unknown" where it has none)."""
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except Exception:  # noqa: BLE001 - no login name (a container without $USER): a name still
        return "unknown"


def person() -> str:
    """Who is working: ``--as NAME`` (:func:`acting_as`), else the ``person.name`` setting, else
    the login name. Recorded with every operation, review and second of active time."""
    if _acting_as:
        return _acting_as
    try:
        name = str(get("person.name") or "").strip()
    except UserError:  # a damaged settings file: the login name, the window still opens
        name = ""
    return name or login_name()


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """``with acting_as("alice"):`` — :func:`person` is ``alice`` inside (None or "": as before)."""
    global _acting_as
    before = _acting_as
    if name and name.strip():
        _acting_as = name.strip()
    try:
        yield
    finally:
        _acting_as = before
