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


def _dog_project(shared, tmp_path, frames=(0, 24)):
    """dog-agility as a new user sets it up: a project and one audible segment of "dog"."""
    seq = shared("data", "davis2016", "dog-agility")
    proj = tmp_path / "dog.avsproj"
    assert run("new", seq / "JPEGImages", "--project", proj).returncode == 0
    segs = tmp_path / "segs.csv"
    segs.write_text(f"object,category,start_frame,end_frame\ndog,dog,{frames[0]},{frames[1]}\n")
    assert run("import", proj, "--segments", segs).returncode == 0
    return seq, proj


def test_propagate_without_an_anchor_says_how_to_add_one_from_the_command_line(shared, tmp_path):
    """The new-user walk: ``propagate`` before any mask names the command that adds one (the
    window's 'click the object and press Enter' is no use in a terminal); doing what it says
    works."""
    seq, proj = _dog_project(shared, tmp_path, frames=(0, 1))
    r = run("propagate", proj)
    assert r.returncode == 0, r.stderr
    hint = next(line for line in r.stdout.splitlines() if "no anchor mask" in line)
    assert f"annotator import {proj} --masks FOLDER --object dog" in hint
    assert "00012.png" in hint and "annotator open" in hint  # the PNG names; the window too
    masks = tmp_path / "first"
    masks.mkdir()
    (masks / "00000.png").write_bytes((seq / "Annotations" / "00000.png").read_bytes())
    command = hint.split("from the command line, annotator ")[1].split(" (PNG")[0]
    r = run(*command.replace("FOLDER", str(masks)).split())
    assert r.returncode == 0 and "1 mask on 1 frame" in r.stdout, r.stderr
    r = run("propagate", proj)
    assert r.returncode == 0 and "dog frames 0–1: 1 mask in" in r.stdout, r.stdout + r.stderr

    empty = tmp_path / "empty.avsproj"  # no object at all: any object, NAME to choose
    assert run("new", seq / "JPEGImages", "--project", empty).returncode == 0
    r = run("propagate", empty)
    assert r.returncode == 0
    assert "nothing to propagate: no object has a mask yet; give an object a mask" in r.stdout
    assert f"annotator import {empty} --masks FOLDER --object NAME" in r.stdout


def test_import_of_binary_masks_without_object_names_the_flag(shared, tmp_path):
    """The new-user walk: ``import DIR --masks masks`` (typed beside the folder) into a project
    whose object is "dog" said only 'an object needs a name'. Now: one line naming --object,
    the project's objects and the command to run; nothing imported. A project without objects
    takes the folder's real name, even typed as '.'."""
    seq, proj = _dog_project(shared, tmp_path)
    masks = tmp_path / "masks"
    masks.mkdir()
    for f in ("00000.png", "00001.png"):
        (masks / f).write_bytes((seq / "Annotations" / f).read_bytes())
    r = run("import", proj.name, "--masks", "masks", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--object NAME" in r.stderr and "this project's objects: dog" in r.stderr
    assert "e.g. annotator import dog.avsproj --masks masks --object dog" in r.stderr
    assert json.loads(run("info", proj, "--json").stdout)["masks"] == 0
    r = run("import", proj.name, "--masks", "masks", "--object", "dog", cwd=tmp_path)
    assert r.returncode == 0 and "2 masks on 2 frames" in r.stdout, r.stderr
    assert "new objects" not in r.stdout  # on the segment's object

    fresh = tmp_path / "fresh.avsproj"
    assert run("new", seq / "JPEGImages", "--project", fresh).returncode == 0
    r = run("import", fresh, "--masks", ".", cwd=masks)
    assert r.returncode == 0 and "new objects: " in r.stdout, r.stderr  # named after a folder
    assert "an object needs a name" not in r.stderr


def test_counts_of_one_are_singular(shared, tmp_path):
    """'1 masks'-style slips: what export and info print about one mask, frame, object."""
    seq, proj = _dog_project(shared, tmp_path, frames=(0, 0))
    one = tmp_path / "one"
    one.mkdir()
    (one / "00000.png").write_bytes((seq / "Annotations" / "00000.png").read_bytes())
    assert run("import", proj, "--masks", one, "--object", "dog").returncode == 0
    r = run("export", proj, "--format", "coco", "-o", tmp_path / "dog.json")
    assert r.returncode == 0 and "1 mask on 1 frame, 1 audible segment (" in r.stdout, r.stderr
    r = run("export", proj, "--format", "png", "-o", tmp_path / "png")
    assert r.returncode == 0 and "indexed PNG masks of 1 object (DAVIS layout, id 1," in r.stdout, r.stderr
    r = run("info", proj)
    assert "masks     1 on 1 frame\n" in r.stdout


def test_demo_without_a_usable_pyside6_says_how_to_get_it_and_where_the_project_is(tmp_path):
    """A PySide6 that cannot be imported (installed without dependencies, or without Qt's system
    libraries): ``annotator demo`` makes the project, then says so in one line, exit 2 (it said
    'the desktop window is not part of this build yet'). PySide6 is made unimportable in the
    child process only."""
    code = ("import sys; sys.modules['PySide6'] = None; from annotator.cli import main; "
            f"sys.exit(main(['demo', '--dir', {str(tmp_path)!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "needs PySide6" in r.stderr and "pip install PySide6-Essentials" in r.stderr
    assert "the demo project is ready without it: " in r.stderr and "demo.avsproj" in r.stderr
    assert "not part of this build" not in r.stderr and "Traceback" not in r.stderr
    assert run("demo", "--headless", "--dir", tmp_path).returncode == 0  # it is there


@pytest.mark.parametrize("folder_exists", [False, True])
def test_new_with_a_bad_segments_file_makes_no_project(shared, tmp_path, folder_exists):
    """``annotator new VIDEO --segments BAD`` says so in one line (exit 2) and leaves no half
    made project behind: neither a new folder nor files in a folder that was there."""
    video = shared("data", "videos", "bikes.mp4")
    proj = tmp_path / "bikes.avsproj"
    if folder_exists:
        proj.mkdir()
        (proj / "notes.txt").write_text("mine")
    bad = tmp_path / "bad.csv"
    bad.write_text("object,category,start,end\nbike,vehicle,9,2\n")
    r = run("new", video, "--project", proj, "--segments", bad)
    assert r.returncode == 2 and "bad.csv" in r.stderr and "no project made" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if folder_exists:
        assert sorted(p.name for p in proj.iterdir()) == ["notes.txt"]
    else:
        assert not proj.exists()
    ok = tmp_path / "ok.csv"
    ok.write_text("object,category,start,end\nbike,vehicle,1,2\n")
    assert run("new", video, "--project", proj, "--segments", ok).returncode == 0
