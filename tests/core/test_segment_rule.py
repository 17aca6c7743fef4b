"""The segment rule (annotator.core.segments), kept by the store on a real SQLite file: inside
the video, not inverted, no overlap with the same object's live segments; segments of other
objects may overlap and spans that only touch do not. The importer and the planner word
their refusals with the same rule."""

from __future__ import annotations

import json
import sqlite3

import pytest

from annotator.core.importers import ImportError_, import_segments
from annotator.core.records import SegmentRecord, StoreError, VideoRecord
from annotator.core.segments import segment_problem
from annotator.core.store import Store

N = 200


def make_store(tmp_path, name="p.avs"):
    s = Store(tmp_path / name, create=True)
    s.set_video(VideoRecord(path="/v.mp4", rel_path=None, is_folder=False, size_bytes=1,
                            fingerprint="x", frame_count=N, fps=25.0, width=32, height=24,
                            duration=N / 25, has_audio=True))
    return s


def spans(store, oid=None):
    return [(x.object_id, x.start, x.end) for x in store.segments(oid)]


def test_the_rule_in_words():
    bell = [SegmentRecord(1, 7, 10, 65, "todo", None)]
    assert segment_problem(bell, 7, 15, 70, N, name="bell") == \
        "frames 15–70 overlap bell's segment 10–65"
    assert segment_problem(bell, 7, 0, 10, N) == "frames 0–10 overlap the object's segment 10–65"
    assert segment_problem(bell, 7, 70, 15, N) == "frames 70–15 would start after they end"
    assert segment_problem(bell, 7, 150, 200, N) == \
        "frames 150–200 are outside the video (frames 0–199)"
    assert segment_problem(bell, 7, -1, 5, N) is not None
    assert segment_problem(bell, 7, 66, 199, N) is None  # touches 10–65: no shared frame
    assert segment_problem(bell, 7, 0, 9, N) is None
    assert segment_problem(bell, 8, 15, 70, N) is None  # another object's segment
    assert segment_problem(bell, 7, 15, 70, N, ignore=1) is None  # the segment being changed


def test_add_segment_refuses_what_breaks_the_rule_and_stores_nothing(tmp_path):
    s = make_store(tmp_path)
    bell, drum = s.add_object("bell"), s.add_object("drum")
    s.add_segment(bell, 10, 65)
    last = s.undoable()
    with pytest.raises(StoreError) as err:
        s.add_segment(bell, 15, 70)
    assert "15–70" in str(err.value) and "bell's segment 10–65" in str(err.value)
    for start, end, words in ((70, 15, "start after"), (150, 200, "outside the video"),
                              (-3, 4, "outside the video"), (0, 10, "10–65")):
        with pytest.raises(StoreError, match=words):
            s.add_segment(bell, start, end)
    assert spans(s) == [(bell, 10, 65)]
    assert s.undoable() == last  # a refused add leaves no operation behind
    s.add_segment(bell, 66, 80)  # adjacent spans are allowed
    s.add_segment(bell, 0, 9)
    s.add_segment(drum, 20, 120)  # other objects may overlap
    assert spans(s, bell) == [(bell, 0, 9), (bell, 10, 65), (bell, 66, 80)]
    with pytest.raises(StoreError, match="no object 99"):
        s.add_segment(99, 100, 120)


def test_update_segment_keeps_the_rule_the_segment_itself_aside(tmp_path):
    s = make_store(tmp_path)
    bell, drum = s.add_object("bell"), s.add_object("drum")
    first = s.add_segment(bell, 10, 65)
    second = s.add_segment(bell, 120, 180)
    s.add_segment(drum, 50, 140)
    with pytest.raises(StoreError) as err:
        s.update_segment(second, start=60)
    assert "frames 60–180 overlap bell's segment 10–65" in str(err.value)
    with pytest.raises(StoreError, match="start after"):
        s.update_segment(first, start=70)
    with pytest.raises(StoreError, match="outside the video"):
        s.update_segment(second, end=N)
    assert spans(s, bell) == [(bell, 10, 65), (bell, 120, 180)]
    s.update_segment(first, start=5, end=70)  # overlaps only itself (and the drum's)
    s.update_segment(second, start=71)  # touches the first
    assert spans(s, bell) == [(bell, 5, 70), (bell, 71, 180)]
    s.delete_segment(second)  # a deleted segment is not live: its frames are free again
    s.update_segment(first, end=150)
    assert spans(s, bell) == [(bell, 5, 150)]
    s.undo()  # undo brings the state before back: the deleted segment does not overlap it
    s.undo()
    assert spans(s, bell) == [(bell, 5, 70), (bell, 71, 180)]


def test_a_segments_file_is_refused_whole_in_line_order_naming_both_spans(tmp_path):
    s = make_store(tmp_path)
    bell = s.add_object("bell")
    s.add_segment(bell, 10, 65)
    csv = tmp_path / "segs.csv"
    csv.write_text("object,category,start_frame,end_frame\n"
                   "drum,drum,0,40\n"          # line 2: fine
                   "bell,bell,15,70\n"         # line 3: overlaps the project's 10–65
                   "drum,drum,x,50\n"          # line 4: not a number
                   "drum,drum,30,60\n"         # line 5: overlaps line 2
                   "bell,bell,90,80\n")        # line 6: inverted
    with pytest.raises(ImportError_) as err:
        import_segments(s, csv, lambda t: int(t * 25))
    assert err.value.problems == [
        "line 3: frames 15–70 overlap bell's segment 10–65 (already in the project)",
        "line 4: start_frame is not a number: 'x'",
        "line 5: frames 30–60 overlap drum's segment 0–40 (line 2)",
        "line 6: frames 90–80 would start after they end",
    ]
    assert spans(s) == [(bell, 10, 65)] and [o.name for o in s.objects()] == ["bell"]

    js = tmp_path / "segs.json"
    js.write_text(json.dumps([{"object": "drum", "start_frame": 0, "end_frame": 40},
                              {"object": "drum", "start_frame": 40, "end_frame": 50}]))
    with pytest.raises(ImportError_) as err:
        import_segments(s, js, lambda t: int(t * 25))
    assert err.value.problems == ["entry 2: frames 40–50 overlap drum's segment 0–40 (entry 1)"]

    csv.write_text("object,category,start_frame,end_frame\nbell,bell,10,65\nbell,bell,66,99\n")
    report = import_segments(s, csv, lambda t: int(t * 25))
    assert (report.segments, report.already) == (1, 1)  # the project's own 10–65 is skipped
    assert report.lines()[:2] == ["1 segment, 0 masks on 0 frames",
                                  "1 segment already in the project (left as it was)"]
    assert spans(s) == [(bell, 10, 65), (bell, 66, 99)]


def test_the_planner_refuses_overlaps_a_project_kept_from_before_the_rule(tmp_path):
    """Before the store kept the rule, a project could hold overlapping segments of one
    object (written here straight into the file, as that store did)."""
    from annotator.pipeline.plan import plan_passes

    s = make_store(tmp_path)
    bell = s.add_object("bell")
    s.add_segment(bell, 10, 65)
    s.close()
    db = sqlite3.connect(tmp_path / "p.avs")
    db.execute("INSERT INTO segments(object_id, start_frame, end_frame, status, created) "
               "VALUES (?, 15, 70, 'todo', 0)", (bell,))
    db.commit()
    db.close()
    with Store(tmp_path / "p.avs") as s:
        assert spans(s) == [(bell, 10, 65), (bell, 15, 70)]
        with pytest.raises(StoreError) as err:
            plan_passes(s)
        words = str(err.value)
        assert "segments 1 (10–65) and 2 (15–70) of object 'bell' overlap" in words
        assert "merge them or shorten one" in words
