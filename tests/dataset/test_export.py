"""One deliverable for the dataset: the LU-AVS layout read back by the project's own LU-AVS
reader, COCO read by pycocotools, UnAV and AVIS; label ids from the vocabulary, subsets from
the splits (only approved segments when asked: tests/dataset/test_review.py)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
from PIL import Image

from annotator.core import lu_avs
from tests.dataset.conftest import sequence


def _split(annotator, dataset, tmp_path) -> None:
    f = tmp_path / "splits.csv"
    f.write_text("video,subset\ndog-agility,val\nmotorbike,test\n")
    assert annotator("dataset", "split", dataset, "--from", f)[0] == 0


def _davis(shared, seq: str, frame: int) -> np.ndarray:
    return np.asarray(Image.open(sequence(shared, seq) / "Annotations" / f"{frame:05d}.png")) > 0


def test_lu_avs_export_is_read_back_by_the_lu_avs_reader(dataset, annotator, tmp_path, shared):
    _split(annotator, dataset, tmp_path)
    out = tmp_path / "release"
    rc, text, err = annotator("dataset", "export", dataset, "--format", "lu-avs", "-o", out)
    assert rc == 0 and "3 videos" in text, err
    assert sorted(p.name for p in out.glob("seg_*.json")) == ["seg_test.json", "seg_train.json",
                                                         "seg_val.json"]
    entries = {(e.video_id, e.start): e for e in lu_avs.read_entries(out)}
    dog = entries[("dog-agility", 0)]
    assert (dog.subset, dog.label, dog.label_id, dog.end) == ("val", "dog", 4, 24)
    skater = entries[("rollerblade", 0)]
    assert (skater.subset, skater.label_id, skater.end) == ("train", 9, 19)
    tracks = {t.video: t for t in lu_avs.release_tracks(out)}
    for f in (0, 11, 24):
        assert np.array_equal(tracks["dog-agility"].mask(f), _davis(shared, "dog-agility", f))
    assert np.array_equal(tracks["rollerblade"].mask(0), _davis(shared, "rollerblade", 0))
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["videos"] == {"dog-agility": "val", "motorbike": "test",
                                  "rollerblade": "train"}
    # exporting again replaces the earlier export of this dataset; anything else is refused
    assert annotator("dataset", "export", dataset, "--format", "lu-avs", "-o", out)[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    rc, _text, err = annotator("dataset", "export", dataset, "--format", "lu-avs", "-o", other)
    assert rc == 2 and "not an earlier export of this dataset" in err
    assert (other / "notes.txt").read_text() == "mine"


def test_coco_export_is_read_by_pycocotools(dataset, annotator, tmp_path, shared):
    from pycocotools.coco import COCO

    _split(annotator, dataset, tmp_path)
    out = tmp_path / "coco"
    rc, _text, err = annotator("dataset", "export", dataset, "--format", "coco", "-o", out)
    assert rc == 0, err
    with contextlib.redirect_stdout(io.StringIO()):
        val = COCO(str(out / "instances_val.json"))
        train = COCO(str(out / "instances_train.json"))
    assert [c["id"] for c in val.dataset["categories"]] == [4, 9, 12]
    anns = val.loadAnns(val.getAnnIds(catIds=[4]))
    assert len(anns) == 25
    for a in anns[::6]:
        img = val.imgs[a["image_id"]]
        assert img["file_name"].startswith("dog-agility/")
        assert np.array_equal(val.annToMask(a).astype(bool),
                              _davis(shared, "dog-agility", img["frame_index"]))
    (a,) = train.loadAnns(train.getAnnIds())
    assert a["category_id"] == 9 and a["video_id"] == "rollerblade"
    segs = {(s["video_id"], s["start_frame"]) for s in train.dataset["audible_segments"]}
    assert segs == {("rollerblade", 0), ("rollerblade", 25)}


def test_unav_and_avis_exports(dataset, annotator, tmp_path):
    _split(annotator, dataset, tmp_path)
    assert annotator("dataset", "export", dataset, "--format", "unav", "-o",
                     tmp_path / "unav")[0] == 0
    db = json.loads((tmp_path / "unav" / "annotations.json").read_text())["database"]
    assert {v: e["subset"] for v, e in db.items()} == {"dog-agility": "val",
                                                       "motorbike": "test",
                                                       "rollerblade": "train"}
    assert [a["label_id"] for a in db["motorbike"]["annotations"]] == [12]
    assert annotator("dataset", "export", dataset, "--format", "avis", "-o",
                     tmp_path / "avis")[0] == 0
    val = json.loads((tmp_path / "avis" / "val.json").read_text())
    (ann,) = val["annotations"]
    assert ann["category_id"] == 4 and sum(s is not None for s in ann["segmentations"]) == 25
