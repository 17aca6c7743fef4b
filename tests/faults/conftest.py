"""Fault injection for the ``annotator`` CLI: small tmpfs mounts (a full disk), read-only
mounts (root ignores file modes, so only a read-only mount stops it), damaged databases, and
a small real project (a generated frame folder, masks, segments) built through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

FRAMES, H, W = 24, 48, 64


def run(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def one_line_exit_2(r: subprocess.CompletedProcess, *needles: str) -> str:
    """The fault was named on one line, without a traceback, with exit status 2."""
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, r.stderr
    for needle in needles:
        assert needle.lower() in err.lower(), (needle, err)
    return err


def square(i: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[10:30, 5 + i: 25 + i] = True
    return m


@pytest.fixture(autouse=True)
def _log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_LOG_DIR", str(tmp_path / "logs"))


@pytest.fixture(scope="session")
def frames(tmp_path_factory) -> Path:
    """A frame folder: a bright square moving right on a dark, textured background."""
    d = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for i in range(FRAMES):
        img = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
        img[square(i)] = (230, 200, 40)
        cv2.imwrite(str(d / f"{i:05d}.jpg"), img)
    return d


@pytest.fixture(scope="session")
def mask_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("masks")
    for i in (0, 12):
        cv2.imwrite(str(d / f"{i:05d}.png"), square(i).astype(np.uint8) * 255)
    return d


def make_project(directory: Path, frames: Path, masks: Path) -> Path:
    """A project with one object, a segment over every frame and two anchor masks."""
    assert run("new", frames, "--project", directory).returncode == 0
    segs = directory.parent / f"{directory.name}-segs.csv"
    segs.write_text(f"object,category,start_frame,end_frame\nsun,ball,0,{FRAMES - 1}\n")
    r = run("import", directory, "--segments", segs)
    assert r.returncode == 0, r.stderr
    r = run("import", directory, "--masks", masks, "--object", "sun")
    assert r.returncode == 0, r.stderr
    return directory


@pytest.fixture
def project(tmp_path, frames, mask_dir) -> Path:
    return make_project(tmp_path / "proj", frames, mask_dir)


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def mount_point(tmp_path):
    """Yields ``mount(size=..., ro=...)``: a fresh tmpfs under tmp_path; skipped where this
    machine does not allow mounting (not root, a container without CAP_SYS_ADMIN)."""
    mounted: list[Path] = []

    def mount(size: str = "8m") -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        r = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): the disk-full and "
                        "read-only cases need one")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount_ro(where: Path) -> None:
    r = _mount("-o", "remount,ro", str(where))
    if r.returncode != 0:
        pytest.skip(f"cannot remount {where} read-only ({r.stderr.strip()})")
    probe = where / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return
    pytest.skip("a read-only mount is still writable here")


def remount_rw(where: Path) -> None:
    assert _mount("-o", "remount,rw", str(where)).returncode == 0


def fill(where: Path) -> Path:
    """Fill the file system of ``where`` to the last byte; returns the filler file."""
    filler = where / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler
