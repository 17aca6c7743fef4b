"""A full disk and read-only media (a real tmpfs, filled or remounted read-only): every command
names the fault on one line (exit 2), and nothing committed is lost."""

from __future__ import annotations

import json
import shutil

from tests.faults.conftest import fill, make_project, one_line_exit_2, remount_ro, run


def info(project) -> dict:
    r = run("info", project, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_disk_full_every_writer_says_so_and_keeps_the_project(mount_point, frames, mask_dir,
                                                              tmp_path):
    disk = mount_point("6m")
    project = make_project(disk / "proj", frames, mask_dir)
    before = info(project)
    filler = fill(disk)
    full = "space"  # "the disk is full; free some space", or the OS words "No space left"
    one_line_exit_2(run("propagate", project, "--engine", "fallback", "--refine", "off"), full)
    one_line_exit_2(run("export", project, "--format", "png", "-o", disk / "png"), full)
    one_line_exit_2(run("new", frames, "--project", disk / "other"), full)
    segs = tmp_path / "more.csv"
    segs.write_text("object,category,start_frame,end_frame\nmoon,ball,2,9\n")
    one_line_exit_2(run("import", project, "--segments", segs), full)
    assert info(project)["masks"] == before["masks"]  # readers work on the full disk
    assert not (disk / "other").exists() and not list(disk.glob(".other.creating-*"))
    filler.unlink()
    after = info(project)
    assert {k: after[k] for k in ("masks", "segments", "objects")} == \
        {k: before[k] for k in ("masks", "segments", "objects")}
    assert run("check", project).returncode == 0
    r = run("propagate", project, "--engine", "fallback", "--refine", "off")
    assert r.returncode == 0, r.stderr  # space freed: it resumes
    assert info(project)["masks"] > before["masks"]


def test_read_only_media_readers_work_writers_are_refused(mount_point, frames, mask_dir,
                                                          tmp_path):
    disk = mount_point("16m")
    project = make_project(disk / "proj", frames, mask_dir)
    # a clean close leaves the database alone (no -wal); a copy arrives without its -shm
    assert not (project / "project.avs-wal").exists()
    (project / "project.avs-shm").unlink(missing_ok=True)
    before = info(project)
    remount_ro(disk)
    assert info(project) == before
    r = run("export", project, "--format", "coco", "-o", tmp_path / "out.json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads((tmp_path / "out.json").read_text())["annotations"]) == 2
    assert run("review", project).returncode == 0
    assert run("check", project).returncode == 0
    refused = "cannot be opened for writing"
    one_line_exit_2(run("propagate", project, "--engine", "fallback", "--refine", "off"),
                    refused, str(project))
    segs = tmp_path / "more.csv"
    segs.write_text("object,category,start_frame,end_frame\nmoon,ball,2,9\n")
    one_line_exit_2(run("import", project, "--segments", segs), refused)
    one_line_exit_2(run("relink", project, frames), refused)
    one_line_exit_2(run("new", frames, "--project", disk / "other"), "read-only")
    one_line_exit_2(run("export", project, "-o", disk / "x.json"), "read-only")
    one_line_exit_2(run("export", project, "--format", "png", "-o", disk / "png"),
                    str(disk / "png"), "choose a folder on a writable disk")


def test_unclean_wal_on_read_only_media_still_reads(mount_point, project):
    """A project copied while open (its -wal holds the last commits) onto read-only media."""
    disk = mount_point("16m")
    (disk / "proj").mkdir()
    (project / "project.avs-wal").write_bytes(b"")
    import sqlite3

    db = sqlite3.connect(project / "project.avs")  # a writer still open: the -wal stays
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("INSERT INTO meta(key, value) VALUES ('x', '1')")
    for name in ("project.avs", "project.avs-wal"):
        shutil.copy(project / name, disk / "proj" / name)
    db.close()
    remount_ro(disk)
    r = run("info", disk / "proj", "--json")  # SQLite reads the -wal without an -shm
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["masks"] == info(project)["masks"] == 2


def test_a_read_only_mount_is_called_read_only(mount_point, frames, mask_dir):
    """A project folder that is a disk of its own (a mount point): making a project on it read
    'Device or resource busy' (a rename cannot replace a mount point), whether the disk could
    be written or not. Read-only, it is now named so, with what to do; writable, it works."""
    ro = mount_point("8m")
    remount_ro(ro)
    err = one_line_exit_2(run("new", frames, "--project", ro), str(ro), "read-only disk",
                          "choose a folder on a writable disk")
    assert "busy" not in err.lower()
    assert not (ro.parent / f".{ro.name}.creating-").exists()
    assert not [p for p in ro.parent.iterdir() if ".creating-" in p.name]

    disk = mount_point("16m")
    project = make_project(disk, frames, mask_dir)  # the mount point itself is the project
    assert info(project)["masks"] == 2
    assert not [p for p in [*disk.iterdir(), *disk.parent.iterdir()] if ".creating-" in p.name]
    remount_ro(disk)
    for args in (("propagate", project, "--engine", "fallback", "--refine", "off"),
                 ("relink", project, frames)):
        err = one_line_exit_2(run(*args), str(project), "read-only disk",
                              "copy the project to a writable folder")
        assert "busy" not in err.lower() and "(Read-only file system)" not in err
