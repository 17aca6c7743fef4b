"""The project store on a real SQLite file."""

import sqlite3

import numpy as np
import pytest

from annotator.core import masks as M
from annotator.core.store import Store, StoreError, VideoRecord

H, W, N = 24, 32, 50


def make_store(tmp_path, name="p.avs"):
    s = Store(tmp_path / name, create=True)
    s.set_video(VideoRecord(path="/v.mp4", rel_path=None, is_folder=False, size_bytes=1,
                            fingerprint="x", frame_count=N, fps=25.0, width=W, height=H,
                            duration=2.0, has_audio=True))
    return s


def box(x0, y0, x1, y1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_schema_wal_foreign_keys(tmp_path):
    s = make_store(tmp_path)
    assert s.schema_version >= 1
    assert s._q("PRAGMA journal_mode")[0][0] == "wal"
    assert s._q("PRAGMA foreign_keys")[0][0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        s.put_mask(999, 0, box(0, 0, 4, 4), source="manual")  # no such object
    assert s.integrity_check() == "ok"


def test_objects_segments_masks_round_trip(tmp_path):
    s = make_store(tmp_path)
    guitar = s.add_object("guitar", "instrument")
    man = s.add_object("man")
    assert [o.name for o in s.objects()] == ["guitar", "man"]
    assert s.object(guitar).category == "instrument"
    seg = s.add_segment(guitar, 5, 20)
    s.add_segment(man, 10, 30)
    assert [x.id for x in s.segments_at(12)] and len(s.segments_at(12)) == 2
    with pytest.raises(StoreError, match="outside"):
        s.add_segment(man, 40, 60)
    rid = s.put_mask(guitar, 5, box(2, 3, 10, 12), source="sam", quality={"iou": 0.9})
    s.put_mask(man, 5, box(12, 3, 20, 12), source="propagated", flags=["area_jump"], score=0.7)
    fm = s.frame_masks(5)
    assert set(fm) == {guitar, man}
    g = fm[guitar]
    assert g.rev_id == rid and g.anchor and g.source == "sam" and g.quality == {"iou": 0.9}
    assert np.array_equal(g.decode(), box(2, 3, 10, 12)) and g.area == 72
    assert g.bbox == (2.0, 3.0, 8.0, 9.0)
    assert not fm[man].anchor and fm[man].flags == ("area_jump",) and fm[man].score == 0.7
    assert s.anchors(guitar) == [5]
    s.update_segment(seg, status="propagated")
    assert s.segment(seg).status == "propagated"


def test_wrong_size_mask_rejected(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    with pytest.raises(M.MaskSizeError, match="31×24"):
        s.put_mask(o, 0, np.zeros((H, W - 1), bool), source="manual")
    with pytest.raises(M.MaskSizeError):
        s.put_mask(o, 0, M.empty(H + 1, W), source="manual")
    assert s.mask_count() == 0


def test_replaced_mask_kept_as_revision_and_undo_redo(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    a, b = box(0, 0, 5, 5), box(5, 5, 15, 15)
    s.put_mask(o, 3, a, source="manual")
    op = s.new_op("brush", "Brush stroke")
    s.put_mask(o, 3, b, source="brush", op=op)
    assert np.array_equal(s.mask(o, 3).decode(), b)
    revs = s.revisions(o, 3)
    assert [r.source for r in revs] == ["manual", "brush"] and revs[1].prev_id == revs[0].rev_id
    assert s.undo().id == op
    assert np.array_equal(s.mask(o, 3).decode(), a)
    assert s.redo().id == op
    assert np.array_equal(s.mask(o, 3).decode(), b)


def test_undo_survives_reopen_and_covers_deletions(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    s.put_mask(o, 1, box(0, 0, 5, 5), source="manual")
    s.delete_mask(o, 1)
    assert s.mask(o, 1) is None
    s.close()
    s = Store(tmp_path / "p.avs")
    s.undo()  # undo the deletion after a restart
    assert s.mask(o, 1) is not None
    s.undo()  # undo the first mask
    assert s.mask(o, 1) is None
    s.undo()  # undo adding the object
    assert s.objects() == []
    s.redo()
    assert [x.name for x in s.objects()] == ["dog"]


def test_new_op_after_undo_ends_redo_but_keeps_revisions(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    s.put_mask(o, 2, box(0, 0, 3, 3), source="manual")
    s.undo()
    s.put_mask(o, 2, box(1, 1, 4, 4), source="manual")
    assert s.redoable() is None
    assert len(s.revisions(o, 2)) == 2  # the undone one is still in the file


def test_whole_propagation_is_one_undo_unit(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    s.put_mask(o, 0, box(0, 0, 5, 5), source="manual")
    op = s.new_op("propagate", "Propagate segment")
    for f in range(1, 10):  # committed frame by frame, as the pipeline does
        s.put_mask(o, f, box(f, 0, f + 5, 5), source="propagated", op=op)
    assert len(s.masks_of(o)) == 10
    assert sorted(f for _, f in s.op_frames(op)) == list(range(1, 10))
    s.undo()
    assert [m.frame for m in s.masks_of(o)] == [0]
    assert s.operation(op).undone and s.operation(op).kind == "propagate"
    assert s.operation(10**6) is None


def test_object_delete_rename_undo(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    s.put_mask(o, 0, box(0, 0, 5, 5), source="manual")
    s.update_object(o, name="puppy", color="#123456")
    assert s.object(o).name == "puppy"
    s.delete_object(o)
    assert s.objects() == [] and s.frame_masks(0) == {}
    s.undo()
    assert s.frame_masks(0)[o].source == "manual"
    s.undo()
    assert s.object(o).name == "dog"
    with pytest.raises(StoreError, match="already exists"):
        s.add_object("dog")


def test_prompts_and_jobs(tmp_path):
    s = make_store(tmp_path)
    o = s.add_object("dog")
    rid = s.put_mask(o, 4, box(0, 0, 5, 5), source="sam")
    s.add_prompt(o, 4, [(1.5, 2.0, True), (10, 10, False)], mask_rev_id=rid)
    p = s.prompts(o, 4)[0]
    assert p["points"] == [(1.5, 2.0, True), (10.0, 10.0, False)] and p["mask_rev_id"] == rid
    s.job_update("propagate:seg1", state="running", total=20, done=3, params={"engine": "x"})
    s.job_update("propagate:seg1", done=4)
    j = s.job("propagate:seg1")
    assert j["state"] == "running" and j["done"] == 4 and j["params"] == {"engine": "x"}
    assert [x["key"] for x in s.jobs("running")] == ["propagate:seg1"]


def test_readonly_store_refuses_writes(tmp_path):
    s = make_store(tmp_path)
    s.add_object("dog")
    s.close()
    r = Store(tmp_path / "p.avs", readonly=True)
    assert [o.name for o in r.objects()] == ["dog"]
    with pytest.raises(StoreError, match="read-only"):
        r.add_object("cat")


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "junk.avs"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.avs"):
        Store(bad)


def test_newer_schema_refused(tmp_path):
    s = make_store(tmp_path)
    s._db.execute("PRAGMA user_version=999")
    s.close()
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path / "p.avs")
