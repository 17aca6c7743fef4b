"""``annotator import DIR --boxes FILE`` on a real DAVIS sequence: a CSV of keyframes and a
COCO file of bboxes (no segmentation) become imported keyframes with interpolation between
them; every problem of a file is named with its line and nothing is imported; the command line
answers a bad file in one line with exit 2. Real SQLite files, the real frames."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from annotator import api
from annotator.core.box_import import import_boxes
from annotator.core.box_tracks import segment_track
from annotator.errors import UserError

SEQ = "dog-agility"


def truth_box(shared, frame: int) -> list[float]:
    gt = np.array(Image.open(shared("data", "davis2016", SEQ, "Annotations",
                                    f"{frame:05d}.png"))) > 0
    ys, xs = np.nonzero(gt)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


@pytest.fixture
def project(shared, tmp_path):
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "dog.avsproj")
    dog = p.add_object("dog", category="dog")
    p.add_segment(dog, 0, 20)
    yield p
    p.close()


def test_csv_keyframes_are_imported_and_interpolated(project, shared, tmp_path):
    a, b = truth_box(shared, 2), truth_box(shared, 12)
    csv = tmp_path / "boxes.csv"
    csv.write_text("object,category,frame,x0,y0,x1,y1,outside\n"
                   f"dog,dog,2,{','.join(map(str, a))},0\n"
                   f"dog,dog,12,{','.join(map(str, b))},\n"
                   "dog,dog,18,10,10,20,20,1\n")
    report = import_boxes(project.store, csv)
    assert report.lines()[0] == "0 segments, 0 masks, 3 box keyframes on 3 frames"
    store, dog = project.store, project.objects()[0].id
    assert [(r.frame, r.source, r.outside) for r in store.boxes_of(dog)] == [
        (2, "imported", False), (12, "imported", False), (18, "imported", True)]
    track = {t.frame: t for t in segment_track(store, dog, 0, 20)}
    assert track[7].source == "interpolated"
    assert track[7].box == pytest.approx([p + (q - p) * 0.5 for p, q in zip(a, b)], abs=1e-6)
    assert track[18].outside and 19 not in track and 0 not in track
    assert project.undo() == "Import boxes from boxes.csv" and store.boxes_of(dog) == []


def test_coco_bbox_file_round_trips_keyframes_only(project, shared, tmp_path):
    a, b = truth_box(shared, 0), truth_box(shared, 10)
    coco = {"images": [{"id": i + 1, "file_name": f"{f:05d}.jpg", "width": 854, "height": 480}
                       for i, f in enumerate((0, 5, 10))],
            "categories": [{"id": 1, "name": "dog"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [a[0], a[1], a[2] - a[0],
                                                                     a[3] - a[1]],
                 "attributes": {"track_id": 7, "object": "dog", "keyframe": True}},
                {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5],
                 "segmentation": [], "attributes": {"track_id": 7, "keyframe": False}},
                {"id": 3, "image_id": 3, "category_id": 1, "bbox": [b[0], b[1], b[2] - b[0],
                                                                     b[3] - b[1]],
                 "segmentation": [], "track_id": 7, "attributes": {"object": "dog"}}]}
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(coco))
    import_boxes(project.store, path)
    dog = project.objects()[0].id
    rows = project.store.boxes_of(dog)
    assert [r.frame for r in rows] == [0, 10]  # the interpolated one is made again, not read
    assert rows[0].box == pytest.approx(a) and rows[1].box == pytest.approx(b)
    # a masks import of this file points at --boxes
    from annotator.core.importers import import_coco

    with pytest.raises(UserError, match="annotation 1 has a bbox and no segmentation: import "
                                        "boxes with --boxes"):
        import_coco(project.store, path)


def test_every_problem_is_named_and_nothing_is_imported(project, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("object,category,frame,x0,y0,x1,y1\n"
                   "dog,dog,22,0,0,10,10\n"        # outside the dog's segment
                   "cat,cat,3,0,0,10,10\n"         # a new object has no segments
                   "dog,dog,4,50,0,10,10\n"        # x0 > x1
                   "dog,dog,5,0,0,900,10\n"        # wider than the frame
                   "dog,dog,6,a,0,10,10\n"
                   "dog,dog,7,0,0,10,10\n"
                   "dog,dog,7,0,0,11,11\n")
    with pytest.raises(UserError) as err:
        import_boxes(project.store, csv)
    msg = str(err.value)
    assert msg.startswith(f"{csv}: nothing imported — ")
    for part in ("line 2: frame 22 is outside every audible segment of 'dog'",
                 "line 3: frame 3 is outside every audible segment of 'cat' (it has none)",
                 "line 4: the box (50, 0, 10, 10) on frame 4 is not an ordered box",
                 "line 5: the box (0, 0, 900, 10)", "line 6: frame must be a whole number",
                 "lines 7 and 8 both give 'dog' a box on frame 7"):
        assert part in msg, part
    assert project.store.box_count() == 0 and project.store.object_by_name("cat") is None
    head = tmp_path / "head.csv"
    head.write_text("object,frame,x0,y0,x1,y1\n")
    with pytest.raises(UserError, match="line 1: the header lacks category"):
        import_boxes(project.store, head)


def test_the_command_line_imports_and_refuses_in_one_line(project, shared, tmp_path):
    a = truth_box(shared, 3)
    csv = tmp_path / "boxes.csv"
    csv.write_text(f"object,category,frame,x0,y0,x1,y1\ndog,dog,3,{','.join(map(str, a))}\n")
    directory = project.project.dir
    project.close()

    def run(*args):
        return subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                              capture_output=True, text=True, timeout=300)

    r = run("import", directory, "--boxes", csv)
    assert r.returncode == 0 and "1 box keyframe on 1 frame" in r.stdout, r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("object,category,frame,x0,y0,x1,y1\ndog,dog,23,0,0,5,5\n")
    r = run("import", directory, "--boxes", bad)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert str(bad) in r.stderr and "outside every audible segment" in r.stderr
