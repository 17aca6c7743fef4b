"""SIGKILL at random moments during ``dataset new``, ``add``, ``import`` and ``export``:
afterwards the dataset opens, the next command goes on, and the result equals an
uninterrupted run's; an export target is either absent or a whole export."""

from __future__ import annotations

import json
import random
import sys
import time

import pytest

from tests.dataset.conftest import SEGMENTS, SEQS, VOCAB, sequence
from tests.faults.conftest import run
from tests.faults.test_kills import kill_after, spawn

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]
KILLS = 12


def state(root) -> list:
    """What the dataset holds, without where it is: status, vocabulary, every project."""
    r = run("dataset", "status", root, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    for row in rows:
        row.pop("project")
    r = run("dataset", "vocabulary", root, "--json")
    assert r.returncode == 0, r.stderr
    return [rows, json.loads(r.stdout)]


def timed(*args) -> float:
    t = time.monotonic()
    r = run(*args)
    assert r.returncode == 0, r.stderr
    return time.monotonic() - t


def _files(tmp_path, shared):
    vocab, segs = tmp_path / "vocab.csv", tmp_path / "segs.csv"
    vocab.write_text(VOCAB)
    segs.write_text(SEGMENTS)
    return vocab, segs, [sequence(shared, s) for s in SEQS]


def test_sigkill_during_new_and_add(shared, tmp_path):
    vocab, _segs, videos = _files(tmp_path, shared)
    took = timed("dataset", "new", tmp_path / "ref", "--vocabulary", vocab, "--videos", *videos)
    reference = state(tmp_path / "ref")
    rng = random.Random(4)
    for k in range(KILLS):
        root = tmp_path / f"d{k}"
        args = ("dataset", "new", root, "--vocabulary", vocab, "--videos", *videos)
        kill_after(spawn(*args), rng.uniform(0.3 * took, took))
        if not (root / "dataset.avsds").exists():
            r = run(*args)  # no dataset: make it again (what a kill left is removed)
        else:
            r = run("dataset", "add", root, *videos)  # a dataset: add finishes the rest
        assert r.returncode == 0, r.stderr
        assert state(root) == reference
        assert not list(root.glob(".dataset.avsds.creating-*"))
        assert not list((root / "projects").glob(".*"))
    # add alone, killed, then run again
    root = tmp_path / "a"
    assert run("dataset", "new", root, "--vocabulary", vocab).returncode == 0
    for _k in range(KILLS // 2):
        kill_after(spawn("dataset", "add", root, *videos), rng.uniform(0.3 * took, took))
        assert run("dataset", "status", root).returncode == 0  # opens whatever the kill left
    assert run("dataset", "add", root, *videos).returncode == 0
    assert state(root) == reference


def test_sigkill_during_import_then_again_equals_uninterrupted(shared, tmp_path):
    vocab, segs, videos = _files(tmp_path, shared)
    for name in ("ref", "crash"):
        assert run("dataset", "new", tmp_path / name, "--vocabulary", vocab, "--videos",
                   *videos).returncode == 0
    took = timed("dataset", "import", tmp_path / "ref", "--segments", segs)
    reference = state(tmp_path / "ref")
    root = tmp_path / "crash"
    rng = random.Random(6)
    for _k in range(KILLS):
        kill_after(spawn("dataset", "import", root, "--segments", segs),
                   rng.uniform(0.3 * took, took))
        now = state(root)  # every project opens; each video has none or all of its rows
        for row, ref in zip(now[0], reference[0]):
            assert row["segments"] in (0, ref["segments"]), (row, ref)
        r = run("check", root / "projects" / "rollerblade")
        assert r.returncode == 0, r.stdout
    assert run("dataset", "import", root, "--segments", segs).returncode == 0
    assert state(root) == reference


def test_sigkill_during_export_leaves_no_half_export(shared, tmp_path):
    vocab, segs, videos = _files(tmp_path, shared)
    root = tmp_path / "ds"
    assert run("dataset", "new", root, "--vocabulary", vocab, "--videos", *videos).returncode == 0
    assert run("dataset", "import", root, "--segments", segs).returncode == 0
    assert run("import", root / "projects" / "dog-agility", "--masks",
               sequence(shared, "dog-agility") / "Annotations", "--object", "dog").returncode == 0
    ref = tmp_path / "ref"
    took = timed("dataset", "export", root, "--format", "lu-avs", "-o", ref)
    want = sorted(p.relative_to(ref).as_posix() for p in ref.rglob("*") if p.is_file())
    out = tmp_path / "out"
    rng = random.Random(8)
    for _k in range(KILLS):
        kill_after(spawn("dataset", "export", root, "--format", "lu-avs", "-o", out),
                   rng.uniform(0.3 * took, took))
        if out.exists():  # a whole export or none
            got = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
            assert got == want
    assert run("dataset", "export", root, "--format", "lu-avs", "-o", out).returncode == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    for name in ("seg_train.json", "format.json"):
        assert (out / name).read_text() == (ref / name).read_text()
