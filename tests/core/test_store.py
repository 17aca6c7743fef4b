"""The project store on a real SQLite file."""

import sqlite3

import numpy as np
import pytest

from annotator.core import masks as M
from annotator.core.records import StoreError, VideoRecord
from annotator.core.store import Store

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
    assert [(x.object_id, x.start, x.end) for x in s.segments()] == [(guitar, 5, 20),
                                                                       (man, 10, 30)]
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


# -- the real order of writes (issue 10: edits during a running propagation) -----------------

def _current(s, o, f):
    m = s.mask(o, f)
    return None if m is None else (m.source, m.anchor)


def test_undo_redo_follow_the_order_of_writes_across_reopen(tmp_path):
    """A job's operation is taken when it starts, but it keeps writing after a person's edits:
    undo takes back the job first (without the person's edits), then the edits, newest first;
    redo walks back in reverse. The order survives closing and reopening the store."""
    s = make_store(tmp_path)
    o = s.add_object("dog")
    s.put_mask(o, 0, box(0, 0, 5, 5), source="manual")
    job = s.new_op("propagate", "Propagate dog")
    s.put_masks([dict(object_id=o, frame=1, mask=box(1, 0, 6, 5), source="propagated",
                      anchor=False)], op=job)
    accept = s.new_op("accept", "Accept mask (anchor)")
    s.put_mask(o, 5, box(2, 2, 9, 9), source="sam", anchor=True, op=accept)
    s.put_masks([dict(object_id=o, frame=2, mask=box(2, 0, 7, 5), source="propagated",
                      anchor=False)], op=job)
    brush = s.new_op("brush", "Brush stroke")  # painted over the job's frame 1
    s.put_mask(o, 1, box(0, 0, 12, 12), source="brush", anchor=False, op=brush)
    s.put_masks([dict(object_id=o, frame=3, mask=box(3, 0, 8, 5), source="propagated",
                      anchor=False)], op=job)
    assert job < accept < brush
    assert [op.id for op in s.history(3)] == [job, brush, accept]
    s.close()

    s = Store(tmp_path / "p.avs")
    assert s.undoable().id == job
    assert s.undo().id == job  # only what is still the job's goes
    assert _current(s, o, 1) == ("brush", False)
    assert _current(s, o, 2) is None and _current(s, o, 3) is None
    assert _current(s, o, 5) == ("sam", True)
    s.close()

    s = Store(tmp_path / "p.avs")
    assert s.undo().id == brush
    assert _current(s, o, 1) is None  # under the stroke was the job's mask, undone already
    assert s.undo().id == accept
    assert _current(s, o, 5) is None and _current(s, o, 0) == ("manual", True)
    s.close()

    s = Store(tmp_path / "p.avs")
    assert [s.redo().id for _ in range(3)] == [accept, brush, job]
    assert s.redo() is None
    assert _current(s, o, 5) == ("sam", True)
    assert _current(s, o, 1) == ("brush", False)  # newer than the job's frame 1
    assert _current(s, o, 2) == ("propagated", False) and _current(s, o, 3) is not None
    # a new write after an undo ends redo; undo then takes the new write first
    assert s.undo().id == job
    fresh = s.new_op("brush", "Another stroke")
    s.put_mask(o, 7, box(0, 0, 3, 3), source="brush", op=fresh)
    assert s.redoable() is None
    assert s.undo().id == fresh and s.undo().id == brush


def test_undo_of_a_job_keeps_a_segment_status_a_person_set_meanwhile(tmp_path):
    """Row changes follow the same rule: each column gets its newest value among the
    operations not undone."""
    s = make_store(tmp_path)
    o = s.add_object("dog")
    seg = s.add_segment(o, 0, 20)
    job = s.new_op("propagate", "Propagate dog")
    s.update_segment(seg, status="done", note="checked by hand")  # the person, mid-job
    s.update_segment(seg, status="review", op=job)  # the job's end
    assert s.segment(seg).status == "review"
    assert s.undo().id == job
    assert s.segment(seg).status == "done" and s.segment(seg).note == "checked by hand"
    s.undo()
    assert s.segment(seg).status == "todo" and s.segment(seg).note is None
    s.redo()
    s.redo()
    assert s.segment(seg).status == "review"


def test_machine_writes_leave_a_persons_masks(tmp_path):
    """put_machine_masks keeps anchors, a person's sources and a person's recent deletions;
    it overwrites propagated masks and the job's own."""
    s = make_store(tmp_path)
    o = s.add_object("dog")
    s.put_mask(o, 1, box(0, 0, 4, 4), source="manual")  # anchor
    s.put_mask(o, 2, box(0, 0, 4, 4), source="sam", anchor=False)  # a click, not accepted
    s.put_mask(o, 3, box(0, 0, 4, 4), source="propagated", anchor=True)  # accepted as is
    s.put_mask(o, 4, box(0, 0, 4, 4), source="propagated", anchor=False)
    s.put_mask(o, 5, box(0, 0, 4, 4), source="propagated", anchor=False)
    job = s.new_op("propagate", "Propagate dog")
    since = s.last_rev_id()
    s.delete_mask(o, 5)  # a person's deletion after the job started
    s.put_mask(o, 6, box(0, 0, 4, 4), source="propagated", anchor=False)
    s.delete_mask(o, 6)
    s.put_mask(o, 6, box(0, 0, 4, 4), source="propagated", anchor=False, op=job)  # its own
    s.put_mask(o, 7, box(0, 0, 4, 4), source="brush", anchor=False)
    s.undo()  # the brush stroke on 7 is undone: nothing of a person's there now
    new = box(10, 10, 20, 20)
    items = [dict(object_id=o, frame=f, mask=new, source="propagated", anchor=False)
             for f in range(1, 9)]
    out = s.put_machine_masks(items, op=job, since_rev=since)
    written = {f for f, r in zip(range(1, 9), out) if r is not None}
    assert written == {4, 6, 7, 8}
    assert s.mask(o, 5) is None
    for f in (1, 2, 3):
        assert np.array_equal(s.mask(o, f).decode(), box(0, 0, 4, 4))
    # the alt opinion and the mask of one key are decided together
    out = s.put_machine_masks([dict(object_id=o, frame=2, mask=new, source="refined",
                                    anchor=False), items[1]], op=job)
    assert out == [None, None]
    assert s.undoable().id == job


def test_version_1_project_migrates_with_seq_equal_to_id(tmp_path):
    """A project written before the order of writes existed opens, and undo keeps its order."""
    from annotator.core.schema import SCHEMA_V1

    path = tmp_path / "old.avs"
    db = sqlite3.connect(path, isolation_level=None)
    for stmt in SCHEMA_V1.split(";"):
        if stmt.strip():
            db.execute(stmt)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO video(id, path, frame_count, fps, width, height) "
               "VALUES (1, '/v.mp4', ?, 25.0, ?, ?)", (N, W, H))
    db.execute("INSERT INTO categories(id, name) VALUES (1, 'dog')")
    db.execute("INSERT INTO objects(id, name, category_id, color, created) "
               "VALUES (1, 'dog', 1, '#fff', 0)")
    for op in (1, 2, 3):
        db.execute("INSERT INTO ops(id, kind, label, created) VALUES (?, 'masks', '', 0)", (op,))
        db.execute("INSERT INTO mask_revs(id, object_id, frame, rle, area, source, anchor, "
                   "created, op_id) VALUES (?, 1, ?, ?, 16, 'manual', 1, 0, ?)",
                   (op, op, M.encode(box(0, 0, 4, 4))["counts"], op))
        db.execute("INSERT INTO masks(object_id, frame, rev_id) VALUES (1, ?, ?)", (op, op))
    db.close()
    s = Store(path)
    assert s.schema_version >= 2  # later migrations run too
    assert [(op.id, op.seq) for op in s.history()] == [(3, 3), (2, 2), (1, 1)]
    assert s.undo().id == 3 and s.mask(1, 3) is None
    op = s.new_op("brush")
    assert s.operation(op).seq == 4
