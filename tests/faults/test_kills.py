"""SIGKILL at random moments during ``annotator new`` and ``annotator import``: afterwards
there is either no project or a whole one (never a folder no command can use), the next
command goes on, and the result equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.faults.conftest import run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
KILLS = 30


def spawn(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "annotator.cli", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL ``proc`` after ``delay`` s; whether it was still running then."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def summary(project) -> dict:
    r = run("info", project, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    s.pop("project")
    return s


def timed(*args) -> float:
    t = time.monotonic()
    r = run(*args)
    assert r.returncode == 0, r.stderr
    return time.monotonic() - t


def appeared(target) -> bool:
    """Whether ``annotator new`` has started writing: the project folder or its hidden
    sibling exists."""
    return target.exists() or any(target.parent.glob(f".{target.name}.creating-*"))


def started(proc: subprocess.Popen, target) -> float:
    """Wait until ``proc`` starts writing ``target``; the time that took."""
    t = time.monotonic()
    while not appeared(target) and proc.poll() is None:
        time.sleep(0.0005)
    return time.monotonic() - t


@pytest.mark.slow  # 30 kills, each followed by info (and new): about a minute on 2 cores
def test_sigkill_during_new_leaves_no_project_or_a_whole_one(shared, tmp_path):
    frames = shared("data", "davis2016", "boat", "JPEGImages")
    whole = tmp_path / "whole"
    proc = spawn("new", frames, "--project", whole)
    started(proc, whole)
    t = time.monotonic()
    assert proc.wait() == 0
    writing = time.monotonic() - t  # from the first file written to the end
    reference = summary(whole)
    rng = random.Random(11)
    killed = partial = 0
    for k in range(3 * KILLS):
        if killed == KILLS:
            break
        target = tmp_path / f"p{k}"
        proc = spawn("new", frames, "--project", target)
        started(proc, target)  # the kill lands while the project is being written
        if not kill_after(proc, rng.uniform(0, writing)):
            continue
        killed += 1
        if not (target / "project.avs").exists():
            partial += 1
            assert not target.exists() or not any(target.iterdir())
            r = run("info", target)
            assert r.returncode == 2 and "Traceback" not in r.stderr
            assert "not an AVS Annotator project" in r.stderr
            r = run("new", frames, "--project", target)  # goes on, removes the leftover
            assert r.returncode == 0, r.stderr
        assert summary(target) == reference
        assert list(tmp_path.glob(f".p{k}.creating-*")) == []
    print(f"new: {killed} kills while writing ({writing * 1000:.0f} ms uninterrupted), "
          f"{partial} before the project was in place")
    assert killed == KILLS and partial >= 1


@pytest.mark.slow  # 30 imports of 90 masks and their checks: about 2 minutes on 2 cores
def test_sigkill_during_import_keeps_all_or_nothing(shared, tmp_path):
    seq = shared("data", "davis2016", "bmx-bumps")
    project = tmp_path / "p"
    assert run("new", seq / "JPEGImages", "--project", project).returncode == 0
    segs = tmp_path / "segs.csv"
    segs.write_text("object,category,start_frame,end_frame\nbmx,bike,0,89\n")
    assert run("import", project, "--segments", segs).returncode == 0
    before = summary(project)
    ref = project.with_name("ref")
    assert run("new", seq / "JPEGImages", "--project", ref).returncode == 0
    assert run("import", ref, "--segments", segs).returncode == 0
    took = timed("import", ref, "--masks", seq / "Annotations", "--object", "bmx")
    reference = summary(ref)
    rng = random.Random(5)
    killed = completed = 0
    for k in range(2 * KILLS):
        if killed == KILLS:
            break
        copy = tmp_path / f"c{k}"
        shutil.copytree(project, copy)
        landed = kill_after(spawn("import", copy, "--masks", seq / "Annotations",
                                  "--object", "bmx"), rng.uniform(0.2, took))
        killed += landed
        now = summary(copy)
        if now == reference:
            completed += 1  # it finished, or committed just before the kill
        else:
            assert now == before  # one transaction: nothing half-imported
            r = run("import", copy, "--masks", seq / "Annotations", "--object", "bmx")
            assert r.returncode == 0, r.stderr
            assert summary(copy) == reference
        shutil.rmtree(copy)
    print(f"import: {killed} kills, {completed} after the commit")
    assert killed == KILLS


def files(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow  # 30 exports of 90 frames: about a minute on 2 cores
def test_sigkill_during_export_leaves_no_export_or_a_whole_one(shared, tmp_path):
    seq = shared("data", "davis2016", "bmx-bumps")
    project = tmp_path / "p"
    assert run("new", seq / "JPEGImages", "--project", project).returncode == 0
    r = run("import", project, "--masks", seq / "Annotations", "--object", "bmx")
    assert r.returncode == 0, r.stderr
    took = timed("export", project, "--format", "davis", "-o", tmp_path / "ref")
    reference = files(tmp_path / "ref")
    before = summary(project)
    rng = random.Random(7)
    killed = whole = 0
    for k in range(2 * KILLS):
        if killed == KILLS:
            break
        out = tmp_path / f"out{k}"
        killed += kill_after(spawn("export", project, "--format", "davis", "-o", out),
                             rng.uniform(0.2, took))
        if out.exists():
            whole += 1
            assert files(out) == reference  # never a half export that looks finished
        r = run("export", project, "--format", "davis", "-o", out)  # the next one goes on
        assert r.returncode == 0, r.stderr
        assert files(out) == reference
        assert list(tmp_path.glob(f".out{k}.*")) == []  # the killed one's leftovers are gone
        shutil.rmtree(out)
    assert summary(project) == before
    print(f"export: {killed} kills, {whole} after the export was in place")
    assert killed == KILLS


def current_masks(db) -> dict:
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(((o, f), rle) for o, f, rle in con.execute(
            "SELECT m.object_id, m.frame, r.rle FROM masks m JOIN mask_revs r ON r.id = "
            "m.rev_id"))
    finally:
        con.close()


@pytest.mark.slow  # 30 kills, each after a start-up: about two minutes on 2 cores
def test_sigkill_during_propagate_then_resume_equals_uninterrupted(shared, tmp_path):
    seq = shared("data", "davis2016", "bmx-bumps")
    anchor = tmp_path / "anchor"
    anchor.mkdir()
    shutil.copy(seq / "Annotations" / "00000.png", anchor)
    segs = tmp_path / "segs.csv"
    segs.write_text("object,category,start_frame,end_frame\nbmx,bike,0,89\n")
    projects = []
    for name in ("ref", "crash"):
        p = tmp_path / name
        assert run("new", seq / "JPEGImages", "--project", p).returncode == 0
        assert run("import", p, "--segments", segs).returncode == 0
        assert run("import", p, "--masks", anchor, "--object", "bmx").returncode == 0
        projects.append(p)
    ref, proj = projects
    args = ("--engine", "fallback", "--refine", "off")
    assert run("propagate", ref, *args).returncode == 0
    expected = current_masks(ref / "project.avs")
    assert len(expected) == 90
    db = proj / "project.avs"
    rng = random.Random(3)
    killed, seen = 0, []
    while killed < KILLS:
        before = len(current_masks(db))
        seen.append(before)
        assert before < len(expected), f"the kills should land mid-propagation (masks: {seen})"
        # the kill lands once this run has committed one or two frames, then up to 10 ms
        # later (anywhere in the next frame's work or transaction): counted in frames, not
        # seconds, so that on a fast machine the 30 kills still fall inside the 90 frames
        target = before + rng.randint(1, 2)
        p = spawn("propagate", proj, *args)
        deadline = time.monotonic() + 300
        while p.poll() is None and len(current_masks(db)) < target and \
                time.monotonic() < deadline:
            time.sleep(0.002)
        killed += kill_after(p, rng.uniform(0.0, 0.01))
        got = current_masks(db)
        assert all(got[k] == expected[k] for k in got)  # whole frames of the same run
    r = run("propagate", proj, *args)
    assert r.returncode == 0, r.stderr
    assert current_masks(db) == expected
    assert run("check", proj).returncode == 0
    print(f"propagate: {killed} kills (masks before each: {seen}), then resumed to the "
          "uninterrupted result")
