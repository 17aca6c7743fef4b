"""The vocabulary: imported from CSV or JSON (a bad file imports nothing), proposed categories
derived from the projects, accept, and rename / merge across every project — one undoable
operation per project, undone through the project's own history."""

from __future__ import annotations

import json

from annotator.core.dataset import Dataset, categories_for
from annotator.core.project import Project


def _vocab(annotator, root) -> dict[str, dict]:
    rc, out, err = annotator("dataset", "vocabulary", root, "--json")
    assert rc == 0, err
    return {c["label"]: c for c in json.loads(out)}


def _categories(project_dir) -> dict[str, str]:
    with Project.open(project_dir, readonly=True) as p:
        return {o.name: o.category for o in p.store.objects()}


def test_import_csv_and_json_and_refuse_a_bad_file_whole(dataset, annotator, tmp_path):
    v = _vocab(annotator, dataset)
    assert {k: (c["label_id"], c["state"]) for k, c in v.items()} == {
        "dog": (4, "accepted"), "person": (9, "accepted"), "motorcycle": (12, "accepted")}
    good = tmp_path / "more.json"
    good.write_text(json.dumps([{"label_id": 20, "label": "guitar"}, {"id": 4, "name": "dog"}]))
    rc, out, err = annotator("dataset", "vocabulary", dataset, "--import", good)
    assert rc == 0 and "1 category added, 1 already there" in out, err
    bad = tmp_path / "bad.csv"
    bad.write_text("label_id,label\n30,cello\n31,violin\n30,viola\nx,drum\n")
    rc, _out, err = annotator("dataset", "vocabulary", dataset, "--import", bad)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "bad.csv: nothing imported" in err and "line 4" in err and "line 5" in err
    clash = tmp_path / "clash.csv"
    clash.write_text("label_id,label\n5,dog\n")
    rc, _out, err = annotator("dataset", "vocabulary", dataset, "--import", clash)
    assert rc == 2 and "'dog' has label_id 4" in err
    assert set(_vocab(annotator, dataset)) == {"dog", "person", "motorcycle", "guitar"}


def test_a_category_not_in_the_vocabulary_is_proposed_until_accepted(dataset, annotator):
    with Project.open(dataset / "projects" / "motorbike") as p:
        p.store.add_object("helmet", "helmet")
    v = _vocab(annotator, dataset)
    assert v["helmet"] == {"label": "helmet", "label_id": None, "state": "proposed",
                           "videos": ["motorbike"]}
    offered = [c.label for c in categories_for(dataset / "projects" / "dog-agility")]
    assert offered == ["dog", "person", "motorcycle", "helmet"]  # accepted by label id first
    rc, out, err = annotator("dataset", "export", dataset, "--format", "unav", "-o",
                             dataset.parent / "out")
    assert rc == 2 and "'helmet'" in err and "proposed" in err and "accept" in err
    assert not (dataset.parent / "out").exists()
    rc, out, err = annotator("dataset", "accept", dataset, "helmet")
    assert rc == 0 and "label_id 13" in out, err
    assert _vocab(annotator, dataset)["helmet"]["state"] == "accepted"


def test_rename_across_projects_one_undoable_step_each(dataset, annotator):
    with Project.open(dataset / "projects" / "motorbike") as p:
        p.store.add_object("rider", "person")
    rc, out, err = annotator("dataset", "rename", dataset, "person", "human")
    assert rc == 0 and "in 2 projects" in out, err
    assert _categories(dataset / "projects" / "rollerblade") == {"skater": "human"}
    assert _categories(dataset / "projects" / "motorbike") == {"bike": "motorcycle",
                                                               "rider": "human"}
    v = _vocab(annotator, dataset)
    assert v["human"]["label_id"] == 9 and "person" not in v
    with Project.open(dataset / "projects" / "rollerblade") as p:
        op = p.store.undo()  # the project's own undo takes the rename back, whole
        assert op.kind == "recategorise"
        assert p.store.objects()[0].category == "person"
    assert _categories(dataset / "projects" / "motorbike")["rider"] == "human"
    assert _vocab(annotator, dataset)["person"]["state"] == "proposed"  # only rollerblade's
    rc, _out, err = annotator("dataset", "rename", dataset, "human", "dog")
    assert rc == 2 and "merge" in err


def test_merge_into_one_category_and_undo(dataset, annotator):
    rc, out, err = annotator("dataset", "merge", dataset, "person", "motorcycle", "--into",
                             "dog")
    assert rc == 0 and "in 2 projects" in out, err
    assert _categories(dataset / "projects" / "rollerblade") == {"skater": "dog"}
    assert _categories(dataset / "projects" / "motorbike") == {"bike": "dog"}
    v = _vocab(annotator, dataset)
    assert list(v) == ["dog"] and v["dog"]["label_id"] == 4
    assert v["dog"]["videos"] == ["dog-agility", "motorbike", "rollerblade"]
    with Project.open(dataset / "projects" / "motorbike") as p:
        assert p.store.undo().kind == "recategorise"
        assert p.store.objects()[0].category == "motorcycle"
        assert p.store.redo().kind == "recategorise"
        assert p.store.objects()[0].category == "dog"


def test_a_project_open_elsewhere_stops_a_rename_before_anything_changes(dataset, annotator):
    with Project.open(dataset / "projects" / "motorbike") as p:  # an annotator has it open
        p.store.add_object("rider", "person")
        rc, _out, err = annotator("dataset", "rename", dataset, "person", "human")
        assert rc == 2 and "motorbike" in err and "nothing was changed" in err
    assert _categories(dataset / "projects" / "rollerblade") == {"skater": "person"}
    with Dataset.open(dataset, readonly=True) as ds:
        assert "person" in {c.label for c in categories_for(ds.videos()[0].project)}
