"""Splits by video, stratified by category and reproducible; a dataset segments file is
checked against every video's project and imports all or nothing."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from annotator.core.dataset import Dataset
from annotator.core.dataset_splits import stratified
from annotator.core.project import Project
from annotator.errors import UserError


def test_stratified_split_keeps_each_category_s_share_and_is_reproducible():
    # 90 videos: 60 of "speech", 24 of "dog" (12 with speech too), 6 of "siren" (a rare one)
    cats = {f"v{k:03d}": {"speech"} for k in range(60)}
    cats.update({f"d{k:03d}": {"dog"} | ({"speech"} if k % 2 else set()) for k in range(24)})
    cats.update({f"s{k:03d}": {"siren"} for k in range(6)})
    split = stratified(cats, val=0.2, test=1 / 3, seed=7)
    assert split == stratified(cats, val=0.2, test=1 / 3, seed=7)
    assert split != stratified(cats, val=0.2, test=1 / 3, seed=8)
    totals = Counter(split.values())
    assert (totals["test"], totals["val"]) == (30, 18)
    for prefix, n in (("v", 60), ("d", 24), ("s", 6)):  # each stratum: its share ± 1 video
        got = Counter(s for v, s in split.items() if v.startswith(prefix))
        assert abs(got["test"] - n / 3) <= 1 and abs(got["val"] - n * 0.2) <= 1, (prefix, got)
    with pytest.raises(UserError, match="leave no video for train"):
        stratified(cats, val=0.5, test=0.5, seed=0)


def test_split_command_and_split_from_a_file(dataset, annotator, tmp_path):
    rc, out, err = annotator("dataset", "split", dataset, "--val", "0.34", "--test", "0.34",
                             "--seed", "3")
    assert rc == 0 and out.strip() == "train 1 video, val 1 video, test 1 video", err
    with Dataset.open(dataset, readonly=True) as ds:
        first = ds.splits()
    assert annotator("dataset", "split", dataset, "--val", "0.34", "--test", "0.34",
                     "--seed", "3")[0] == 0
    with Dataset.open(dataset, readonly=True) as ds:
        assert ds.splits() == first
    f = tmp_path / "splits.json"
    f.write_text(json.dumps({"test": ["motorbike"], "val": ["dog-agility"]}))
    assert annotator("dataset", "split", dataset, "--from", f)[0] == 0
    with Dataset.open(dataset, readonly=True) as ds:
        assert ds.splits() == {"dog-agility": "val", "motorbike": "test",
                               "rollerblade": "train"}
    bad = tmp_path / "bad.csv"
    bad.write_text("video,subset\nmotorbike,train\nnosuch,val\n")
    rc, _out, err = annotator("dataset", "split", dataset, "--from", bad)
    assert rc == 2 and "bad.csv" in err and "'nosuch'" in err
    bad.write_text("video,subset\nmotorbike,holdout\n")
    rc, _out, err = annotator("dataset", "split", dataset, "--from", bad)
    assert rc == 2 and "line 2" in err and "holdout" in err


def _segments(project_dir) -> list[tuple[str, int, int]]:
    with Project.open(project_dir, readonly=True) as p:
        names = {o.id: o.name for o in p.store.objects()}
        return [(names[s.object_id], s.start, s.end) for s in p.store.segments()]


def test_segments_import_is_all_or_nothing_per_file(dataset, annotator, tmp_path):
    before = {v: _segments(dataset / "projects" / v)
              for v in ("dog-agility", "rollerblade", "motorbike")}
    f = tmp_path / "more.csv"
    f.write_text("video,object,category,start,end\n"
                 "dog-agility,owner,person,0.0,0.5\n"  # good
                 "motorbike,bike,motorcycle,0.5,1.0\n"  # overlaps the project's segment
                 "rollerblade,skater,person,0.2,9.0\n"  # past the end of the video
                 "nosuch,x,y,0,1\n")
    rc, _out, err = annotator("dataset", "import", dataset, "--segments", f)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "nothing imported" in err
    assert "line 3" in err and "(video motorbike)" in err and "line 4" in err
    assert "line 5: no video 'nosuch'" in err
    after = {v: _segments(dataset / "projects" / v) for v in before}
    assert after == before
    f.write_text("video,object,category,start,end\n"
                 "dog-agility,owner,person,0.0,0.5\n"
                 "motorbike,rider,person,0.2,1.0\n")
    rc, out, err = annotator("dataset", "import", dataset, "--segments", f)
    assert rc == 0 and "2 segments imported into 2 videos" in out, err
    assert ("owner", 0, 15) in _segments(dataset / "projects" / "dog-agility")  # 30 fps
    rc, out, err = annotator("dataset", "import", dataset, "--segments", f)  # again: nothing
    assert rc == 0 and "0 segments imported" in out
    with Project.open(dataset / "projects" / "motorbike") as p:  # one undoable step
        assert p.store.undo().label.startswith("Import segments from more.csv")
        assert [o.name for o in p.store.objects()] == ["bike"]
