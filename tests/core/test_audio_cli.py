"""``annotator propose`` run as a user runs it (a real subprocess) on real projects."""

import json
import subprocess
import sys

from annotator.core.project import Project
from annotator.core.sound_activity import temporal_iou
from annotator.demo import SOUNDS, write_demo_video
from tests.core.audio_synth import events_audio, garble_audio, write_video


def run(*args):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_propose_json_stores_proposals_and_keeps_decisions(tmp_path):
    video = write_demo_video(tmp_path / "demo.mp4")
    proj = tmp_path / "demo.avsproj"
    Project.create(proj, video).close()
    r = run("propose", proj, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["has_audio"] and out["detected"] >= 1
    got = [(p["start_s"], p["end_s"]) for p in out["proposals"]]
    known = [span for _cat, spans in SOUNDS.values() for span in spans]
    assert temporal_iou(got, known) >= 0.8
    assert all(p["state"] == "open" and p["start"] <= p["end"] < 200 for p in out["proposals"])
    assert (proj / "cache" / "audio" / "meta.json").is_file()

    with Project.open(proj) as project:  # the proposals are in the store; a person decides
        store = project.store
        assert [(p.start, p.end) for p in store.proposals()] == [
            (p["start"], p["end"]) for p in out["proposals"]]
        bell = store.add_object("bell")
        first = store.proposals()[0]
        sid = store.accept_proposal(first.id, bell)

    r = run("propose", proj)  # again (the cache is reused): the decision stays, not re-proposed
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stdout and "proposals: 0 open, 1 accepted" in r.stdout
    with Project.open(proj, readonly=True) as project:
        (p,) = project.store.proposals()
        assert p.state == "accepted" and p.segment_id == sid


def test_propose_without_audio_says_so_and_succeeds(tmp_path):
    video = write_video(tmp_path / "mute.mp4", None, seconds=2.0)
    proj = tmp_path / "mute.avsproj"
    Project.create(proj, video).close()
    r = run("propose", proj)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{video} has no audio track: nothing to propose"
    r = run("propose", proj, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["proposals"] == []


def test_propose_on_damaged_audio_is_one_line_exit_2(tmp_path):
    good = write_video(tmp_path / "a.mp4", events_audio(seconds=4.0), seconds=4.0)
    bad = garble_audio(good, tmp_path / "bad.mkv")
    proj = tmp_path / "bad.avsproj"
    Project.create(proj, bad).close()
    r = run("propose", proj)
    err = r.stderr.strip()
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, err
    assert "bad.mkv: its audio track is damaged" in err
    r = run("propose", proj, "--param", "on_db=high")
    assert r.returncode == 2 and "is not a number" in r.stderr
    with Project.open(proj, readonly=True) as project:
        assert project.store.proposals() == []
