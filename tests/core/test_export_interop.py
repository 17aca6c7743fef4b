"""Exports the field's tools read right (issue 12): COCO file names and tracks, frames beside
the JSON, the Datumaro layout, DAVIS / YouTube-VOS PNGs with ids 1..N, atomic exports.

Every case under the issue's "What was seen" has a test here that failed before the fix. The
third-party readers are pycocotools here; Datumaro and a DAVIS evaluator are in tests/interop.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as cocomask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotator.core.export import ExportError, export_coco
from annotator.core.export_vos import davis_palette, export_davis, export_youtube_vos
from annotator.core.importers import import_png_masks
from annotator.core.project import Project


def cli(*args):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def quiet_coco(path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


@pytest.fixture
def bmx(shared, tmp_path):
    """bmx-bumps (90 frames, 14 of them with an empty ground-truth mask) imported as anchors."""
    root = shared("data", "davis2016", "bmx-bumps")
    project = Project.create(tmp_path / "bmx", root / "JPEGImages")
    import_png_masks(project.store, root / "Annotations", object_name="rider")
    yield project, root
    project.close()


def test_coco_file_names_are_the_frame_folders_own_files(bmx, tmp_path):
    project, root = bmx
    out = tmp_path / "a.json"
    export_coco(project.store, out)
    coco = quiet_coco(out)
    names = [im["file_name"] for im in coco.dataset["images"]]
    assert len(names) == 90
    assert all((root / "JPEGImages" / n).is_file() for n in names), names[:3]
    # COCOeval (segm) against the DAVIS ground truth converted to COCO, images matched by
    # file_name only: the export scores AP 1 on its own ground truth
    gt = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "rider"}]}
    for i, f in enumerate(sorted((root / "Annotations").glob("*.png")), start=1):
        m = np.asfortranarray((np.array(Image.open(f)) > 0).astype(np.uint8))
        gt["images"].append({"id": i, "file_name": f.stem + ".jpg", "width": 854,
                             "height": 480})
        if m.any():
            rle = cocomask.encode(m)
            gt["annotations"].append({
                "id": i, "image_id": i, "category_id": 1, "iscrowd": 0,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                "area": float(cocomask.area(rle)), "bbox": cocomask.toBbox(rle).tolist()})
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    gt_coco = quiet_coco(tmp_path / "gt.json")
    id_of = {im["file_name"]: im["id"] for im in gt["images"]}
    dets = [{"image_id": id_of[coco.imgs[a["image_id"]]["file_name"]], "category_id": 1,
             "segmentation": a["segmentation"], "score": 1.0}
            for a in coco.dataset["annotations"] if a["area"] > 0]
    assert len(dets) == 76
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt_coco, gt_coco.loadRes(dets), "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_track_identity_is_in_attributes_too(bmx, tmp_path):
    project, _root = bmx
    export_coco(project.store, tmp_path / "a.json")
    anns = json.loads((tmp_path / "a.json").read_text())["annotations"]
    oid = project.store.object_by_name("rider").id
    assert {a["attributes"]["track_id"] for a in anns} == {a["track_id"] for a in anns} == {oid}
    assert {a["attributes"]["object"] for a in anns} == {"rider"}


def test_with_frames_writes_the_named_frames_beside_the_json(bmx, tmp_path):
    project, root = bmx
    out = tmp_path / "coco"
    r = cli("export", project.dir, "--with-frames", "-o", out)
    assert r.returncode == 0, r.stderr
    coco = quiet_coco(out / "annotations.json")
    for im in coco.dataset["images"]:
        assert (out / im["file_name"]).read_bytes() == \
            (root / "JPEGImages" / im["file_name"]).read_bytes()


def test_datumaro_layout_is_where_datumaro_looks(bmx, tmp_path):
    project, _root = bmx
    out = tmp_path / "dm"
    r = cli("export", project.dir, "--layout", "datumaro", "-o", out)
    assert r.returncode == 0, r.stderr
    coco = quiet_coco(out / "annotations" / "instances_default.json")
    assert len(coco.dataset["images"]) == 90
    assert all((out / "images" / "default" / im["file_name"]).is_file()
               for im in coco.dataset["images"])


def test_video_source_names_frames_by_stem_and_writes_them(shared, tmp_path):
    video = shared("data", "videos", "bikes.mp4")
    with Project.create(tmp_path / "p", video) as project:
        store = project.store
        oid = store.add_object("bike")
        h, w = store.size_hw
        for f in (0, 7, 120):
            m = np.zeros((h, w), bool)
            m[20 + f // 10:60, 30:90] = True
            store.put_mask(oid, f, m, source="manual")
        with project.open_video() as v:
            frames = {f: v[f] for f in (0, 7, 120)}
            res = export_coco(store, tmp_path / "out", with_frames=True, video=v)
    coco = quiet_coco(res["json"])
    assert [im["file_name"] for im in coco.dataset["images"]] == \
        ["bikes/000000.jpg", "bikes/000007.jpg", "bikes/000120.jpg"]
    for im in coco.dataset["images"]:
        jpg = np.array(Image.open(tmp_path / "out" / im["file_name"]).convert("RGB"))
        assert jpg.shape == frames[im["frame_index"]].shape
        assert np.abs(jpg.astype(int) - frames[im["frame_index"]]).mean() < 4  # JPEG


def _three_objects_first_deleted(tmp_path, shared):
    root = shared("data", "davis2016", "dog-agility")
    project = Project.create(tmp_path / "p", root / "JPEGImages")
    store = project.store
    ids = [store.add_object(n, "dog") for n in ("gone", "dog", "shadow")]
    gt = [np.array(Image.open(root / "Annotations" / f"{f:05d}.png")) > 0 for f in range(25)]
    for f in range(3, 20):  # frames 0-2 and 20-24 hold no mask at all
        store.put_mask(ids[0], f, gt[f], source="manual")
        store.put_mask(ids[1], f, gt[f], source="manual")
        shadow = np.zeros_like(gt[f])
        shadow[400:, :100] = True
        store.put_mask(ids[2], f, shadow, source="manual")
    store.delete_object(ids[0])
    return project, gt


def test_davis_export_ids_1_to_n_palette_empty_frames_objects_json(shared, tmp_path):
    project, gt = _three_objects_first_deleted(tmp_path, shared)
    with project:
        res = export_davis(project.store, tmp_path / "davis")
    files = sorted((tmp_path / "davis").glob("*.png"))
    assert res["frames"] == len(files) == 25  # every frame, the empty ones too
    ims = [Image.open(f) for f in files]
    assert all(im.mode == "P" and im.getpalette()[:12] == davis_palette()[:12] for im in ims)
    vals = set().union(*(np.unique(np.array(im)).tolist() for im in ims))
    assert vals == {0, 1, 2}
    assert not np.array(ims[0]).any() and not np.array(ims[24]).any()
    dog = np.array(ims[10]) == 1
    assert np.array_equal(dog, gt[10] & ~(np.array(ims[10]) == 2))
    objects = json.loads((tmp_path / "davis" / "objects.json").read_text())
    assert {k: v["name"] for k, v in objects.items()} == {"1": "dog", "2": "shadow"}
    assert {v["category"] for v in objects.values()} == {"dog"}


def test_davis_export_round_trips_names_through_import(shared, tmp_path):
    project, _gt = _three_objects_first_deleted(tmp_path, shared)
    with project:
        export_davis(project.store, tmp_path / "davis")
        old = {project.store.object(m.object_id).name: m.rle["counts"]
               for m in project.store.iter_masks() if m.frame == 10}
    root = shared("data", "davis2016", "dog-agility")
    with Project.create(tmp_path / "b", root / "JPEGImages") as b:
        import_png_masks(b.store, tmp_path / "davis")
        assert [o.name for o in b.store.objects()] == ["dog", "shadow"]
        new = {b.store.object(m.object_id).name: m.rle["counts"]
               for m in b.store.iter_masks() if m.frame == 10}
    assert new["shadow"] == old["shadow"]


def test_youtube_vos_layout_and_meta(shared, tmp_path):
    project, _gt = _three_objects_first_deleted(tmp_path, shared)
    with project:
        export_youtube_vos(project.store, tmp_path / "yt", with_frames=True)
    meta = json.loads((tmp_path / "yt" / "meta.json").read_text())
    objs = meta["videos"]["dog-agility"]["objects"]
    assert sorted(objs) == ["1", "2"] and objs["1"]["category"] == "dog"
    assert objs["2"]["frames"] == [f"{f:05d}" for f in range(3, 20)]
    anns = sorted((tmp_path / "yt" / "Annotations" / "dog-agility").glob("*.png"))
    jpgs = sorted((tmp_path / "yt" / "JPEGImages" / "dog-agility").glob("*.jpg"))
    assert [p.stem for p in anns] == [p.stem for p in jpgs] == objs["2"]["frames"]
    root = shared("data", "davis2016", "dog-agility")
    with Project.create(tmp_path / "b", root / "JPEGImages") as b:  # names from meta.json
        import_png_masks(b.store, tmp_path / "yt" / "Annotations" / "dog-agility")
        assert [(o.name, o.category) for o in b.store.objects()] == [("dog", "dog"),
                                                                      ("shadow", "dog")]


def test_export_refuses_a_foreign_folder_and_replaces_its_own(bmx, tmp_path):
    project, _root = bmx
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    r = cli("export", project.dir, "--format", "davis", "-o", foreign)
    assert r.returncode == 2 and "--overwrite" in r.stderr and str(foreign) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    out = tmp_path / "davis"
    out.mkdir()
    (out / "99999.png").write_bytes(b"stale")  # an old file in the target the user chose
    assert cli("export", project.dir, "--format", "davis", "-o", out).returncode == 2
    r = cli("export", project.dir, "--format", "davis", "-o", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert not (out / "99999.png").exists() and len(list(out.glob("*.png"))) == 90
    again = cli("export", project.dir, "--format", "davis", "-o", out)  # our own: no flag
    assert again.returncode == 0, again.stderr
    js = tmp_path / "x.json"
    js.write_text('{"someone": "else"}')
    with pytest.raises(ExportError, match="--overwrite"):
        export_coco(project.store, js)
    assert json.loads(js.read_text()) == {"someone": "else"}
    export_coco(project.store, js, overwrite=True)
    export_coco(project.store, js)  # now an earlier export of this project


def test_killed_export_leaves_no_target(bmx, tmp_path):
    project, _root = bmx
    out = tmp_path / "davis"
    proc = subprocess.Popen([sys.executable, "-m", "annotator.cli", "export", str(project.dir),
                             "--format", "davis", "-o", str(out)])
    deadline = time.time() + 120
    tmp = []
    while time.time() < deadline and not tmp and proc.poll() is None:
        tmp = [p for p in tmp_path.glob(".davis.tmp-*") if any(p.glob("*.png"))]
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert tmp and proc.returncode == -signal.SIGKILL, "the export ended before it was killed"
    assert not out.exists()  # no half export that looks finished
    r = cli("export", project.dir, "--format", "davis", "-o", out)
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("*.png"))) == 90
    assert list(tmp_path.glob(".davis.*")) == []  # the killed export's leftovers are gone


def test_what_a_writer_killed_before_its_first_byte_left_is_cleared(bmx, tmp_path):
    """A kill can land between creating the temporary folder (or file) and writing anything
    into it: its name carries the writer's pid, so the next export still knows it for an
    orphan. A temporary of a writer still alive is left alone."""
    project, _root = bmx
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a pid now unused
    empty_dir = tmp_path / f".davis.tmp-{gone}-abc123"
    empty_dir.mkdir()
    dead_file = tmp_path / f".coco.json.{gone}-xyz.tmp"
    live_file = tmp_path / f".coco.json.{os.getpid()}-xyz.tmp"
    dead_file.write_text("")
    live_file.write_text("")
    export_davis(project.store, tmp_path / "davis")
    export_coco(project.store, tmp_path / "coco.json")
    assert not empty_dir.exists() and not dead_file.exists()
    assert live_file.exists()
    assert len(list((tmp_path / "davis").glob("*.png"))) == 90
