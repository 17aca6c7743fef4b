"""Bad input to the CLI: segments files (encodings, field sizes, numbers, seconds outside the
video), numeric options and frame folders: one line naming the file and what to do, exit 2,
nothing imported. A bug (exit 1) leaves its traceback in the log file."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

from tests.faults.conftest import FRAMES, one_line_exit_2, run


@pytest.fixture
def ten_seconds(tmp_path, frames):
    """A project whose video lasts 10 s (24 frames at 2.4 fps)."""
    p = tmp_path / "p"
    r = run("new", frames, "--project", p, "--fps", "2.4")
    assert r.returncode == 0, r.stderr
    return p


def segments(ten_seconds) -> int:
    r = run("info", ten_seconds, "--json")
    return json.loads(r.stdout)["segments"]


HEADER = b"object,category,start,end\n"
CASES = {
    "latin-1 bytes": (HEADER + "caf\xe9,cup,1,2\n".encode("latin-1"), [],
                      ["line 2: byte 0xe9", "not UTF-8"]),
    "UTF-16": ("object,start,end\nx,1,2\n".encode("utf-16"), [], ["line 1: byte 0xff"]),
    "a 10 MB field": (HEADER + b'"' + b"x" * 10_000_000 + b'",cup,1,2\n', [],
                      ["line 2", "field"]),
    "a 2000-character name": (HEADER + b"y" * 2000 + b",cup,1,2\n", [],
                              ["line 2: object longer than 1000"]),
    "1e400 frames": (HEADER + b"dog,dog,1e400,5\n", ["--unit", "frames"],
                     ["line 2: start is not a finite number"]),
    "2**40 frames": (HEADER + b"dog,dog,0,1099511627776\n", ["--unit", "frames"],
                     ["line 2: end 1.09951e+12 is not a frame number"]),
    "an end past the video": (HEADER + b"dog,dog,2.5,300\n", [],
                              ["line 2: end 300 s is outside the video (0\u201310.00 s)"]),
    "wholly past the end": (HEADER + b"dog,dog,20,30\n", [], ["line 2: start 20 s is outside"]),
    "nan and inf": (HEADER + b"dog,dog,nan,inf\n", [], ["line 2: start is not a finite"]),
    "frames past the end": (HEADER + b"dog,dog,3,99\n", ["--unit", "frames"],
                            ["line 2: frames 3\u201399 are outside the video (frames 0\u201323)"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_segments_file_is_one_line_and_imports_nothing(case, ten_seconds, tmp_path):
    data, extra, needles = CASES[case]
    f = tmp_path / "segs.csv"
    f.write_bytes(data)
    r = run("import", ten_seconds, "--segments", f, *extra)
    one_line_exit_2(r, str(f), "nothing imported", *needles)
    assert segments(ten_seconds) == 0


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_segments_with_or_without_bom(bom, ten_seconds, tmp_path):
    f = tmp_path / "segs.csv"
    f.write_bytes(bom + "object,category,start,end\nbl\u00e5b\u00e6r,bird,0,10\n".encode())
    r = run("import", ten_seconds, "--segments", f)
    assert r.returncode == 0, r.stderr
    info = json.loads(run("info", ten_seconds, "--json").stdout)
    assert info["objects"][0]["name"] == "bl\u00e5b\u00e6r" and info["segments"] == 1


@pytest.mark.parametrize("fps", ["-5", "nan", "0", "inf"])
def test_fps_must_be_a_positive_finite_number(fps, frames, tmp_path):
    r = run("new", frames, "--project", tmp_path / "p", "--fps", fps)
    one_line_exit_2(r, "--fps", "above 0")
    assert not (tmp_path / "p").exists()


def test_frame_folder_of_mixed_sizes_refused_at_new(frames, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i, p in enumerate(sorted(frames.iterdir())):
        img = cv2.imread(str(p))
        if i in (7, 8):
            img = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2))
        cv2.imwrite(str(mixed / p.name), img)
    (mixed / "00030.jpg").write_bytes(b"not a jpeg")
    r = run("new", mixed, "--project", tmp_path / "p")
    one_line_exit_2(r, str(mixed), "00030.jpg", "00007.jpg", "2 sizes", "unreadable")
    assert "ffmpeg" not in r.stderr and not (tmp_path / "p").exists()


def test_numbering_gaps_are_reported(frames, tmp_path):
    gappy = tmp_path / "gappy"
    gappy.mkdir()
    for p in sorted(frames.iterdir()):
        if p.name not in ("00005.jpg", "00006.jpg"):
            (gappy / p.name).write_bytes(p.read_bytes())
    r = run("new", gappy, "--project", tmp_path / "p")
    assert r.returncode == 0, r.stderr
    assert "frame numbers missing (5\u20136)" in r.stdout
    assert json.loads(run("info", tmp_path / "p", "--json").stdout)["frames"] == FRAMES - 2


def test_a_bug_exits_1_with_its_traceback_in_the_log_file(tmp_path):
    """A fake stands in for the bug (the command's handler replaced by one that divides by
    zero): this test is about the error path around it, the real ``annotator.cli.main``."""
    code = ("import sys; import annotator.commands.project as p\n"
            "p.cmd_info = lambda args: 1 / 0\n"
            "from annotator.cli import main; sys.exit(main(['info', 'x']))")
    env_dir = tmp_path / "logs"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**__import__("os").environ, "AVS_ANNOTATOR_LOG_DIR": str(env_dir)})
    assert r.returncode == 1, r.stderr  # the terminal has the traceback, and the log file
    assert "this is a bug" in r.stderr and str(env_dir / "annotator.log") in r.stderr
    log = (env_dir / "annotator.log").read_text()
    assert "ZeroDivisionError" in log and "Traceback" in log


def test_no_traceback_for_new_in_a_file_path(frames, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_exit_2(run("new", frames, "--project", blocker / "p"), str(blocker))
