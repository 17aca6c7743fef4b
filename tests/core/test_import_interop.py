"""Imports from the field's tools (issue 12): COCO from other tools (no track ids, CVAT-style
``attributes.track_id``, uncompressed RLE), greyscale masks with anti-aliased edges, and CVAT
for video 1.1 XML. Each case under the issue's "What was seen" failed before the fix."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as cocomask

from annotator.core.cvat import export_cvat, import_cvat
from annotator.core.importers import ImportError_, import_coco, import_png_masks
from annotator.core.project import Project
from annotator.core.quality import region_similarity

FRAMES = range(4, 20)  # 16 frames


def cli(*args):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def dog(shared, tmp_path):
    root = shared("data", "davis2016", "dog-agility")
    gt = {f: np.array(Image.open(root / "Annotations" / f"{f:05d}.png")) > 0 for f in range(25)}
    project = Project.create(tmp_path / "p", root / "JPEGImages")
    yield project, gt
    project.close()


def halves(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask's left and right halves (split at its box's middle column)."""
    xs = np.nonzero(mask.any(0))[0]
    mid = (xs.min() + xs.max()) // 2
    left, right = mask.copy(), mask.copy()
    left[:, mid:] = False
    right[:, :mid] = False
    return left, right


def rle(mask: np.ndarray, *, uncompressed: bool = False) -> dict:
    if uncompressed:
        flat = mask.flatten(order="F").astype(np.int8)
        edges = np.flatnonzero(np.diff(flat)) + 1
        runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
        return {"size": list(mask.shape), "counts": ([0] if flat[0] else []) + runs}
    r = cocomask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(mask.shape), "counts": r["counts"].decode()}


def coco_file(path, gt, *, track=None, uncompressed=False):
    """Two instances of 'dog' on each of 16 frames, as another tool writes them: images named
    like the frames, no frame_index; ``track``: None (no ids), "top" or "attributes"."""
    images, anns = [], []
    for f in FRAMES:
        images.append({"id": 100 + f, "file_name": f"{f:05d}.jpg", "width": 854, "height": 480})
        for k, half in enumerate(halves(gt[f]), start=1):
            ann = {"id": len(anns) + 1, "image_id": 100 + f, "category_id": 7, "iscrowd": 0,
                   "segmentation": rle(half, uncompressed=uncompressed)}
            if track == "top":
                ann["track_id"] = k
            elif track == "attributes":
                ann["attributes"] = {"track_id": k, "occluded": False}
            anns.append(ann)
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 7, "name": "dog"}]}))
    return path


def test_coco_without_track_ids_keeps_every_instance(dog, tmp_path):
    project, gt = dog
    report = import_coco(project.store, coco_file(tmp_path / "a.json", gt))
    store = project.store
    assert report.masks == store.mask_count() == 32 and report.frames == 16
    assert len(store.objects()) == 32 and {o.category for o in store.objects()} == {"dog"}
    union = {f: np.zeros_like(gt[f]) for f in FRAMES}
    for m in store.iter_masks():
        union[m.frame] |= m.decode()
    assert all(np.array_equal(union[f], gt[f]) for f in FRAMES)


@pytest.mark.parametrize("where", ["top", "attributes"])
def test_track_ids_join_instances_into_objects(dog, tmp_path, where):
    project, gt = dog
    report = import_coco(project.store, coco_file(tmp_path / "a.json", gt, track=where))
    store = project.store
    assert report.masks == store.mask_count() == 32
    assert [o.name for o in store.objects()] == ["dog 1", "dog 2"]
    for k, obj in enumerate(store.objects()):
        masks = store.masks_of(obj.id)
        assert [m.frame for m in masks] == list(FRAMES)
        assert all(np.array_equal(m.decode(), halves(gt[m.frame])[k]) for m in masks)


def test_two_masks_of_one_track_on_one_frame_import_nothing(dog, tmp_path):
    project, gt = dog
    path = coco_file(tmp_path / "a.json", gt, track="attributes")
    data = json.loads(path.read_text())
    data["annotations"][3]["attributes"]["track_id"] = 1  # frame 5: both halves track 1
    path.write_text(json.dumps(data))
    with pytest.raises(ImportError_, match=r"annotations 3 and 4 are both 'dog 1' on frame 5"):
        import_coco(project.store, path)
    assert project.store.mask_count() == 0 and project.store.objects() == []
    project.close()  # the command opens it itself
    r = cli("import", project.dir, "--masks", path)
    assert r.returncode == 2 and "would overwrite" in r.stderr and str(path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    with Project.open(project.dir) as again:
        assert again.store.mask_count() == 0


def test_uncompressed_rle_imports_exactly_and_a_short_one_is_refused(dog, tmp_path):
    project, gt = dog
    path = coco_file(tmp_path / "a.json", gt, track="top", uncompressed=True)
    import_coco(project.store, path)
    obj = project.store.object_by_name("dog 2")
    assert np.array_equal(project.store.mask(obj.id, 9).decode(), halves(gt[9])[1])
    data = json.loads(path.read_text())
    data["annotations"][5]["segmentation"]["counts"].pop()  # the last background run
    bad = tmp_path / "short.json"
    bad.write_text(json.dumps(data))
    Project.create(tmp_path / "q", project.video_path()).close()
    r = cli("import", tmp_path / "q", "--masks", bad)
    assert r.returncode == 2 and "annotation 6: unreadable segmentation" in r.stderr
    assert "not 480×854 = 409920" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    with Project.open(tmp_path / "q") as q:
        assert q.store.mask_count() == 0


def test_greyscale_masks_with_soft_edges_are_one_object(dog, tmp_path):
    project, gt = dog
    folder = tmp_path / "soft"
    folder.mkdir()
    for f in FRAMES:
        soft = cv2.GaussianBlur(gt[f].astype(np.uint8) * 255, (9, 9), 3)
        Image.fromarray(soft, mode="L").save(folder / f"{f:05d}.png")
    levels = len(np.unique(np.array(Image.open(folder / "00004.png"))))
    assert levels > 100
    project.close()  # the command opens it itself
    r = cli("import", project.dir, "--masks", folder, "--object", "dog")
    assert r.returncode == 0, r.stderr
    assert f"00004.png: {levels} grey levels" in r.stdout and "--labels" in r.stdout
    project = Project.open(project.dir)
    store = project.store
    assert [o.name for o in store.objects()] == ["dog"]
    oid = store.objects()[0].id
    assert all(region_similarity(store.mask(oid, f).decode(), gt[f]) > 0.97 for f in FRAMES)
    with Project.create(tmp_path / "labels", project.video_path()) as q:
        import_png_masks(q.store, folder, labels=True)
        assert len(q.store.objects()) == levels - 1  # asked for: one object per grey value
    project.close()


def test_cvat_video_round_trip(dog, tmp_path):
    project, gt = dog
    store = project.store
    a, b = store.add_object("dog", "animal"), store.add_object("bar", "obstacle")
    for f in list(range(2, 8)) + list(range(12, 15)):
        store.put_mask(a, f, gt[f], source="manual")
    bar = np.zeros_like(gt[0])
    bar[300:320, 100:700] = True
    store.put_mask(b, 5, bar, source="manual")
    out = tmp_path / "task.xml"
    res = export_cvat(store, out)
    assert res == {"path": str(out), "tracks": 2, "masks": 10, "boxes": 0}
    xml = out.read_text()
    assert xml.count("<track ") == 2 and 'outside="1"' in xml and "<version>1.1</version>" in xml
    with Project.create(tmp_path / "b", project.video_path()) as other:
        report = import_cvat(other.store, out)
        assert report.masks == 10 and sorted(report.objects_created) == ["bar", "dog"]
        got = {(other.store.object(m.object_id).name, m.frame): m.decode()
               for m in other.store.iter_masks()}
        assert sorted(got) == sorted([("dog", f) for f in (2, 3, 4, 5, 6, 7, 12, 13, 14)]
                                     + [("bar", 5)])
        assert np.array_equal(got["dog", 13], gt[13]) and np.array_equal(got["bar", 5], bar)
        assert other.store.object_by_name("bar").category == "obstacle"


def test_cvat_for_images_round_trip(dog, tmp_path):
    """CVAT for images 1.1: an <image> per frame with masks, named as the source names the
    frame; object names, categories and masks come back the same."""
    project, gt = dog
    store = project.store
    a, b = store.add_object("dog", "animal"), store.add_object("bar", "obstacle")
    for f in (2, 3, 5):
        store.put_mask(a, f, gt[f], source="manual")
    bar = np.zeros_like(gt[0])
    bar[300:320, 100:700] = True
    store.put_mask(b, 5, bar, source="manual")
    out = tmp_path / "images.xml"
    res = export_cvat(store, out, images=True)
    assert res == {"path": str(out), "images": 3, "masks": 4, "tracks": 2, "boxes": 0}
    root = ET.parse(out).getroot()
    assert root.findtext("meta/task/mode") == "annotation"
    assert [i.get("name") for i in root.iter("image")] == ["00002.jpg", "00003.jpg", "00005.jpg"]
    assert [len(i.findall("mask")) for i in root.iter("image")] == [1, 1, 2]
    with Project.create(tmp_path / "b", project.video_path()) as other:
        report = import_cvat(other.store, out)
        assert report.masks == 4 and sorted(report.objects_created) == ["bar", "dog"]
        dog = other.store.object_by_name("dog").id
        assert np.array_equal(other.store.mask(dog, 3).decode(), gt[3])
        assert np.array_equal(other.store.mask(other.store.object_by_name("bar").id, 5).decode(),
                              bar)


def test_cvat_polygons_and_bad_rle(dog, tmp_path):
    project, _gt = dog
    xml = tmp_path / "poly.xml"
    xml.write_text(
        '<?xml version="1.0"?><annotations><version>1.1</version><meta><task><size>25</size>'
        "<original_size><width>854</width><height>480</height></original_size></task></meta>"
        '<track id="3" label="ball"><polygon frame="1" outside="0" keyframe="1" '
        'points="10.0,10.0;50.0,10.0;50.0,40.0;10.0,40.0"/>'
        '<polygon frame="2" outside="1" keyframe="1" points="1,1;2,2;3,1"/>'
        '<box frame="1" outside="0" keyframe="1" xtl="1" ytl="1" xbr="5" ybr="5"/></track>'
        "</annotations>")
    report = import_cvat(project.store, xml)
    assert report.masks == 1 and report.objects_created == ["ball 3"]
    assert "1 boxes" in " ".join(report.lines())
    m = project.store.mask(project.store.object_by_name("ball 3").id, 1)
    assert 1100 < m.area < 1300 and project.store.mask(m.object_id, 2) is None
    bad = tmp_path / "bad.xml"
    bad.write_text(xml.read_text().replace(
        '<polygon frame="1" outside="0" keyframe="1" points="10.0,10.0;50.0,10.0;50.0,40.0;'
        '10.0,40.0"/>',
        '<mask frame="4" outside="0" keyframe="1" rle="3, 4, 5" left="0" top="0" width="5" '
        'height="5"/>'))
    with Project.create(tmp_path / "q", project.video_path()) as q:
        with pytest.raises(ImportError_, match=r"track 3 mask on frame 4: RLE covers 12 pixels"):
            import_cvat(q.store, bad)
        assert q.store.mask_count() == 0


def test_an_rle_with_too_few_counts_is_refused_not_decoded_from_memory():
    from annotator.core import masks as M

    good = {"size": [40, 30], "counts": [100, 50, 1050]}
    assert M.decode(good).sum() == 50
    with pytest.raises(M.MaskSizeError, match="cover 150 pixels, not 40×30 = 1200"):
        M.decode({"size": [40, 30], "counts": [100, 50]})


def test_an_empty_polygon_list_is_an_empty_mask(dog, tmp_path):
    """Datumaro writes a mask with no pixels (the object hidden) as ``"segmentation": []``."""
    project, gt = dog
    path = coco_file(tmp_path / "a.json", gt, track="attributes")
    data = json.loads(path.read_text())
    data["annotations"][0]["segmentation"] = []
    path.write_text(json.dumps(data))
    assert import_coco(project.store, path).masks == 32
    assert project.store.mask(project.store.object_by_name("dog 1").id, 4).area == 0
