"""Proposals of audible spans in the real store file: decisions persist, undo and redo them."""

import sqlite3

import pytest

from annotator.core.records import StoreError, VideoRecord
from annotator.core.schema import SCHEMA_V1, SCHEMA_V2, SCHEMA_VERSION
from annotator.core.store import Store

N = 200


def make_store(path):
    s = Store(path, create=True)
    s.set_video(VideoRecord(path="/v.mp4", rel_path=None, is_folder=False, size_bytes=1,
                            fingerprint="x", frame_count=N, fps=25.0, width=32, height=24,
                            duration=8.0, has_audio=True))
    return s


def spans(store, state=None):
    return [(p.start, p.end, p.state) for p in store.proposals(state)]


def test_accept_reject_undo_redo_through_the_file(tmp_path):
    path = tmp_path / "p.avs"
    s = make_store(path)
    bell = s.add_object("bell")
    s.set_proposals([(10, 60, 20.0), (100, 140, 15.5), (150, 190, 9.0)])
    assert spans(s) == [(10, 60, "open"), (100, 140, "open"), (150, 190, "open")]
    p1, p2, p3 = s.proposals()
    assert p1.score == 20.0 and p1.segment_id is None
    sid = s.accept_proposal(p1.id, bell)
    s.reject_proposal(p2.id)
    s.close()

    s = Store(path)  # the decisions are in the file
    assert spans(s) == [(10, 60, "accepted"), (100, 140, "rejected"), (150, 190, "open")]
    assert s.proposal(p1.id).segment_id == sid
    assert [(g.object_id, g.start, g.end) for g in s.segments()] == [(bell, 10, 60)]
    assert s.undoable().kind == "reject_proposal"
    s.undo()
    assert s.proposal(p2.id).state == "open"
    s.undo()  # the acceptance: the proposal is open again and its segment is gone
    assert s.proposal(p1.id).state == "open" and s.proposal(p1.id).segment_id is None
    assert s.segments() == []
    s.redo()
    assert s.proposal(p1.id).state == "accepted" and s.proposal(p1.id).segment_id == sid
    assert [(g.id, g.start, g.end) for g in s.segments()] == [(sid, 10, 60)]
    s.close()
    s = Store(path)
    assert s.redoable().kind == "reject_proposal"  # undo history survives the restart too
    s.redo()
    assert spans(s, "rejected") == [(100, 140, "rejected")]
    assert p3.id in [p.id for p in s.proposals("open")]
    s.close()


def test_set_proposals_keeps_decisions_and_does_not_repropose_them(tmp_path):
    s = make_store(tmp_path / "p.avs")
    drum = s.add_object("drum")
    s.set_proposals([(10, 60, 1.0), (100, 140, 1.0), (150, 190, 1.0)])
    a, r, o = s.proposals()
    s.accept_proposal(a.id, drum)
    s.reject_proposal(r.id)
    # a new run: spans mostly on the decided ones are left out, the open one is kept (same id)
    # when it comes again, replaced otherwise
    # (95, 130) lies on the rejected (100, 140) for 31 of its 36 frames, (120, 148) for 21 of
    # 29; (130, 149) for 11 of 20 and (135, 160) for 6 of 26 (so that one is proposed)
    s.set_proposals([(12, 58, 2.0), (95, 130, 2.0), (150, 190, 2.0), (61, 80, 3.0),
                     (120, 148, 4.0), (130, 149, 1.0), (135, 160, 5.0)])
    assert spans(s) == [(10, 60, "accepted"), (61, 80, "open"), (100, 140, "rejected"),
                        (135, 160, "open"), (150, 190, "open")]
    assert s.proposal(o.id).state == "open" and s.proposal(o.id).score == 1.0
    s.set_proposals([])
    assert spans(s) == [(10, 60, "accepted"), (100, 140, "rejected")]
    s.undo()  # a run of the detector is an operation too
    assert [p.start for p in s.proposals("open")] == [61, 135, 150]


def test_accept_is_validated_like_a_segment(tmp_path):
    s = make_store(tmp_path / "p.avs")
    bell = s.add_object("bell")
    drum = s.add_object("drum")
    s.add_segment(bell, 50, 70)
    s.set_proposals([(60, 90, 1.0)])
    (p,) = s.proposals()
    with pytest.raises(StoreError, match="proposal 1: frames 60–90 overlap bell's segment 50–70"):
        s.accept_proposal(p.id, bell)
    assert s.proposal(p.id).state == "open" and len(s.segments(bell)) == 1
    s.accept_proposal(p.id, drum)  # another object's segments may overlap
    with pytest.raises(StoreError, match="already accepted"):
        s.reject_proposal(p.id)
    with pytest.raises(StoreError, match="outside the video"):
        s.set_proposals([(190, 210, 1.0)])
    with pytest.raises(StoreError, match="no proposal"):
        s.accept_proposal(999, drum)


def test_version_2_project_gains_the_proposals_table(tmp_path):
    path = tmp_path / "old.avs"
    db = sqlite3.connect(path, isolation_level=None)
    for sql in (SCHEMA_V1, SCHEMA_V2):
        for stmt in sql.split(";"):
            if stmt.strip():
                db.execute(stmt)
    db.execute("PRAGMA user_version=2")
    db.execute("INSERT INTO video(id, path, frame_count, fps, width, height) "
               "VALUES (1, '/v.mp4', ?, 25.0, 32, 24)", (N,))
    db.close()
    s = Store(path)
    assert s.schema_version == SCHEMA_VERSION and s.proposals() == []
    s.set_proposals([(0, 10, 1.0)])
    assert spans(s) == [(0, 10, "open")]
