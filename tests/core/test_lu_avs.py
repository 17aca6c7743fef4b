"""The LU-AVS release layout, and the UnAV and AVIS JSON layouts, on real DAVIS masks.

The exports are read back by readers written here from the layouts' published descriptions
(the LU-AVS dataset page; YouTube-VIS's field names as its loaders read them), not by our
importer; the import is then checked to give back the project it came from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as cocomask

from annotator.core.importers import import_png_masks
from annotator.core.lu_avs_import import import_lu_avs
from annotator.core.project import Project
from annotator.errors import UserError
from annotator.pipeline.exports import run_export


def cli(*args):
    return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def truth(root: Path) -> np.ndarray:
    """bmx-bumps' ground truth, (90, 480, 854) bool, straight from the DAVIS PNGs."""
    return np.stack([np.array(Image.open(f)) > 0
                     for f in sorted((root / "Annotations").glob("*.png"))])


@pytest.fixture
def bmx(shared, tmp_path):
    """bmx-bumps' rider (category "bmx riding") over two audible segments, 0–39 and 45–89;
    frames 40–44 are outside both (their masks are in the project but not audible)."""
    root = shared("data", "davis2016", "bmx-bumps")
    project = Project.create(tmp_path / "bmx", root / "JPEGImages")
    import_png_masks(project.store, root / "Annotations", object_name="rider",
                     category="bmx riding")
    oid = project.store.object_by_name("rider").id
    project.store.add_segment(oid, 0, 39)
    project.store.add_segment(oid, 45, 89)
    yield project, root
    project.close()


def read_layout(out: Path, subset: str = "train", inclusive: bool = True):
    """A reader of the LU-AVS layout written from the dataset page alone: the JSON, then per
    annotation the folder ``{video}__{label, spaces as _}__st__{start}__et__{end}``."""
    data = json.loads((out / f"seg_{subset}.json").read_text())
    rows = []
    for vid, info in data.items():
        for a in info["annotations"]:
            s, e = a["segment"]
            d = out / subset / f"{vid}__{a['label'].replace(' ', '_')}__st__{s}__et__{e}"
            rows.append((vid, a, s, e if inclusive else e - 1, np.load(d / "masks.npy"),
                         np.load(d / "bbox.npy")))
    return data, rows


def test_export_is_the_release_layout_read_without_our_code(bmx, tmp_path):
    project, root = bmx
    gt = truth(root)
    res, text = run_export(project, "lu-avs", tmp_path / "out")
    assert "2 audible segments" in text and "85 frames" in text
    data, rows = read_layout(tmp_path / "out")
    info = data["bmx-bumps"]
    assert info["fps"] == 30.0 and info["subset"] == "train" and info["duration"] == 3.0
    assert [(r[2], r[3]) for r in rows] == [(0, 39), (45, 89)]
    assert {r[1]["label"] for r in rows} == {"bmx riding"}
    assert {r[1]["label_id"] for r in rows} == {project.store.object_by_name("rider").category_id}
    for _vid, _a, s, e, masks, boxes in rows:
        assert masks.dtype == bool and masks.shape == (e - s + 1, 480, 854)
        assert np.array_equal(masks, gt[s:e + 1])  # element 0 is the segment's first frame
        assert boxes.dtype == np.float32 and boxes.shape == (e - s + 1, 4)
        for k, m in enumerate(masks):
            if not m.any():
                assert np.isnan(boxes[k]).all()
                continue
            ys, xs = np.nonzero(m)
            x, y, w, h = cocomask.toBbox(cocomask.encode(np.asfortranarray(m.astype(np.uint8))))
            assert boxes[k].tolist() == [x, y, x + w, y + h]
            assert boxes[k].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    fmt = json.loads((tmp_path / "out" / "format.json").read_text())
    assert fmt["end"] == "inclusive" and fmt["box"] == "xyxy"


def test_round_trip_gives_back_segments_masks_and_boxes(bmx, tmp_path, shared):
    project, root = bmx
    run_export(project, "lu-avs", tmp_path / "out")
    with Project.create(tmp_path / "back", root / "JPEGImages") as back:
        report = import_lu_avs(back.store, tmp_path / "out")
        assert report.segments == 2 and report.masks == 85 and report.objects_created == ["rider"]
        a, b = project.store, back.store
        ob = b.object_by_name("rider")
        assert ob.category == "bmx riding"
        assert [(s.start, s.end) for s in b.segments()] == [(0, 39), (45, 89)]
        want = {m.frame: m for m in a.masks_of(a.object_by_name("rider").id)}
        got = {m.frame: m for m in b.masks_of(ob.id)}
        assert sorted(got) == [f for f in range(90) if not 40 <= f <= 44]
        for f, m in got.items():
            assert np.array_equal(m.decode(), want[f].decode()), f
            assert m.bbox == want[f].bbox and m.source == "imported" and m.anchor
        again = import_lu_avs(back.store, tmp_path / "out")  # the second time: nothing new
        assert again.segments == 0 and again.already == 2


def test_exclusive_end_and_xywh_boxes_are_written_and_honoured(bmx, tmp_path):
    project, root = bmx
    run_export(project, "lu-avs", tmp_path / "ex", options={"end": "exclusive", "box": "xywh"})
    data, rows = read_layout(tmp_path / "ex", inclusive=False)
    assert [a["segment"] for a in data["bmx-bumps"]["annotations"]] == [[0, 40], [45, 90]]
    assert [m.shape[0] for *_x, m, _b in rows] == [40, 45]
    _vid, _a, s, _e, masks, boxes = rows[0]
    k = next(i for i, m in enumerate(masks) if m.any())
    ys, xs = np.nonzero(masks[k])
    assert boxes[k].tolist() == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                 ys.max() - ys.min() + 1]
    with Project.create(tmp_path / "back", root / "JPEGImages") as back:
        import_lu_avs(back.store, tmp_path / "ex")  # format.json says exclusive
        assert [(s.start, s.end) for s in back.store.segments()] == [(0, 39), (45, 89)]
    # the JSON alone (no format.json beside it) read as inclusive: one frame too few is named
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "seg_train.json").write_text((tmp_path / "ex" / "seg_train.json").read_text())
    (tmp_path / "ex" / "train").rename(alone / "train")
    with Project.create(tmp_path / "b2", root / "JPEGImages") as b2:
        with pytest.raises(UserError, match="looks exclusive: pass --end exclusive"):
            import_lu_avs(b2.store, alone / "seg_train.json")
        assert b2.store.segments() == []
        import_lu_avs(b2.store, alone / "seg_train.json", end="exclusive")
        assert [(s.start, s.end) for s in b2.store.segments()] == [(0, 39), (45, 89)]


def test_same_category_same_span_is_one_segment_and_gaps_are_counted(bmx, tmp_path):
    project, root = bmx
    st = project.store
    other = st.add_object("second rider", "bmx riding")
    st.add_segment(other, 45, 89)
    m = np.zeros((480, 854), bool)
    m[:10, :10] = True
    st.put_mask(other, 50, m, source="manual")
    silent = st.add_object("bell", "bell ringing")
    st.add_segment(silent, 5, 9)  # no mask at all
    res, text = run_export(project, "lu-avs", tmp_path / "out")
    assert "1 segment joins objects" in text and "1 segment without masks left out" in text
    _data, rows = read_layout(tmp_path / "out")
    assert [(r[2], r[3]) for r in rows] == [(0, 39), (45, 89)]
    joined = rows[1][4]
    gt = truth(root)
    assert np.array_equal(joined[5], gt[50] | m)  # the two riders' masks joined
    assert np.array_equal(joined[4], gt[49])
    fmt = json.loads((tmp_path / "out" / "format.json").read_text())
    assert fmt["without_masks"] == ["bmx-bumps__bell_ringing__st__5__et__9"]
    # a frame of a segment that holds no mask is written empty, and counted
    st.delete_mask(st.object_by_name("rider").id, 3)
    _res, text = run_export(project, "lu-avs", tmp_path / "out")
    assert "1 frame inside segments had no mask" in text
    assert not read_layout(tmp_path / "out")[1][0][4][3].any()


def test_import_refuses_what_does_not_fit_and_writes_nothing(bmx, tmp_path, shared):
    project, root = bmx
    run_export(project, "lu-avs", tmp_path / "out", options={"video_id": "vid42"})
    with Project.create(tmp_path / "bikes", shared("data", "videos", "bikes.mp4")) as bikes:
        h, w = bikes.store.size_hw
        with pytest.raises(UserError, match=f"masks are 854×480 pixels, the video {w}×{h}"):
            import_lu_avs(bikes.store, tmp_path / "out")
        assert bikes.store.objects() == [] and bikes.store.segments() == []
    with Project.create(tmp_path / "b", root / "JPEGImages") as b:
        oid = b.store.add_object("rider", "bmx riding")
        b.store.add_segment(oid, 30, 50)  # overlaps both segments of the file
        with pytest.raises(UserError, match="overlap rider's segment 30–50"):
            import_lu_avs(b.store, tmp_path / "out")
        assert b.store.mask_count() == 0 and len(b.store.segments()) == 1


def test_command_line_export_import_and_refusals(bmx, tmp_path):
    project, root = bmx
    project.close()
    out = tmp_path / "rel"
    r = cli("export", project.dir, "--format", "lu-avs", "-o", out, "--subset", "val",
            "--video-id", "0K4QM63pY-w")
    assert r.returncode == 0, r.stderr
    assert "seg_val.json" in r.stdout
    assert (out / "val" / "0K4QM63pY-w__bmx_riding__st__0__et__39" / "masks.npy").is_file()
    r = cli("export", project.dir, "--format", "coco", "-o", tmp_path / "c.json", "--end",
            "exclusive")
    assert r.returncode == 2 and "--end goes with --format lu-avs" in r.stderr
    r = cli("new", root / "JPEGImages", "--project", tmp_path / "n")
    assert r.returncode == 0, r.stderr
    r = cli("import", tmp_path / "n", "--lu-avs", out / "seg_val.json")
    assert r.returncode == 0, r.stderr
    assert "2 segments, 85 masks on 85 frames" in r.stdout
    r = cli("import", tmp_path / "n", "--lu-avs", tmp_path / "nothing")
    assert r.returncode == 2 and "nothing: no such file or folder" in r.stderr


def test_unav_is_seconds_of_each_segment(bmx, tmp_path):
    project, _root = bmx
    res, text = run_export(project, "unav", tmp_path / "u.json", options={"subset": "test"})
    db = json.loads((tmp_path / "u.json").read_text())["database"]
    entry = db["bmx-bumps"]
    assert entry["subset"] == "test" and entry["duration"] == 3.0
    # 30 fps: frame 0 starts at 0 s, frame 39 ends at 40 / 30 s; frame 45 starts at 1.5 s
    assert [a["segment"] for a in entry["annotations"]] == [[0.0, 1.333], [1.5, 3.0]]
    assert {a["label"] for a in entry["annotations"]} == {"bmx riding"}


def test_avis_read_as_youtube_vis_loaders_read_it(bmx, tmp_path):
    project, root = bmx
    gt = truth(root)
    run_export(project, "avis", tmp_path / "a.json")
    data = json.loads((tmp_path / "a.json").read_text())
    (video,) = data["videos"]
    assert video["length"] == len(video["file_names"]) == 90
    assert all((root / "JPEGImages" / n).is_file() for n in video["file_names"])
    cats = {c["id"]: c["name"] for c in data["categories"]}
    (ann,) = data["annotations"]
    assert cats[ann["category_id"]] == "bmx riding" and ann["video_id"] == video["id"]
    assert len(ann["segmentations"]) == len(ann["bboxes"]) == len(ann["areas"]) == 90
    for f, (seg, box) in enumerate(zip(ann["segmentations"], ann["bboxes"], strict=True)):
        audible = f <= 39 or f >= 45
        if seg is None:  # outside the audible segments, or an empty ground truth
            assert box is None and (not audible or not gt[f].any())
            continue
        rle = dict(seg, counts=seg["counts"].encode())
        assert audible and np.array_equal(cocomask.decode(rle).astype(bool), gt[f])
        assert box == cocomask.toBbox(rle).tolist()


def test_evaluate_an_export_against_a_project_from_the_command_line(bmx, tmp_path):
    """``annotator evaluate``: the ground truth an LU-AVS export, the prediction a project
    that lacks the second segment and has the first one shortened to frames 0–29."""
    project, root = bmx
    run_export(project, "lu-avs", tmp_path / "gt")
    st = project.store
    first, second = st.segments()
    st.delete_segment(second.id)
    st.update_segment(first.id, end=29)
    project.close()
    r = cli("evaluate", "--gt", tmp_path / "gt", "--pred", project.dir, "--json", "--per",
            "segment", "--csv", tmp_path / "rows.csv")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    rows = {(row["start"], row["end"]): row for row in out["per_segment"]}
    assert out["n_segments"] == 2
    assert rows[0, 39]["t_IoU"] == pytest.approx(30 / 40)
    assert rows[0, 39]["m_vIoU"] == pytest.approx(30 / 40)  # masks equal on 0–29, of 40 frames
    assert rows[45, 89]["pred"] is None and rows[45, 89]["t_IoU"] == 0
    assert out["t_IoU"] == pytest.approx((0.75 + 0) / 2)
    assert (tmp_path / "rows.csv").read_text().count("\n") == 3
    r = cli("evaluate", "--gt", tmp_path / "gt", "--pred", tmp_path / "nowhere")
    assert r.returncode == 2 and "nowhere: no such file or folder" in r.stderr
