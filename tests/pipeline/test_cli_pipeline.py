"""``annotator propagate`` / ``review`` as a user runs them: DAVIS as a VOS method, crashes."""

import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from annotator.core.quality import region_similarity
from annotator.core.store import Store


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def masks(db):
    with Store(db, readonly=True) as store:
        return {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()}


def new_vos_project(seq, tmp_path, name="p"):
    """``annotator new`` + ``import --masks`` of the first frame's ground truth only."""
    first = tmp_path / f"{name}-first"
    first.mkdir()
    shutil.copy(seq / "Annotations" / "00000.png", first / "00000.png")
    proj = tmp_path / name
    assert run("new", seq, "--project", proj).returncode == 0
    r = run("import", proj, "--masks", first, "--object", "dog")
    assert r.returncode == 0, r.stderr
    return proj


def test_davis_sequence_as_a_vos_method(shared, tmp_path):
    seq = shared("data", "davis2016", "dog-agility")
    proj = new_vos_project(seq, tmp_path)
    r = run("propagate", proj, "--engine", "fallback", "--refine", "off")
    assert r.returncode == 0, r.stderr
    assert "24 masks" in r.stdout and "masks/s" in r.stderr  # summary and progress bar
    out = tmp_path / "png"
    r = run("export", proj, "--format", "png", "-o", out)
    assert r.returncode == 0, r.stderr
    js = []
    for f in range(1, 25):
        pred = np.array(Image.open(out / f"{f:05d}.png")) > 0
        truth = np.array(Image.open(seq / "Annotations" / f"{f:05d}.png")) > 0
        js.append(region_similarity(pred, truth))
    assert np.mean(js) > 0.4  # the weight-free engine; bench/propagation_bench.py has figures
    again = run("propagate", proj, "--engine", "fallback")
    assert again.returncode == 0 and "already propagated" in again.stdout
    review = run("review", proj)
    assert review.returncode == 0 and proj.name in review.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path, shared):
    r = run("propagate", tmp_path / "nothing")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    seq = shared("data", "davis2016", "dog-agility")
    proj = new_vos_project(seq, tmp_path)
    for bad in (["--refine", "k=0"], ["--segment", "7"]):
        r = run("propagate", proj, "--engine", "fallback", *bad)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert run("review", tmp_path / "nothing").returncode == 2


def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(shared, tmp_path):
    seq = shared("data", "davis2016", "dog-agility")
    ref = new_vos_project(seq, tmp_path, "ref")
    assert run("propagate", ref, "--engine", "fallback").returncode == 0
    expected = masks(ref / "project.avs")
    assert len(expected) == 25

    proj = new_vos_project(seq, tmp_path, "crash")
    db = proj / "project.avs"
    rng = random.Random(5)
    kills = 0
    for _ in range(4):
        before = len(masks(db))
        if before + 1 > len(expected) - 6:
            break
        # the moment: once the run has committed a random number of frames (so the kill lands
        # mid-propagation however fast the machine is), plus a random part of a frame's time
        target = rng.randint(before + 1, len(expected) - 6)
        p = subprocess.Popen([sys.executable, "-m", "annotator.cli", "propagate", str(proj),
                              "--engine", "fallback"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while p.poll() is None and len(masks(db)) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.06))
        p.send_signal(signal.SIGKILL)
        p.wait()
        got = masks(db)
        assert set(got) <= set(expected)  # what was committed is whole frames of the run
        assert all(got[k] == expected[k] for k in got)
        kills += 1 < len(got) < len(expected)
    assert kills >= 2, "the kills should have landed mid-propagation"
    r = run("propagate", proj, "--engine", "fallback")
    assert r.returncode == 0, r.stderr
    assert masks(proj / "project.avs") == expected
    with Store(proj / "project.avs", readonly=True) as store:
        assert store.integrity_check() == "ok"
        job = store.job("propagate:video:1")
        assert job["state"] == "done" and job["done"] == 24
        assert len(store.revisions(1, 12)) == 1  # no frame written twice


def test_a_batch_goes_on_past_a_bad_project(shared, tmp_path):
    seq = shared("data", "davis2016", "dog-agility")
    good = new_vos_project(seq, tmp_path, "good")
    r = run("propagate", tmp_path / "missing", good, "--engine", "fallback", "--refine", "off")
    assert r.returncode == 2
    assert "24 masks" in r.stdout  # the good project was propagated
    assert "1 of 2 projects failed" in r.stderr and "missing" in r.stderr


def test_auto_refinement_is_off_with_sam_on_the_cpu_and_says_why(shared, tmp_path, monkeypatch):
    import torch
    from segment_anything import sam_model_registry

    models = tmp_path / "models"
    models.mkdir()
    torch.manual_seed(0)  # a real vit_b file (random weights) where the registry looks for it
    torch.save(sam_model_registry["vit_b"]().state_dict(), models / "sam_vit_b_01ec64.pth")
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(models))
    monkeypatch.setenv("AVS_ANNOTATOR_DEVICE", "cpu")
    proj = new_vos_project(shared("data", "davis2016", "dog-agility"), tmp_path)
    r = run("propagate", proj, "--engine", "fallback")
    assert r.returncode == 0, r.stderr
    assert "refine off (auto: SAM would run on the CPU" in r.stdout + r.stderr
    with Store(proj / "project.avs", readonly=True) as store:
        assert {m.source for m in store.iter_masks()} == {"imported", "propagated"}  # none refined


def test_ctrl_c_stops_after_the_frame_in_flight_and_a_rerun_completes(shared, tmp_path):
    """SIGINT to the command's process group, as Ctrl-C in a terminal, once masks are being
    written: exit 130 with the line that says so, the store consistent, every mask written
    kept; the same command again finishes the segment."""
    import os

    seq = shared("data", "davis2016", "stroller")
    proj = new_vos_project(seq, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "annotator.cli", "propagate", str(proj),
                             "--engine", "fallback", "--refine", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    db = proj / "project.avs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(masks(db)) < 6:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopping after the frame in flight (Ctrl-C again to abort)" in err
    with Store(db, readonly=True) as store:
        assert store.integrity_check() == "ok"
        kept = len(list(store.iter_masks()))
    assert 6 <= kept < 91, kept
    again = run("propagate", proj, "--engine", "fallback", "--refine", "off")
    assert again.returncode == 0, again.stderr
    assert len(masks(db)) == 91
