"""A dataset folder of several real videos: one ordinary project per video, stable unique
ids, the database's schema and its refusals, ``status --json`` and ``stats``."""

from __future__ import annotations

import json
import sqlite3

import cv2
import numpy as np

from annotator.core.dataset import Dataset, categories_for, find_dataset
from annotator.core.dataset_db import SCHEMA_VERSION
from annotator.core.project import Project
from tests.dataset.conftest import SEQS, sequence


def test_a_dataset_of_several_videos_each_an_ordinary_project(dataset, annotator, shared):
    with Dataset.open(dataset, readonly=True) as ds:
        videos = {v.video_id: v for v in ds.videos()}
    assert sorted(videos) == sorted(SEQS)
    db = sqlite3.connect(dataset / "dataset.avsds")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    for vid, v in videos.items():
        assert v.project == dataset / "projects" / vid
        rc, out, err = annotator("info", v.project, "--json")  # each project opens alone
        assert rc == 0, err
        info = json.loads(out)
        assert info["frames"] == len(list((sequence(shared, vid) / "JPEGImages").iterdir()))
        assert find_dataset(v.project) == dataset.resolve()
    with Project.open(videos["dog-agility"].project) as project:
        assert project.store.mask_count() == 25


def test_video_ids_are_unique_and_the_same_video_is_not_added_twice(dataset, annotator,
                                                                    tmp_path, shared):
    other = tmp_path / "Dog-Agility"  # another video with the same name (case aside)
    other.mkdir()
    for i in range(3):
        cv2.imwrite(str(other / f"{i:05d}.jpg"), np.full((24, 32, 3), 40 * i, np.uint8))
    rc, out, err = annotator("dataset", "add", dataset, other, sequence(shared, "dog-agility"))
    assert rc == 0, err
    assert "Dog-Agility-2: added" in out
    assert "dog-agility: already in the dataset" in out
    assert (dataset / "projects" / "Dog-Agility-2" / "project.avs").is_file()


def test_bad_input_is_one_line_exit_2_and_adds_nothing(dataset, annotator, tmp_path):
    rc, _out, err = annotator("dataset", "add", dataset, tmp_path / "nope.mp4")
    assert rc == 2 and "nope.mp4" in err and len(err.strip().splitlines()) == 1
    rc, _out, err = annotator("dataset", "new", dataset)
    assert rc == 2 and "already holds a dataset" in err
    rc, _out, err = annotator("dataset", "status", tmp_path)
    assert rc == 2 and "not an AVS Annotator dataset" in err
    (tmp_path / "foreign").mkdir()
    sqlite3.connect(tmp_path / "foreign" / "dataset.avsds").execute("CREATE TABLE t(x)")
    rc, _out, err = annotator("dataset", "status", tmp_path / "foreign")
    assert rc == 2 and "another program" in err
    rc, _out, err = annotator("dataset", "assign", dataset, "--to", "ana", "nosuch")
    assert rc == 2 and "nosuch" in err
    with Dataset.open(dataset, readonly=True) as ds:
        assert len(ds.videos()) == 3 and ds.assignments() == {}


def test_status_json_per_video(dataset, annotator):
    rc, _out, err = annotator("dataset", "assign", dataset, "--to", "ana", "rollerblade")
    assert rc == 0, err
    rc, out, err = annotator("dataset", "status", dataset, "--json")
    assert rc == 0, err
    rows = {r["video_id"]: r for r in json.loads(out)}
    for r in rows.values():
        assert {"video_id", "project", "frames", "segments", "masks", "flagged", "review",
                "assignee", "active_s"} <= set(r)
        assert r["review"] == "none" and r["active_s"] == 0.0  # nobody reviewed or worked
    assert rows["dog-agility"]["frames"] == 25 and rows["dog-agility"]["masks"] == 25
    assert rows["rollerblade"] == {**rows["rollerblade"], "segments": 2, "masks": 1,
                                   "assignee": "ana",
                                   "project": str(dataset / "projects" / "rollerblade")}
    assert rows["motorbike"]["masks"] == 0 and rows["motorbike"]["assignee"] is None


def test_status_is_cached_by_the_store_stamp_and_refreshed_after_a_write(dataset, annotator):
    annotator("dataset", "status", dataset)
    db = sqlite3.connect(dataset / "dataset.avsds")
    before = dict(db.execute("SELECT video_id, stamp FROM summaries"))
    assert sorted(before) == sorted(SEQS)
    with Project.open(dataset / "projects" / "motorbike") as project:
        project.store.add_object("rider", "person")
    rc, out, _err = annotator("dataset", "status", dataset, "--json")
    after = dict(db.execute("SELECT video_id, stamp FROM summaries"))
    db.close()
    assert after["motorbike"] != before["motorbike"]
    assert after["dog-agility"] == before["dog-agility"]
    cats = {c.label: c for c in categories_for(dataset / "projects" / "motorbike")}
    assert cats["person"].videos == ("motorbike", "rollerblade")


def test_stats_is_the_lu_avs_table(dataset, annotator):
    rc, out, err = annotator("dataset", "stats", dataset, "--json")
    assert rc == 0, err
    s = json.loads(out)
    assert (s["videos"], s["categories"], s["segments"]) == (3, 3, 4)
    assert s["frames"] == 25 + 35 + 43
    assert s["mean_segment_frames"] == round((25 + 20 + 10 + 43) / 4, 3)
    assert s["silent_share"] == round(5 / (25 + 35 + 43), 4)  # rollerblade 20–24
    assert s["masks"] == 26 and s["per_category"]["person"]["segments"] == 2
    rc, out, _err = annotator("dataset", "stats", dataset)
    assert rc == 0 and "silent share" in out


def test_check_names_a_missing_project(dataset, annotator):
    rc, out, _err = annotator("dataset", "check", dataset)
    assert rc == 0 and "ok (3 videos" in out
    import shutil

    shutil.rmtree(dataset / "projects" / "motorbike")
    rc, out, err = annotator("dataset", "check", dataset)
    assert rc == 2 and "motorbike: no project" in out and "1 problem" in err
    rc, out, err = annotator("dataset", "add", dataset)  # finishes it
    assert rc == 0 and "motorbike: finished" in out, err
    assert annotator("dataset", "check", dataset)[0] == 0


def test_propagate_runs_the_videos_that_need_it(dataset, annotator):
    rc, out, err = annotator("dataset", "propagate", dataset, "--engine", "fallback",
                             "--refine", "off")
    assert rc == 0, err
    assert "1 video to propagate, 2 need nothing" in out  # dog-agility done, motorbike: no anchor
    assert "rollerblade" in out and "dog-agility" not in out.split("need nothing", 1)[1]
    with Project.open(dataset / "projects" / "rollerblade", readonly=True) as p:
        assert p.store.mask_count() == 20
    rc, out, err = annotator("dataset", "propagate", dataset, "--engine", "fallback")
    assert rc == 0 and "nothing to propagate (3 videos need nothing" in out, err
