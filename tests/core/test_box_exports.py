"""Boxes in the exports, on a real DAVIS sequence: a box-only segment (two keyframes from the
ground truth's boxes, interpolated between) beside a masked one. COCO: one bbox-only
annotation per frame of the box-only segment (``area`` of the box, empty ``segmentation``,
``attributes.keyframe``), read by pycocotools (``COCO``, ``COCOeval`` with ``iouType="bbox"``)
and imported back as keyframes; MOTChallenge ``gt.txt`` read back with NumPy. Real SQLite
files, the real frames; nothing stands in."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from annotator import api
from annotator.core.box_import import import_boxes
from annotator.core.importers import import_coco

SEQ = "dog-agility"


def truth(shared, frame: int) -> np.ndarray:
    return np.array(Image.open(shared("data", "davis2016", SEQ, "Annotations",
                                      f"{frame:05d}.png"))) > 0


def tight(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


@pytest.fixture
def project(shared, tmp_path):
    """dog: frames 0–10 box-only (keyframes 0 and 10 drawn), frames 15–24 masks (imported
    ground truth, as an import writes them)."""
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "dog.avsproj")
    dog = p.add_object("dog", category="dog")
    p.add_segment(dog, 0, 10)
    p.add_segment(dog, 15, 24)
    p.store.put_box(dog, 0, tight(truth(shared, 0)))
    p.store.put_box(dog, 10, tight(truth(shared, 10)))
    op = p.store.new_op("import_masks", "ground truth")
    for f in range(15, 25):
        p.store.put_mask(dog, f, truth(shared, f), source="imported", op=op)
    yield p, dog
    p.close()


def test_coco_has_a_bbox_only_annotation_per_frame_read_by_pycocotools(project, shared,
                                                                        tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    p, dog = project
    out = p.export("coco", tmp_path / "dog.json")
    assert "10 masks, 11 boxes on 21 frames" in str(out)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "dog.json"))
    boxes = [a for a in coco.dataset["annotations"] if a["segmentation"] == []]
    masks = [a for a in coco.dataset["annotations"] if a["segmentation"] != []]
    assert len(masks) == 10 and [coco.imgs[a["image_id"]]["frame_index"] for a in boxes] == \
        list(range(11))
    a, b = tight(truth(shared, 0)), tight(truth(shared, 10))
    for ann in boxes:
        f = coco.imgs[ann["image_id"]]["frame_index"]
        x0, y0, x1, y1 = (p_ + (q - p_) * f / 10 for p_, q in zip(a, b))
        assert ann["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=1e-6)
        assert ann["area"] == pytest.approx((x1 - x0) * (y1 - y0), abs=1e-6)
        assert ann["attributes"]["keyframe"] == (f in (0, 10))
        assert ann["source"] == ("drawn" if f in (0, 10) else "interpolated")
        assert ann["track_id"] == dog and ann["iscrowd"] == 0
    for ann in masks:  # the masked segment keeps its masks, with their tight boxes
        f = coco.imgs[ann["image_id"]]["frame_index"]
        assert np.array_equal(coco.annToMask(ann).astype(bool), truth(shared, f))
    # pycocotools' own box evaluation of the boxes against themselves: a perfect score
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes([{**ann, "score": 1.0} for ann in coco.dataset["annotations"]])
        ev = COCOeval(coco, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_the_coco_export_imports_back_as_keyframes_and_masks(project, shared, tmp_path):
    p, _dog = project
    p.export("coco", tmp_path / "dog.json")
    q = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "again.avsproj")
    try:
        dog = q.add_object("dog", category="dog")
        q.add_segment(dog, 0, 10)
        q.add_segment(dog, 15, 24)
        rep = import_boxes(q.store, tmp_path / "dog.json")
        assert "10 annotations with a segmentation left out: import them with --masks" in \
            rep.lines()
        assert [(r.frame, r.source) for r in q.store.boxes_of(dog)] == [(0, "imported"),
                                                                         (10, "imported")]
        assert q.store.boxes_of(dog)[1].box == pytest.approx(tight(truth(shared, 10)))
        report = import_coco(q.store, tmp_path / "dog.json")
        assert report.masks == 10 and "11 box-only annotations left out: import them with " \
            "--boxes" in report.lines()
    finally:
        q.close()


def test_mot_gt_holds_every_box_of_every_frame(project, shared, tmp_path):
    p, dog = project
    out = p.export("mot", tmp_path / "mot")
    assert "21 boxes of 1 object on 21 frames" in str(out)
    seq = Path(out.summary["path"]) / out.summary["sequence"]
    rows = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
    assert rows.shape == (21, 10)
    assert list(rows[:, 0]) == [f + 1 for f in [*range(11), *range(15, 25)]]  # from 1
    assert set(rows[:, 1]) == {dog} and set(rows[:, 6]) == {1}
    by_frame = {int(r[0]) - 1: r[2:6] for r in rows}
    for f in (0, 10, 15, 24):
        x0, y0, x1, y1 = tight(truth(shared, f))
        assert list(by_frame[f]) == pytest.approx([x0, y0, x1 - x0, y1 - y0])
    info = (seq / "seqinfo.ini").read_text()
    assert "seqLength=25" in info and "imWidth=854" in info
    again = p.export("mot", tmp_path / "mot")  # an earlier export of this project: replaced
    assert again.summary["boxes"] == 21
    assert json.loads((tmp_path / "mot" / ".avs-export.json").read_text())["format"] == "mot"


def test_lu_avs_writes_box_only_segments_read_back_and_scored(project, shared, tmp_path):
    from annotator.core.lu_avs import project_tracks, release_tracks
    from annotator.pipeline.evaluate import evaluate

    p, dog = project
    out = p.export("lu-avs", tmp_path / "lu")
    assert "1 box-only segment in bbox_segs_train.json" in str(out)
    root = tmp_path / "lu"
    vid = out.summary["video_id"]
    boxed = json.loads((root / "bbox_segs_train.json").read_text())
    assert [a["segment"] for a in boxed[vid]["annotations"]] == [[0, 10]]
    masked = json.loads((root / "seg_train.json").read_text())
    assert [a["segment"] for a in masked[vid]["annotations"]] == [[15, 24]]
    folder = root / "train" / f"{vid}__dog__st__0__et__10"
    assert not (folder / "masks.npy").exists()
    bbox = np.load(folder / "bbox.npy")
    a, b = tight(truth(shared, 0)), tight(truth(shared, 10))
    assert bbox.shape == (11, 4) and bbox.dtype == np.float32
    assert bbox[4] == pytest.approx([p_ + (q - p_) * 0.4 for p_, q in zip(a, b)], abs=1e-4)
    # the LU-AVS reader gives the boxes back; the box metrics read the box-only segment
    tracks = {t.start: t for t in release_tracks(root)}
    assert tracks[0].mask(3) is None and tracks[0].box(3) == pytest.approx(bbox[3])
    ours = {t.start: t for t in project_tracks(p.store, vid)}
    assert ours[0].box(10) == pytest.approx(b)
    scores = evaluate(list(ours.values()), list(tracks.values()))
    assert scores.overall["m_tIoU_box"] == pytest.approx(1.0, abs=1e-5)
    assert scores.overall["m_vIoU_box"] == pytest.approx(1.0, abs=1e-5)


def test_cvat_writes_box_tracks_and_image_boxes(project, shared, tmp_path):
    import xml.etree.ElementTree as ET

    p, dog = project
    p.store.put_box(dog, 5, (100, 100, 200, 200), outside=True)  # hidden from frame 5 on
    p.store.put_box(dog, 8, tight(truth(shared, 8)))
    out = p.export("cvat", tmp_path / "dog.xml")
    assert "2 tracks, 10 masks, 8 boxes" in str(out)
    root = ET.parse(tmp_path / "dog.xml").getroot()
    labels = {lab.findtext("name"): lab.findtext("type") for lab in root.iter("label")}
    assert labels == {"dog": "any"}
    mask_track, box_track = root.findall("track")
    assert mask_track.find("mask") is not None and box_track.find("mask") is None
    boxes = [(int(b.get("frame")), b.get("keyframe"), b.get("outside"))
             for b in box_track.findall("box")]
    assert boxes == [(0, "1", "0"), (1, "0", "0"), (2, "0", "0"), (3, "0", "0"), (4, "0", "0"),
                     (5, "1", "1"), (8, "1", "0"), (9, "0", "0"), (10, "1", "0"),
                     (11, "1", "1")]
    first = box_track.find("box")
    x0, y0, x1, y1 = tight(truth(shared, 0))
    assert [float(first.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")] == \
        pytest.approx([x0, y0, x1, y1], abs=0.005)
    assert first.find("attribute").text == "dog"

    out = p.export("cvat-images", tmp_path / "dog-images.xml")
    root = ET.parse(tmp_path / "dog-images.xml").getroot()
    frames = {int(im.get("id")): [s.tag for s in im] for im in root.iter("image")}
    assert sorted(frames) == [0, 1, 2, 3, 4, 8, 9, 10, *range(15, 25)]
    assert frames[0] == ["box"] and frames[15] == ["mask"]


def test_avis_has_the_box_tracks_bboxes(project, shared, tmp_path):
    p, dog = project
    p.export("avis", tmp_path / "avis.json")
    (ann,) = json.loads((tmp_path / "avis.json").read_text())["annotations"]
    a, b = tight(truth(shared, 0)), tight(truth(shared, 10))
    x0, y0, x1, y1 = (p_ + (q - p_) * 0.3 for p_, q in zip(a, b))
    assert ann["bboxes"][3] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=1e-6)
    assert ann["areas"][3] == pytest.approx((x1 - x0) * (y1 - y0), abs=1e-6)
    assert ann["segmentations"][3] is None and ann["segmentations"][15] is not None
    assert ann["bboxes"][12] is None  # between the segments
