"""``annotator import DIR --boxes file.xml``: CVAT for video 1.1 ``<box>`` tracks on a real
DAVIS sequence — our own CVAT export read back into a fresh project (keyframes, an outside
keyframe, the box that closes the track left out; the same track as the original), and a CVAT
1.1 file written by hand as CVAT writes one (interpolated ``keyframe="0"`` boxes left out,
``outside`` honoured, masks left to ``--masks``); a bad file names each problem and imports
nothing, in one line with exit 2 from the command line. Real SQLite files, the real frames."""

from __future__ import annotations

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


def truth_box(shared, frame: int) -> tuple[float, ...]:
    gt = np.array(Image.open(shared("data", "davis2016", SEQ, "Annotations",
                                    f"{frame:05d}.png"))) > 0
    ys, xs = np.nonzero(gt)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def new_project(shared, path, segments=((0, 12), (16, 24))):
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), path)
    dog = p.add_object("dog", category="dog")
    for s, e in segments:
        p.add_segment(dog, s, e)
    return p, dog


def keys(store, oid):
    return [(b.frame, b.box, b.outside) for b in store.boxes_of(oid) if b.keyframe]


def test_our_cvat_export_round_trips_the_box_keyframes(shared, tmp_path):
    p, dog = new_project(shared, tmp_path / "a.avsproj")
    try:
        for f in (0, 6, 16, 24):
            p.store.put_box(dog, f, truth_box(shared, f))
        p.store.put_box(dog, 9, truth_box(shared, 9), outside=True)  # hidden from frame 9
        p.store.put_box(dog, 3, truth_box(shared, 3), source="tracked")  # exported as 0
        p.export("cvat", tmp_path / "dog.xml")
        want, track = keys(p.store, dog), segment_track(p.store, dog, 0, 24)
    finally:
        p.close()
    q, dog2 = new_project(shared, tmp_path / "b.avsproj")
    try:
        report = import_boxes(q.store, tmp_path / "dog.xml")
        assert "5 box keyframes" in report.lines()[0]
        got = keys(q.store, dog2)
        assert [(f, o) for f, _b, o in got] == [(f, o) for f, _b, o in want]
        for (_f, a, _o), (_g, b, _p) in zip(got, want):
            assert a == pytest.approx(b, abs=0.005)  # CVAT's two decimals
        assert {b.source for b in q.store.boxes_of(dog2)} == {"imported"}
        again = segment_track(q.store, dog2, 0, 24)
        assert [t.frame for t in again] == [t.frame for t in track]  # the same frames
        for a, b in zip(again, track):  # the same boxes, but the tracked one (not exported)
            if b.source != "tracked":
                assert (a.box is None) == (b.box is None) and a.outside == b.outside
                assert a.box is None or a.box == pytest.approx(b.box, abs=0.005)
        by = {t.frame: t for t in again}
        assert by[3].source == "interpolated" and by[9].outside and 10 not in by
        assert by[20].box == pytest.approx(
            [a + (b - a) * 0.5 for a, b in zip(truth_box(shared, 16), truth_box(shared, 24))],
            abs=0.005)
        assert q.undo().startswith("Import boxes from dog.xml")
    finally:
        q.close()


HAND = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id><name>dog</name><size>25</size><mode>interpolation</mode>
      <labels><label><name>dog</name><type>rectangle</type></label>
              <label><name>person</name><type>rectangle</type></label></labels>
      <original_size><width>{w}</width><height>{h}</height></original_size>
    </task>
  </meta>
  <track id="0" label="dog" source="manual">
    <box frame="2" keyframe="1" outside="0" occluded="0" xtl="10.50" ytl="20.00"
         xbr="110.25" ybr="220.00" z_order="0"></box>
    <box frame="3" keyframe="0" outside="0" occluded="0" xtl="12.00" ytl="20.00"
         xbr="112.00" ybr="220.00" z_order="0"></box>
    <box frame="8" keyframe="1" outside="0" occluded="0" xtl="40.00" ytl="30.00"
         xbr="140.00" ybr="230.00" z_order="0"></box>
    <box frame="10" keyframe="1" outside="1" occluded="0" xtl="40.00" ytl="30.00"
         xbr="140.00" ybr="230.00" z_order="0"></box>
  </track>
  <track id="1" label="person" source="manual">
    <box frame="4" keyframe="1" outside="0" occluded="1" xtl="200" ytl="50" xbr="260"
         ybr="180" z_order="0"><attribute name="object">handler</attribute></box>
    <box frame="13" keyframe="1" outside="1" occluded="0" xtl="200" ytl="50" xbr="260"
         ybr="180" z_order="0"><attribute name="object">handler</attribute></box>
  </track>
  <track id="2" label="dog" source="manual">
    <mask frame="5" keyframe="1" outside="0" occluded="0" rle="2, 2" left="0" top="0"
          width="2" height="2" z_order="0"></mask>
  </track>
</annotations>
"""


def test_a_hand_written_cvat_file(shared, tmp_path):
    p, dog = new_project(shared, tmp_path / "a.avsproj", ((0, 24),))
    try:
        h, w = p.store.size_hw
        handler = p.add_object("handler", category="person")
        p.add_segment(handler, 4, 12)  # frame 13 (the track's end) is outside it
        xml = tmp_path / "cvat.xml"
        xml.write_text(HAND.format(w=w, h=h))
        # track 0 has no object attribute: it is "dog 0", a new object
        with pytest.raises(UserError, match="outside every audible segment of 'dog 0'"):
            import_boxes(p.store, xml)
        xml.write_text(HAND.format(w=w, h=h).replace(
            'z_order="0"></box>', 'z_order="0"><attribute name="object">dog</attribute></box>'))
        report = import_boxes(p.store, xml)
        lines = " ".join(report.lines())
        assert "4 box keyframes" in lines and "1 shape that is not a box left out" in lines
        assert keys(p.store, dog) == [(2, (10.5, 20.0, 110.25, 220.0), False),
                                      (8, (40.0, 30.0, 140.0, 230.0), False),
                                      (10, (40.0, 30.0, 140.0, 230.0), True)]
        assert keys(p.store, handler) == [(4, (200.0, 50.0, 260.0, 180.0), False)]
        track = {t.frame: t for t in segment_track(p.store, dog, 0, 24)}
        assert track[3].source == "interpolated"  # ours, not CVAT's keyframe="0" box
        assert track[3].box == pytest.approx((10.5 + 29.5 / 6, 20 + 10 / 6,
                                              110.25 + 29.75 / 6, 220 + 10 / 6), abs=1e-6)
        assert track[10].outside and 11 not in track
    finally:
        p.close()


def test_a_bad_cvat_file_names_each_problem_and_the_cli_says_it_in_one_line(shared,
                                                                          tmp_path):
    p, dog = new_project(shared, tmp_path / "a.avsproj", ((0, 24),))
    h, w = p.store.size_hw
    bad = tmp_path / "bad.xml"
    bad.write_text(HAND.format(w=w, h=h).replace('xbr="110.25"', 'xbr="9999"')
                   .replace('frame="8"', 'frame="x"').replace(
        'z_order="0"></box>', 'z_order="0"><attribute name="object">dog</attribute></box>'))
    with pytest.raises(UserError) as err:
        import_boxes(p.store, bad)
    text = str(err.value)
    assert "track 0 box on frame 2" in text and "track 0 box on frame x" in text
    assert p.store.box_count() == 0
    other = tmp_path / "other.xml"
    other.write_text(HAND.format(w=w * 2, h=h * 2))
    directory = p.project.dir
    p.close()
    r = subprocess.run([sys.executable, "-m", "annotator.cli", "import", str(directory),
                        "--boxes", str(other)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert str(other) in r.stderr and "task of this video" in r.stderr
