"""``annotator propagate --cluster``: the install hint without Ray, a wrong value, the JSON
events of a real batch (local Ray instance, DAVIS projects), and the tally the terminal and
the batch dialog show."""

from __future__ import annotations

import json
import sys

import pytest

from annotator import cli
from annotator.pipeline.cluster_events import Tally, describe
from tests.cluster.conftest import make_projects
from tests.conftest import shared_path


def test_without_ray_the_option_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as where the extra is not installed
    assert cli.main(["propagate", str(tmp_path), "--cluster", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["annotator: --cluster needs Ray, which is not installed: install the "
                   "cluster extra: pip install 'avs-annotator[cluster]'"]


@pytest.mark.parametrize("argv, words", [
    (["--cluster", "yarn"], "use ray (a local instance), auto"),
    (["--json"], "use it with --cluster"),
    (["--cluster", "ray", "--segment", "1"], "--cluster runs whole projects"),
])
def test_wrong_options_are_one_line_exit_2(tmp_path, capsys, argv, words):
    assert cli.main(["propagate", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_the_tally_counts_a_retry_and_gives_totals():
    t = Tally(["/p/a", "/p/b"])
    assert t.add({"event": "start", "project": "/p/a", "holder": "11 on n1", "done": 0,
                  "total": 40})[0]["event"] == "start"
    t.add({"event": "progress", "project": "/p/a", "done": 10, "total": 40})
    shown = t.add({"event": "start", "project": "/p/a", "holder": "12 on n2", "done": 10,
                   "total": 40})
    assert [e["event"] for e in shown] == ["retry", "start"]
    assert shown[0]["attempt"] == 2 and "11 on n1 was lost at 10/40" in shown[0]["message"]
    assert t.masks() == (10, 80)  # b not started yet: counted as the mean of the started
    assert t.projects["/p/a"].line() == "a: 10/40 masks (worker 12 on n2, attempt 2)"
    t.add({"event": "skipped", "project": "/p/b", "message": "already open by process 7"})
    t.add({"event": "done", "project": "/p/a", "written": 30, "done": 40, "total": 40})
    assert t.masks() == (40, 40) and t.finished == 2
    assert t.total_line().startswith("total: 2/2 projects, 40/40 masks, ")
    s = t.summary()
    assert s["done"] == 1 and s["skipped"] == ["/p/b"] and s["written"] == 30
    assert describe(s).startswith("batch: 1/2 projects done, 1 skipped; 30 masks written")


@pytest.mark.slow
def test_json_prints_one_event_per_line(ray_local, tmp_path, capsys):
    dirs = make_projects(tmp_path, shared_path, ["boat", "bus"])
    argv = ["propagate", *map(str, dirs), "--cluster", "ray", "--engine", "fallback",
            "--refine", "off", "--json"]
    assert cli.main(argv) == 0  # (the instance of this test session is reused)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 2 and kinds.count("done") == 2 and kinds[-1] == "batch"
    assert {e["project"] for e in events if e["event"] == "done"} == {str(d) for d in dirs}
    assert events[-1]["written"] == 2 * 19


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_after_the_frame_in_flight_exit_130(tmp_path):
    """The real command in its own process (its own local Ray instance): SIGINT to its whole
    process group, as Ctrl-C in a terminal, once the first masks landed; every project is
    consistent and a rerun completes it."""
    pytest.importorskip("ray")
    import os
    import signal
    import subprocess

    from annotator.core.project import Project

    dirs = make_projects(tmp_path, shared_path, ["boat", "bus", "car-turn"], 40)
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotator.cli", "propagate", *map(str, dirs), "--cluster",
         "ray", "--engine", "fallback", "--refine", "off", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"RAY_ADDRESS": ""}, start_new_session=True)
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "progress" and events[-1]["done"] >= 5:
            os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C
            break
    rest, err = proc.communicate(timeout=120)
    events += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 130, err
    assert "stopping every project after the frame in flight" in err
    final = {e["project"]: e["event"] for e in events
             if e["event"] in ("done", "cancelled", "failed", "skipped")}
    assert set(final.values()) <= {"cancelled", "done"} and "cancelled" in final.values()
    assert events[-1]["event"] == "batch" and events[-1]["cancelled"]
    for d in dirs:
        with Project.open(d) as project:
            assert project.store.integrity_check() == "ok"
    assert cli.main(["propagate", *map(str, dirs), "--engine", "fallback",
                     "--refine", "off"]) == 0  # the local queue resumes and completes
    for d in dirs:
        with Project.open(d, readonly=True) as project:
            assert len(list(project.store.iter_masks())) == 40
