"""``annotator install-desktop [--user|--system] [--uninstall]``: the menu entry, the icon and the
project MIME types, the freedesktop way.

Writes, under the XDG data folder (``--user``: ``$XDG_DATA_HOME``, default ``~/.local/share``;
``--system``: the first of ``$XDG_DATA_DIRS``, default ``/usr/local/share``):

- ``applications/avs-annotator.desktop`` (its ``Exec`` names this install's ``annotator``),
- ``icons/hicolor/scalable/apps/avs-annotator.svg``,
- ``mime/packages/avs-annotator.xml`` (``*.avsproj`` project folders, ``project.avs`` stores),

then runs ``update-mime-database``, ``update-desktop-database`` and ``gtk-update-icon-cache``
where they are installed (never required: desktops rescan at the next login). On macOS and
Windows the app bundle does this instead, and the command says so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from annotator import resources
from annotator.errors import UserError

ENTRY = f"applications/{resources.APP_ID}.desktop"
ICON = f"icons/hicolor/scalable/apps/{resources.APP_ID}.svg"
MIME = f"mime/packages/{resources.APP_ID}.xml"

ELSEWHERE = {
    "darwin": "on macOS the app bundle declares its icon and the .avsproj document type in its "
              "Info.plist: drag 'AVS Annotator.app' into Applications (packaging/README.md); "
              "nothing to install here",
    "win32": "on Windows there is no freedesktop menu: pin the bundle's annotator.exe to Start "
             "or make a shortcut to it (packaging/README.md); nothing to install here",
}


def register(sub) -> None:
    p = sub.add_parser("install-desktop",
                       help="add the menu entry, icon and project file types (Linux desktops)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--user", dest="system", action="store_false",
                       help="for this user, in $XDG_DATA_HOME (the default)")
    where.add_argument("--system", dest="system", action="store_true",
                       help="for every user, in the first of $XDG_DATA_DIRS (needs root)")
    p.add_argument("--uninstall", action="store_true", help="remove what install-desktop added")
    p.set_defaults(func=cmd_install_desktop, system=False)


def data_dir(system: bool) -> Path:
    """The XDG data folder for a user or a system-wide install."""
    if system:
        dirs = [d for d in os.environ.get("XDG_DATA_DIRS", "").split(os.pathsep) if d]
        return Path(dirs[0] if dirs else "/usr/local/share")
    home = os.environ.get("XDG_DATA_HOME")
    return Path(home) if home else Path.home() / ".local" / "share"


def command_path() -> str:
    """This install's ``annotator``: the bundle's executable, the script beside this Python
    (a venv's ``bin/``), or the one on PATH."""
    if getattr(sys, "frozen", False):
        return sys.executable
    beside = Path(sys.executable).parent / ("annotator.exe" if os.name == "nt" else "annotator")
    if beside.is_file():
        return str(beside)
    return shutil.which("annotator") or "annotator"


def _exec_arg(value: str) -> str:
    """Quote one Exec argument as the Desktop Entry spec asks."""
    if not any(c in value for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return value
    for c in '\\"`$':
        value = value.replace(c, "\\" + c)
    return f'"{value}"'


def desktop_entry(command: str) -> str:
    """The packaged ``.desktop`` entry with ``Exec``/``TryExec`` naming ``command``."""
    lines = []
    for line in resources.read_text(resources.DESKTOP_ENTRY).splitlines():
        if line.startswith("Exec="):
            line = f"Exec={_exec_arg(command)} open %f"
        elif line.startswith("TryExec="):
            line = f"TryExec={command}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _refresh(base: Path) -> list[str]:
    """Run the desktop's cache tools that are installed; a line for each one that failed."""
    problems = []
    for tool, args in (("update-mime-database", [str(base / "mime")]),
                       ("update-desktop-database", ["-q", str(base / "applications")]),
                       ("gtk-update-icon-cache", ["-q", "-t", "-f", str(base / "icons/hicolor")])):
        exe = shutil.which(tool)
        if exe is None or not (base / args[-1]).exists():
            continue
        try:
            done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{tool}: {exc}")
            continue
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()
            problems.append(f"{tool}: {last[-1] if last else f'exit {done.returncode}'}")
    return problems


def install(base: Path, command: str | None = None) -> list[Path]:
    """Write the entry, icon and MIME types under ``base``; the files written."""
    files = {
        base / ENTRY: desktop_entry(command or command_path()).encode(),
        base / ICON: resources.icon_path().read_bytes(),
        base / MIME: resources.read_text(resources.MIME_XML).encode(),
    }
    for target, data in files.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            raise UserError(f"{target}: cannot write ({exc.strerror}); run as root for --system, "
                            "or use --user") from None
    return list(files)


def uninstall(base: Path) -> list[Path]:
    """Remove what :func:`install` wrote under ``base`` (nothing else); the files removed."""
    removed = []
    for rel in (ENTRY, ICON, MIME):
        target = base / rel
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UserError(f"{target}: cannot remove ({exc.strerror}); run as root for "
                            "--system") from None
        removed.append(target)
    return removed


def cmd_install_desktop(args: argparse.Namespace) -> int:
    platform = "linux" if sys.platform.startswith(("linux", "freebsd")) else sys.platform
    if platform in ELSEWHERE:
        print(f"annotator: {ELSEWHERE[platform]}")
        return 0
    base = data_dir(args.system)
    if args.uninstall:
        done = uninstall(base)
        print("removed:" if done else f"nothing of AVS Annotator was installed under {base}")
    else:
        done = install(base)
        print("installed:")
    for path in done:
        print(f"  {path}")
    for line in _refresh(base):
        print(f"annotator: {line} (the files are in place; the desktop sees them at next login)")
    return 0
