"""The ``annotator`` command line, run as a user runs it (a real subprocess)."""

import json
import subprocess
import sys

import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_demo_headless_prints_project_and_summary(tmp_path):
    r = run("demo", "--headless", "--dir", tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].endswith("demo.avsproj")
    assert "objects   bell (bell), drum (drum)" in r.stdout and "segments  3" in r.stdout
    info = run("info", lines[0], "--json")
    data = json.loads(info.stdout)
    assert data["has_audio"] and data["frames"] == 200 and data["video_status"] == "ok"
    again = run("demo", "--headless", "--dir", tmp_path)  # reopens, keeps the project
    assert again.returncode == 0 and again.stdout.splitlines()[0] == lines[0]


def test_new_import_export_round_trip(shared, tmp_path):
    seq = shared("data", "davis2016", "dog-agility")
    proj = tmp_path / "dog"
    assert run("new", seq / "JPEGImages", "--project", proj).returncode == 0
    segs = tmp_path / "segs.csv"
    segs.write_text("object,category,start_frame,end_frame\ndog,dog,0,24\n")
    r = run("import", proj, "--segments", segs)
    assert r.returncode == 0, r.stderr
    r = run("import", proj, "--masks", seq / "Annotations", "--object", "dog")
    assert r.returncode == 0 and "25 masks on 25 frames" in r.stdout, r.stderr
    r = run("export", proj, "--format", "coco", "-o", tmp_path / "dog.json")
    assert r.returncode == 0 and "verified" in r.stdout, r.stderr
    data = json.loads((tmp_path / "dog.json").read_text())
    assert len(data["annotations"]) == 25
    assert data["audible_segments"][0]["start_frame"] == 0
    assert data["audible_segments"][0]["end_frame"] == 24
    assert data["images"][0]["timestamp"] == 0.0 and data["images"][1]["frame_index"] == 1
    r = run("export", proj, "--format", "png", "-o", tmp_path / "png")
    assert r.returncode == 0 and len(list((tmp_path / "png").glob("*.png"))) == 25


@pytest.mark.parametrize("args, needle", [
    (("new", "{tmp}/missing.mp4", "--project", "{tmp}/p"), "missing.mp4"),
    (("info", "{tmp}"), "not an AVS Annotator project"),
    (("export", "{tmp}/nope", "-o", "{tmp}/x.json"), "not an AVS Annotator project"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    r = run(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_non_video_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    r = run("new", bad, "--project", tmp_path / "p")
    assert r.returncode == 2 and "notes.txt" in r.stderr and "Traceback" not in r.stderr


def test_a_path_in_the_command_place_opens_it(shared, tmp_path, monkeypatch, capsys):
    """``annotator VIDEO`` is ``annotator open VIDEO`` (a new user types the first). The window
    itself is a FAKE here (``run_app`` records what it was asked to open): this test is about
    the command line; the window's own opening is tested in tests/gui."""
    pytest.importorskip("PySide6")
    from annotator import cli
    from annotator.gui import app

    opened = []
    monkeypatch.setattr(app, "run_app", lambda **kw: opened.append(kw) or 0)
    video = shared("data", "videos")
    video = next(p for p in sorted(video.iterdir()) if p.suffix == ".mp4")
    assert cli.main([str(video)]) == 0
    assert opened == [{"video": video, "device": None}]
    assert cli.main([str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4: no such video or project folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # a mistyped command still lists the commands
        cli.main(["propogate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'propogate'" in capsys.readouterr().err
