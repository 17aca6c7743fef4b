"""The one settings system (``annotator.settings``): every default from
``resources/default-settings.json``, types checked on read (a bad strict key stops with one line,
a bad comfort key falls back with a warning), a damaged file never overwritten, reads from
memory and a re-read when the file changed on disk, and the move of an old version's QSettings
preferences into the JSON file. Real files throughout; a second process writes where a command
run beside the window would."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annotator import resources, settings
from annotator.errors import UserError


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AVS_ANNOTATOR_SETTINGS", str(tmp_path / "qt.ini"))
    settings.reload()
    yield tmp_path / "config" / "settings.json"
    settings.reload()


def write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    settings.reload()


def test_every_default_comes_from_the_package_file(config):
    raw = resources.default_settings()
    assert {"device", "engines.segmenter", "engines.propagator", "pipeline.refine",
            "pipeline.cluster", "cache.frames_mb", "canvas.brush", "guards.area_factor",
            "guards.reviewed_frames", "shortcuts.*"} <= set(raw)
    for key, entry in raw.items():
        name = key.replace("*", "anything")
        assert settings.get(name) == entry["default"], key
        assert entry["if_invalid"] in ("error", "default") and entry["help"]
        if entry["default"] is not None:  # the file agrees with itself
            assert settings.spec(name).check(entry["default"]) == entry["default"]
    assert not config.exists()  # reading never writes
    with pytest.raises(KeyError, match="not a setting"):
        settings.get("canvas.brushh")


def test_set_writes_only_what_differs_from_the_default(config):
    settings.set("canvas.brush", 20)
    settings.update({"device": "cpu", "shortcuts.propagate": "Ctrl+Shift+G"})
    assert json.loads(config.read_text()) == {"canvas.brush": 20, "device": "cpu",
                                              "shortcuts.propagate": "Ctrl+Shift+G"}
    assert settings.get("canvas.brush") == 20 and settings.get("device") == "cpu"
    settings.update({"canvas.brush": 12, "device": None})  # the default, and unset
    assert json.loads(config.read_text()) == {"shortcuts.propagate": "Ctrl+Shift+G"}
    before = config.read_bytes()
    with pytest.raises(ValueError, match=r"canvas.brush must be an integer from 1 to 200"):
        settings.set("canvas.brush", "big")
    with pytest.raises(ValueError, match="guards.area_factor"):
        settings.set("guards.area_factor", 0.5)
    with pytest.raises(KeyError):
        settings.set("brush", 3)
    assert config.read_bytes() == before
    assert not [p for p in config.parent.iterdir() if p.name != "settings.json"]  # no tmp left


def test_types_are_checked_on_read(config, caplog):
    write(config, {"canvas.brush": "big", "cache.frames_mb": 2048.0, "guards.area_factor": 2,
                   "guards.reviewed_frames": True, "shortcuts.undo": 5, "colour": "red",
                   "threads": 4})
    with caplog.at_level(logging.WARNING, logger="annotator.settings"):
        assert settings.get("canvas.brush") == 12  # a comfort key: the default, and a warning
        assert settings.get("cache.frames_mb") == 2048  # a whole number is an integer
        assert settings.get("guards.area_factor") == 2.0
        assert settings.get("guards.reviewed_frames") == 20  # true is not a number
        assert settings.get("shortcuts.undo") is None
        assert settings.get("threads") == 4
    said = [r.getMessage() for r in caplog.records]
    brush = next(m for m in said if "canvas.brush" in m)
    assert str(config) in brush and "'big'" in brush and "default 12" in brush
    assert "Preferences" in brush or "remove the line" in brush
    assert any("'colour'" in m and "not a setting" in m for m in said)
    assert sum("canvas.brush" in m for m in said) == 1  # once per read of the file, not per get
    settings.set("canvas.brush", 30)  # another key is set: the unknown one stays in the file
    assert json.loads(config.read_text())["colour"] == "red"


def test_a_bad_strict_value_is_one_line_naming_the_file_and_the_key(config):
    write(config, {"device": 0, "precision": "fp8", "canvas.brush": 20})
    with pytest.raises(UserError) as err:
        settings.get("device")
    text = str(err.value)
    assert str(config) in text and "device must be a string, not 0" in text
    assert "remove the line" in text and "\n" not in text
    with pytest.raises(UserError, match="precision must be one of auto, fp32, bf16, fp16"):
        settings.get("precision")
    assert settings.get("canvas.brush") == 20  # the other keys still read
    assert settings.for_editing("device") == "auto"  # what Preferences shows, to fix it


def test_a_damaged_file_stops_and_is_never_overwritten(config):
    write(config, '{"device": "cpu",\n  "canvas.brush": 20,,}')
    with pytest.raises(UserError, match=r"is not valid JSON \(line 2\): fix or delete it") as e:
        settings.get("canvas.brush")
    assert str(config) in str(e.value)
    with pytest.raises(UserError, match="not valid JSON"):
        settings.set("canvas.brush", 30)
    assert config.read_text() == '{"device": "cpu",\n  "canvas.brush": 20,,}'
    write(config, '["device", "cpu"]')
    with pytest.raises(UserError, match="must hold a JSON object"):
        settings.get("device")
    settings.remember("canvas.brush", 30)  # the window closing: a warning, no error
    assert config.read_text() == '["device", "cpu"]'


def _beside(config: Path, code: str) -> None:
    """Run ``code`` in another process on the same settings (a command beside the window)."""
    env = dict(os.environ, AVS_ANNOTATOR_CONFIG_DIR=str(config.parent))
    subprocess.run([sys.executable, "-c", f"from annotator import settings; {code}"],
                   env=env, check=True, timeout=120)


def test_reads_come_from_memory_and_follow_the_file_on_disk(config, monkeypatch, caplog):
    now = [1000.0]
    monkeypatch.setattr(settings, "_clock", lambda: now[0])
    settings.set("canvas.brush", 20)
    reads = []
    real_load, real_stamp = settings.load, settings._stamp
    monkeypatch.setattr(settings, "load", lambda: reads.append("load") or real_load())
    monkeypatch.setattr(settings, "_stamp", lambda p: reads.append("stat") or real_stamp(p))
    for _ in range(1000):
        assert settings.get("canvas.brush") == 20
    assert reads == []  # a thousand reads, no disk
    _beside(config, "settings.set('canvas.brush', 33); settings.set('device', 'cpu')")
    now[0] += 0.5
    assert settings.get("canvas.brush") == 20 and reads == []  # not looked at yet
    now[0] += 0.6
    assert settings.get("canvas.brush") == 33 and settings.get("device") == "cpu"
    assert reads == ["stat", "load"]  # one look, one read
    now[0] += 5
    assert settings.get("device") == "cpu" and reads == ["stat", "load", "stat"]  # unchanged
    # the window keeps its values when the file is damaged meanwhile (a half-saved edit)
    config.write_text('{"canvas.brush": ', encoding="utf-8")
    now[0] += 5
    with caplog.at_level(logging.WARNING, logger="annotator.settings"):
        assert settings.get("canvas.brush") == 33
    assert any("not valid JSON" in r.getMessage() and "kept" in r.getMessage()
               for r in caplog.records)
    settings.reload()  # an explicit reload reads the file now
    with pytest.raises(UserError, match="not valid JSON"):
        settings.get("canvas.brush")


def test_set_keeps_what_another_process_wrote_meanwhile(config, monkeypatch):
    monkeypatch.setattr(settings, "_clock", lambda: 0.0)  # no look at the disk on read
    settings.set("canvas.brush", 20)
    _beside(config, "settings.set('device', 'cpu')")
    assert settings.get("device") == "auto"  # memory, not yet looked at
    settings.set("pipeline.refine", "off")  # a write reads the file first
    assert json.loads(config.read_text()) == {"canvas.brush": 20, "device": "cpu",
                                              "pipeline.refine": "off"}
    assert settings.get("device") == "cpu"


OLD_INI = """[General]
last_project=/data/a.avsproj
recent=/data/a.avsproj

[cache]
frames_mb=1024

[canvas]
brush=30

[engines]
device=cpu
propagator=auto
segmenter=fallback

[guards]
area_factor=2.5
reviewed_frames=many

[pipeline]
cluster=ray://head:10001
refine=off

[places]
0123456789abcdef\\frame=40
0123456789abcdef\\path=/data/a.avsproj

[shortcuts]
propagate=Ctrl+Shift+K
undo=Ctrl+Alt+Z

[window]
state=@ByteArray(xyz)
"""


def test_old_qsettings_preferences_move_into_the_json_once(config, tmp_path, caplog):
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    from annotator.gui import settings as gui_settings

    ini = tmp_path / "qt.ini"
    ini.write_text(OLD_INI, encoding="utf-8")
    write(config, {"pipeline.refine": "every", "canvas.brush": 25})  # already here: they win
    with caplog.at_level(logging.WARNING, logger="annotator.gui.settings"):
        moved = gui_settings.move_old_preferences()
    assert moved == {"cache.frames_mb": 1024, "device": "cpu", "engines.propagator": "auto",
                     "engines.segmenter": "fallback", "guards.area_factor": 2.5,
                     "pipeline.cluster": "ray://head:10001", "shortcuts.propagate":
                     "Ctrl+Shift+K", "shortcuts.undo": "Ctrl+Alt+Z"}
    assert json.loads(config.read_text()) == {
        "cache.frames_mb": 1024, "canvas.brush": 25, "device": "cpu",
        "engines.segmenter": "fallback", "guards.area_factor": 2.5,
        "pipeline.cluster": "ray://head:10001", "pipeline.refine": "every",
        "shortcuts.propagate": "Ctrl+Shift+K", "shortcuts.undo": "Ctrl+Alt+Z"}
    bad = next(r.getMessage() for r in caplog.records if "reviewed_frames" in r.getMessage())
    assert "'many'" in bad and str(ini) in bad  # a value that cannot be moved is said, dropped
    left = QSettings(str(ini), QSettings.Format.IniFormat)
    assert sorted(left.allKeys()) == ["last_project", "places/0123456789abcdef/frame",
                                      "places/0123456789abcdef/path", "recent", "window/state"]
    assert settings.get("shortcuts.propagate") == "Ctrl+Shift+K"
    text = config.read_text()
    assert gui_settings.move_old_preferences() == {}  # once: nothing left to move
    assert config.read_text() == text
