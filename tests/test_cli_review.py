"""Review, people and status on the command line, run as a user runs it (a real subprocess):
``annotator --as NAME review DIR --needs-work SEG --comment TEXT --frame F``, the fix imported
by another person, ``annotator status`` (review state, active time, who made the newest
operations), ``--approve``, and the review state in the COCO and LU-AVS exports; bad input is
one line and exit 2."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, AVS_ANNOTATOR_CONFIG_DIR=str(tmp_path / "config"),
                AVS_ANNOTATOR_DATA_DIR=str(tmp_path / "data"))


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def _masks(folder, frames, dx=0):
    """Binary PNG masks of a disk on ``frames`` (named by frame number), 640×360 like the demo."""
    folder.mkdir()
    for f in frames:
        m = np.zeros((360, 640), np.uint8)
        cv2.circle(m, (200 + dx, 180), 40, 255, -1)
        cv2.imwrite(str(folder / f"{f:05d}.png"), m)
    return folder


def test_a_review_round_on_the_command_line(tmp_path, env):
    r = run(env, "demo", "--headless", "--dir", tmp_path)
    assert r.returncode == 0, r.stderr
    proj = r.stdout.splitlines()[0]
    status = json.loads(run(env, "status", proj, "--json").stdout)
    bell = next(s for s in status["segments"] if s["object"] == "bell" and s["start"] == 10)
    seg = bell["segment_id"]
    assert status["review"] == "none" and bell["state"] == "none" and status["active_s"] == 0
    r = run(env, "--as", "anna", "import", proj, "--masks", _masks(tmp_path / "a", [10, 11]),
            "--object", "bell")
    assert r.returncode == 0, r.stderr
    r = run(env, "--as", "rita", "review", proj, "--needs-work", seg, "--comment",
            "the handle is cut off", "--frame", 30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"segment {seg}: needs work by rita at frame 30: the handle is cut off"
    status = json.loads(run(env, "status", proj, "--json").stdout)
    assert status["review"] == "needs work"
    row = next(s for s in status["segments"] if s["segment_id"] == seg)
    assert (row["state"], row["by"], row["frame"]) == ("needs_work", "rita", 30)
    r = run(env, "import", proj, "--masks", _masks(tmp_path / "b", [30], dx=5), "--object",
            "bell", "--as=anna")  # after the sub-command too
    assert r.returncode == 0, r.stderr
    status = json.loads(run(env, "status", proj, "--json", "--history", 3).stdout)
    assert next(s for s in status["segments"] if s["segment_id"] == seg)["state"] == "fixed"
    assert status["review"] == "changed"
    assert [h["author"] for h in status["history"][:2]] == ["anna", "anna"]
    r = run(env, "review", proj, "--approve", seg, "--as", "rita")
    assert r.returncode == 0 and r.stdout.strip() == f"segment {seg}: approved by rita"
    text = run(env, "status", proj).stdout
    assert "approved by rita" in text and "anna" in text and "active    0 s" in text
    r = run(env, "export", proj, "--format", "coco", "-o", tmp_path / "out.json")
    assert r.returncode == 0, r.stderr
    coco = json.loads((tmp_path / "out.json").read_text())
    mine = [a for a in coco["annotations"] if a["segment_id"] == seg]
    assert len(mine) == 3 and all(a["attributes"]["review"] == "approved"
                                  and a["attributes"]["reviewed_by"] == "rita" for a in mine)
    others = {s["id"]: s for s in coco["audible_segments"]}
    assert others[seg]["review"] == "approved" and others[seg]["reviewed_by"] == "rita"
    assert {s["review"] for i, s in others.items() if i != seg} == {"none"}
    r = run(env, "export", proj, "--format", "lu-avs", "-o", tmp_path / "lu")
    assert r.returncode == 0, r.stderr
    entry = json.loads((tmp_path / "lu" / "seg_train.json").read_text())
    (ann,) = [a for v in entry.values() for a in v["annotations"] if a["segment"][0] == 10]
    assert (ann["review"], ann["reviewed_by"]) == ("approved", "rita")


@pytest.mark.parametrize("args, needle", [
    (("--needs-work", "1"), "--needs-work needs --comment TEXT"),
    (("--needs-work", "1", "--comment", "x", "--frame", "500"), "frame 500 is not in segment 1"),
    (("--approve", "99"), "no audible segment 99"),
    (("--comment", "x"), "--comment and --frame go with --approve SEG or --needs-work SEG"),
])
def test_a_bad_review_is_one_line_and_exit_2(tmp_path, env, args, needle):
    proj = run(env, "demo", "--headless", "--dir", tmp_path).stdout.splitlines()[0]
    r = run(env, "review", proj, *args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert json.loads(run(env, "status", proj, "--json").stdout)["review"] == "none"
