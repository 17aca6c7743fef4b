"""Import and export on the real DAVIS data and generated files."""

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from annotator.core import masks as M
from annotator.core.export import export_coco, export_png
from annotator.core.importers import ImportError_, import_coco, import_png_masks, import_segments
from annotator.core.project import Project

DAVIS = ["boat", "bmx-bumps", "dog-agility", "hockey", "stroller", "tennis"]


@pytest.mark.parametrize("seq", DAVIS)
def test_davis_imports_as_anchors_and_coco_export_is_pixel_exact(shared, tmp_path, seq):
    root = shared("data", "davis2016", seq)
    with Project.create(tmp_path / "p", root / "JPEGImages") as project:
        store = project.store
        report = import_png_masks(store, root / "Annotations", object_name=seq)
        gt_files = sorted((root / "Annotations").glob("*.png"))
        assert report.masks == len(gt_files) == store.frame_count
        oid = store.object_by_name(seq).id
        assert store.anchors(oid) == list(range(len(gt_files)))
        out = tmp_path / "out.json"
        res = export_coco(store, out)
        assert res["annotations"] == len(gt_files)
        coco = COCO(str(out))
        for ann in coco.dataset["annotations"]:
            frame = coco.imgs[ann["image_id"]]["frame_index"]
            gt = np.array(Image.open(gt_files[frame])) > 0
            assert np.array_equal(coco.annToMask(ann).astype(bool), gt), frame
            assert isinstance(ann["segmentation"]["counts"], str)
            assert ann["iscrowd"] == 0 and ann["track_id"] == oid and ann["source"] == "imported"


def test_judo_mask_of_wrong_width_is_a_clear_error_or_explicit_fix(shared, tmp_path):
    root = shared("data", "multi", "judo")
    with Project.create(tmp_path / "p", root / "JPEGImages") as project:
        with pytest.raises(M.MaskSizeError, match=r"00005\.png is 853×480 .* video is 854×480"):
            import_png_masks(project.store, root / "Annotations")
        assert project.store.mask_count() == 0  # nothing half-imported
        report = import_png_masks(project.store, root / "Annotations", fit="pad-crop")
        assert any("00005.png" in f and "853×480" in f for f in report.fixes)
        names = [o.name for o in project.store.objects()]
        assert names == ["object 1", "object 2", "object 3", "object 4"]
        # each indexed id lands on the frame that introduces it, nowhere else
        frames = {o.name: [m.frame for m in project.store.masks_of(o.id)]
                  for o in project.store.objects()}
        assert frames == {"object 1": [0], "object 2": [5], "object 3": [8], "object 4": [13]}
        padded = project.store.mask(project.store.object_by_name("object 2").id, 5).decode()
        assert not padded[:, 853].any()


def test_png_export_round_trips_through_import(shared, tmp_path):
    root = shared("data", "davis2016", "dog-agility")
    with Project.create(tmp_path / "p", root / "JPEGImages") as project:
        import_png_masks(project.store, root / "Annotations", object_name="dog")
        export_png(project.store, tmp_path / "png")
        files = sorted((tmp_path / "png").glob("*.png"))
        assert len(files) == 25
        im = Image.open(files[3])
        assert im.mode == "P"
        gt = np.array(Image.open(root / "Annotations" / "00003.png")) > 0
        assert np.array_equal(np.array(im) == project.store.object_by_name("dog").id, gt)


def test_coco_round_trip_into_a_new_project(shared, tmp_path):
    root = shared("data", "davis2016", "tennis")
    with Project.create(tmp_path / "a", root / "JPEGImages") as a:
        import_png_masks(a.store, root / "Annotations", object_name="player")
        export_coco(a.store, tmp_path / "a.json")
        with Project.create(tmp_path / "b", root / "JPEGImages") as b:
            report = import_coco(b.store, tmp_path / "a.json")
            assert report.masks == 70 and report.objects_created == ["player"]
            ob = b.store.object_by_name("player").id
            oa = a.store.object_by_name("player").id
            for f in (0, 33, 69):
                assert np.array_equal(a.store.mask(oa, f).decode(), b.store.mask(ob, f).decode())


def _project_with_frames(tmp_path, n=50, fps=10.0):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n):
        Image.fromarray(np.full((16, 24, 3), i, np.uint8)).save(folder / f"{i:05d}.png")
    return Project.create(tmp_path / "p", folder, fps=fps)


def test_segments_csv_seconds_and_frames(tmp_path):
    with _project_with_frames(tmp_path) as project:
        csv = tmp_path / "s.csv"
        csv.write_text("object,category,start,end\nguitar,instrument,0.5,1.2\nman,person,2,3.9\n")
        rep = import_segments(project.store, csv, lambda s: int(s * 10))
        assert rep.segments == 2 and rep.objects_created == ["guitar", "man"]
        segs = {project.store.object(s.object_id).name: (s.start, s.end)
                for s in project.store.segments()}
        assert segs == {"guitar": (5, 12), "man": (20, 39)}
        js = tmp_path / "s.json"
        js.write_text(json.dumps([{"object": "guitar", "start_frame": 30, "end_frame": 40}]))
        import_segments(project.store, js, lambda s: int(s * 10))
        assert len(project.store.segments()) == 3
        assert project.store.object_by_name("guitar").category == "instrument"


def test_bad_segments_reported_line_by_line_nothing_imported(tmp_path):
    with _project_with_frames(tmp_path) as project:
        csv = tmp_path / "bad.csv"
        csv.write_text(
            "object,category,start,end,colour\n"
            "a,x,0,1,red\n")
        with pytest.raises(ImportError_, match="line 2: unknown column"):
            import_segments(project.store, csv, lambda s: int(s * 10))
        csv.write_text(
            "object,category,start,end\n"
            "a,x,0,1\n"        # fine
            "b,x,3,2\n"        # inverted
            "c,x,0,9\n"        # out of range (9 s > 5 s)
            "a,x,0.5,2\n"      # overlaps line 2
            "d,x,zero,1\n")    # not a number
        with pytest.raises(ImportError_) as err:
            import_segments(project.store, csv, lambda s: int(s * 10))
        msg = str(err.value)
        expected = ("line 3: frames 30–20 would start after they end",
                    "line 4: end 9 s is outside the video",
                    "line 5: frames 5–20 overlap a's segment 0–10 (line 2)",
                    "line 6: start is not a number")
        assert all(e in msg for e in expected), msg
        assert [msg.index(e) for e in expected] == sorted(msg.index(e) for e in expected)
        assert project.store.segments() == [] and project.store.objects() == []


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_exports_get_the_modes_of_any_other_file(shared, tmp_path, umask):
    """A teammate (or the evaluation server's user) can read an export: it has the modes the
    umask gives any new file, not the private 0600 / 0700 of a temporary file."""
    import os
    import stat

    from annotator.core.export_vos import export_davis

    root = shared("data", "davis2016", "dog-agility")
    old = os.umask(umask)
    try:
        with Project.create(tmp_path / "p", root / "JPEGImages") as project:
            import_png_masks(project.store, root / "Annotations", object_name="dog")
            export_coco(project.store, tmp_path / "out.coco.json")
            export_davis(project.store, tmp_path / "davis")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.coco.json").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "davis").stat().st_mode) == 0o777 & ~umask
    png = next((tmp_path / "davis").rglob("*.png"))
    assert stat.S_IMODE(png.stat().st_mode) == 0o666 & ~umask
