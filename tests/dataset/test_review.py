"""Review and active time in a dataset come from its projects: a reviewer's verdict given with
``annotator --as rita review DIR --needs-work …`` and active time added through the project's
API show in ``dataset status`` (table and ``--json``); after ``--approve`` the
``--approved-only`` export holds that segment only, with its ``review`` and ``reviewed_by``,
and an edit after approval takes it out again. A schema-1 dataset database (with the old
``review_events`` and ``time_log`` tables) is read as it is and upgraded by the first writer."""

from __future__ import annotations

import json
import shutil
import sqlite3

from annotator.core.dataset import categories_for
from annotator.core.dataset_db import SCHEMA_VERSION
from annotator.core.project import Project
from tests.dataset.conftest import sequence


def _status(annotator, dataset) -> dict:
    rc, out, err = annotator("dataset", "status", dataset, "--json")
    assert rc == 0, err
    return {r["video_id"]: r for r in json.loads(out)}


def _segments(project_dir) -> list:
    with Project.open(project_dir, readonly=True) as project:
        return sorted(project.store.segments(), key=lambda s: s.start)


def test_review_and_active_time_in_status_and_the_approved_only_export(dataset, annotator,
                                                                        tmp_path, shared):
    proj = dataset / "projects" / "rollerblade"
    first, second = _segments(proj)  # frames 0–19 (a mask on 0) and 25–34
    with Project.open(proj) as project:  # what the window's meter adds, through the API
        project.store.add_active_time([(first.id, "2024-05-01", 30.5),
                                       (None, "2024-05-01", 12.0)], person="ana")
    rc, out, err = annotator("--as", "rita", "review", proj, "--needs-work", first.id,
                             "--comment", "the skates are cut off", "--frame", 3)
    assert rc == 0 and "needs work by rita at frame 3" in out, err

    rows = _status(annotator, dataset)
    r = rows["rollerblade"]
    assert (r["review"], r["active_s"]) == ("needs work", 42.5)
    assert r["review_counts"]["needs_work"] == 1 and r["review_counts"]["none"] == 1
    assert {v: (x["review"], x["active_s"]) for v, x in rows.items() if v != "rollerblade"} \
        == {"dog-agility": ("none", 0.0), "motorbike": ("none", 0.0)}
    rc, text, _err = annotator("dataset", "status", dataset)
    line = next(x for x in text.splitlines() if x.startswith("rollerblade"))
    assert "needs work" in line and "0:00:42" in line

    # nothing approved yet: the approved-only export holds no segment
    rc, text, err = annotator("dataset", "export", dataset, "--format", "lu-avs", "-o",
                              tmp_path / "none", "--approved-only")
    assert rc == 0 and "approved only" in text, err
    assert not any(e["annotations"] for f in (tmp_path / "none").glob("seg_*.json")
                   for e in json.loads(f.read_text()).values())

    rc, out, err = annotator("--as", "rita", "review", proj, "--approve", first.id)
    assert rc == 0 and "approved by rita" in out, err
    r = _status(annotator, dataset)["rollerblade"]
    assert r["review_counts"]["approved"] == 1 and r["review"] == "partly approved (1 of 2)"

    out = tmp_path / "approved"
    rc, text, err = annotator("dataset", "export", dataset, "--format", "coco", "-o", out,
                              "--approved-only")
    assert rc == 0 and "approved only" in text, err
    coco = json.loads((out / "instances_train.json").read_text())
    (seg,) = coco["audible_segments"]  # of the three videos, only the approved segment
    assert (seg["video_id"], seg["segment_id"], seg["start_frame"], seg["end_frame"]) == (
        "rollerblade", first.id, 0, 19)
    assert (seg["review"], seg["reviewed_by"]) == ("approved", "rita")
    (ann,) = coco["annotations"]  # its mask on frame 0 (the DAVIS one imported)
    assert ann["video_id"] == "rollerblade"
    assert (ann["attributes"]["review"], ann["attributes"]["reviewed_by"]) == ("approved", "rita")
    assert not (out / ".snapshots").exists()

    lu = tmp_path / "lu"
    assert annotator("dataset", "export", dataset, "--format", "lu-avs", "-o", lu,
                     "--approved-only")[0] == 0
    anns = [(v, a) for f in lu.glob("seg_*.json") for v, e in json.loads(f.read_text()).items()
            for a in e["annotations"]]
    assert [(v, a["review"], a["reviewed_by"]) for v, a in anns] == [
        ("rollerblade", "approved", "rita")]

    # an edit after approval: "changed", and out of the approved-only export
    edit = tmp_path / "edit"
    edit.mkdir()
    shutil.copy(sequence(shared, "rollerblade") / "Annotations" / "00005.png", edit)
    rc, _out, err = annotator("--as", "ana", "import", proj, "--masks", edit, "--object",
                              "skater")
    assert rc == 0, err
    r = _status(annotator, dataset)["rollerblade"]
    assert r["review"] == "changed" and r["review_counts"]["changed"] == 1
    rc, _text, err = annotator("dataset", "export", dataset, "--format", "coco", "-o",
                               tmp_path / "after", "--approved-only")
    assert rc == 0, err
    assert json.loads((tmp_path / "after" / "instances_train.json").read_text()
                      )["audible_segments"] == []


def test_a_schema_1_dataset_is_read_and_the_first_writer_drops_the_old_tables(dataset,
                                                                              annotator):
    assert SCHEMA_VERSION == 2
    db = sqlite3.connect(dataset / "dataset.avsds")
    db.executescript(
        "CREATE TABLE review_events (id INTEGER PRIMARY KEY, video_id TEXT, segment TEXT, "
        "state TEXT, comment TEXT, frame INTEGER, by TEXT, at REAL);"
        "CREATE TABLE time_log (id INTEGER PRIMARY KEY, video_id TEXT, segment TEXT, "
        "person TEXT, seconds REAL, at REAL); PRAGMA user_version=1;")
    db.close()
    # a reader (the object dialog's vocabulary) reads it without an upgrade
    cats = categories_for(dataset / "projects" / "dog-agility")
    assert [c.label for c in cats if c.state == "accepted"] == ["dog", "person", "motorcycle"]
    db = sqlite3.connect(dataset / "dataset.avsds")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()
    assert _status(annotator, dataset)["dog-agility"]["masks"] == 25  # a writer: upgraded
    db = sqlite3.connect(dataset / "dataset.avsds")
    tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()
    assert not tables & {"review_events", "time_log"}
    assert {"videos", "vocabulary", "splits", "assignments", "summaries"} <= tables
