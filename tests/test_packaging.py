"""Packaging (issue 13): the version in one place, resources as package data, and
``annotator install-desktop`` into a temporary XDG data folder, checked with the freedesktop
tools (``desktop-file-validate``, ``update-mime-database``) and with Qt loading the installed icon.

The wheel itself (built, installed non-editable into a fresh venv, run from outside the
checkout) is checked by ``packaging/check_wheel.sh``, which .ci/run runs.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import annotator
from annotator import resources

ROOT = Path(__file__).resolve().parents[1]
APT = "apt-get install -y desktop-file-utils"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "annotator.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def _tool(name: str) -> str:
    """A freedesktop tool; skip without it, but fail under CI (.ci/run installs it)."""
    exe = shutil.which(name)
    if exe is None:
        msg = f"{name} is not installed ({APT})"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def test_version_is_in_one_place() -> None:
    done = _cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"annotator {annotator.__version__}"
    assert metadata.version("avs-annotator") == annotator.__version__
    project = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    assert 'dynamic = ["version"]' in project
    assert "\nversion =" not in project  # no second copy of the number


def test_every_resource_file_is_declared_package_data() -> None:
    """A file added to annotator/resources without a package-data glob would be missing from
    the wheel; this lists the globs from pyproject and matches every file against them."""
    text = (ROOT / "pyproject.toml").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith('"annotator.resources" ='))
    globs = [g.strip().strip('"') for g in line.split("=", 1)[1].strip(" []").split(",")]
    base = ROOT / "annotator" / "resources"
    files = [p.relative_to(base).as_posix() for p in base.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert not missing, f"not package data: {missing}"
    for name in files:  # and importlib.resources finds each one
        assert resources.path(name).read_bytes() == (base / name).read_bytes()


def test_window_icon_comes_from_the_package(qapp) -> None:
    from annotator.gui.app import application

    app = application()
    icon_file = Path(app.property("iconPath"))
    assert icon_file == resources.icon_path()
    assert icon_file.is_relative_to(Path(annotator.__file__).parent / "resources")
    assert not app.windowIcon().pixmap(64, 64).isNull()


def test_install_desktop_user_into_xdg_data_home(tmp_path: Path, qapp) -> None:
    from PySide6.QtGui import QIcon

    data = tmp_path / "share"
    other = data / "applications" / "someone-else.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=true\n")
    done = _cli("install-desktop", "--user", env={"XDG_DATA_HOME": str(data)})
    assert done.returncode == 0, done.stderr
    entry = data / "applications" / "avs-annotator.desktop"
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / "avs-annotator.svg"
    mime = data / "mime" / "packages" / "avs-annotator.xml"
    for path in (entry, icon, mime):
        assert str(path) in done.stdout

    # the entry: valid for the freedesktop validator, its command this install's annotator
    check = subprocess.run([_tool("desktop-file-validate"), str(entry)], capture_output=True,
                           text=True, timeout=60)
    problems = [ln for ln in (check.stdout + check.stderr).splitlines() if "hint:" not in ln]
    assert check.returncode == 0 and not problems, problems
    fields = dict(ln.split("=", 1) for ln in entry.read_text().splitlines() if "=" in ln)
    command = fields["Exec"].split(" ")[0].strip('"')
    assert os.access(command, os.X_OK), command
    assert fields["Icon"] == "avs-annotator"
    assert "inode/x-avs-annotator-project" in fields["MimeType"]

    # the icon: Qt finds it by name in the hicolor theme under the XDG folder, and draws it.
    # A desktop's hicolor index.theme comes from the system (hicolor-icon-theme); a minimal one
    # stands in for it here, in a second search path, as /usr/share/icons would be.
    assert not QIcon(str(icon)).pixmap(48, 48).isNull()
    system = tmp_path / "system-icons" / "hicolor"
    system.mkdir(parents=True)
    (system / "index.theme").write_text(
        "[Icon Theme]\nName=Hicolor\nDirectories=scalable/apps\n\n"
        "[scalable/apps]\nSize=48\nMinSize=1\nMaxSize=512\nType=Scalable\n")
    paths, fallback = QIcon.themeSearchPaths(), QIcon.fallbackThemeName()
    try:
        QIcon.setThemeSearchPaths([str(data / "icons"), str(system.parent)])
        QIcon.setFallbackThemeName("hicolor")
        themed = QIcon.fromTheme("avs-annotator")
        assert not themed.isNull() and not themed.pixmap(48, 48).isNull()
    finally:
        QIcon.setThemeSearchPaths(paths)
        QIcon.setFallbackThemeName(fallback)

    # the MIME types: update-mime-database (run by the command) compiled the globs
    _tool("update-mime-database")
    globs = (data / "mime" / "globs2").read_text()
    assert "inode/x-avs-annotator-project:*.avsproj" in globs
    assert "application/x-avs-annotator-project:project.avs" in globs

    done = _cli("install-desktop", "--uninstall", env={"XDG_DATA_HOME": str(data)})
    assert done.returncode == 0, done.stderr
    assert not entry.exists() and not icon.exists() and not mime.exists()
    assert other.exists()  # only what it installed is removed
    assert "avsproj" not in (data / "mime" / "globs2").read_text()


def test_install_desktop_system_unwritable_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    done = _cli("install-desktop", "--system", env={"XDG_DATA_DIRS": str(blocker)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(blocker) in lines[0] and "--user" in lines[0], lines


@pytest.mark.parametrize(("platform", "says"), [("darwin", "AVS Annotator.app"),
                                                 ("win32", "annotator.exe")])
def test_install_desktop_elsewhere_says_what_the_bundle_does(monkeypatch, tmp_path: Path, capsys,
                                                            platform: str, says: str) -> None:
    from annotator import cli

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", platform)
    assert cli.main(["install-desktop"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and says in out[0]
    assert not any(tmp_path.iterdir())


def test_python_dash_m_annotator_is_the_annotator_command() -> None:
    """``python -m annotator --version`` answered "No module named annotator.__main__"."""
    done = subprocess.run([sys.executable, "-m", "annotator", "--version"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"annotator {annotator.__version__}"
