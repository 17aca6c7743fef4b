"""People, review and active time in the real store file (schema version 5): a version-4
project opens, migrates and keeps its undo; every operation records who made it (the store's
person, ``--as``, the setting, the login name); review states derived from what a segment
holds since its verdict (an edit after approval is "changed", its undo is approved again);
``review_summary`` and ``active_seconds``; ``check`` and ``salvage`` keep it all; SIGKILL
during review and active-time writes loses nothing committed."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from annotator import settings
from annotator.core import mask_rows as R
from annotator.core.active_time import active_seconds
from annotator.core.records import StoreError, VideoRecord
from annotator.core.review import review_summary, segment_reviews
from annotator.core.salvage import check, salvage
from annotator.core.schema import MIGRATIONS, SCHEMA_VERSION
from annotator.core.store import Store

H, W, N = 48, 64, 60


@pytest.fixture(autouse=True)
def _own_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    settings.reload()
    yield
    settings.reload()


def make_store(path, person=None):
    s = Store(path, create=True, person=person)
    s.set_video(VideoRecord("/v.mp4", None, False, 1, "x", N, 25.0, W, H, 2.4, False))
    return s


def disk(x, y, r=6):
    yy, xx = np.mgrid[:H, :W]
    return (xx - x) ** 2 + (yy - y) ** 2 <= r * r


def _version_4(path):
    """A project as version 4 wrote it, by its own SQL: a bell with a segment (frames 5–30)
    and two operations on its frame 10 (the second replacing the first)."""
    db = sqlite3.connect(path, isolation_level=None)
    for v in range(1, 5):
        for stmt in MIGRATIONS[v].split(";"):
            if stmt.strip():
                db.execute(stmt)
    db.execute("PRAGMA user_version=4")
    db.execute("INSERT INTO video(id, path, frame_count, fps, width, height) "
               "VALUES (1, '/v.mp4', ?, 25.0, ?, ?)", (N, W, H))
    db.execute("INSERT INTO categories(name) VALUES ('bell')")
    db.execute("INSERT INTO objects(name, category_id, color, created) VALUES "
               "('bell', 1, '#ff0000', 0)")
    db.execute("INSERT INTO segments(object_id, start_frame, end_frame, created) "
               "VALUES (1, 5, 30, 0)")
    for seq, x in ((1, 20), (2, 30)):
        op = db.execute("INSERT INTO ops(kind, label, created, seq) VALUES ('edit', ?, 0, ?)",
                        (f"mask at {x}", seq)).lastrowid
        R.write_rev(db, op, R.prepare([dict(object_id=1, frame=10, mask=disk(x, 20),
                                            source="manual")], (H, W), N)[0])
    db.close()


def test_a_version_4_project_migrates_and_keeps_its_undo(tmp_path):
    path = tmp_path / "old.avs"
    _version_4(path)
    with Store(path, person="alice") as s:
        assert s.schema_version == SCHEMA_VERSION == 5
        old = s.history()
        assert [o.author for o in old] == [None, None]  # made before people were recorded
        assert s.mask(1, 10).decode()[20, 30]
        assert s.undo().label == "mask at 30"
        assert s.mask(1, 10).decode()[20, 20] and not s.mask(1, 10).decode()[20, 30]
        s.redo()
        s.put_mask(1, 11, disk(25, 20), source="manual")
        assert s.history()[0].author == "alice"
        assert s.undo().author == "alice" and s.mask(1, 11) is None
        assert segment_reviews(s)[1].state == "none"
        assert review_summary(s)["overall"] == "none" and active_seconds(s).total == 0
    assert check(path) == []
    # every row of ops has the seven columns now: a salvage keeps the old operations too
    report = salvage(path, tmp_path / "saved.avs")
    assert report.saved["ops"] == 3
    with Store(tmp_path / "saved.avs") as t:
        assert sorted((o.label, o.author) for o in t.history()) == [
            ("", "alice"), ("mask at 20", None), ("mask at 30", None)]


def test_each_operation_records_who_made_it(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "login_name", lambda: "login-name")
    s = make_store(tmp_path / "p.avs")
    car = s.add_object("car")
    s.put_mask(car, 1, disk(10, 10), source="manual")
    settings.set("person.name", "Pia")
    op = s.new_op("edit", "brush")
    with settings.acting_as("Ann"):
        s.put_mask(car, 2, disk(10, 10), source="manual")
    s.person = "Bo"  # the name the store was given wins
    s.put_mask(car, 3, disk(10, 10), source="manual", op=op)
    s.put_mask(car, 4, disk(10, 10), source="manual")
    ops = s.history()
    assert [o.author for o in ops] == ["Bo", "Pia", "Ann", "login-name", "login-name"]
    assert ops[1].id == op  # the operation's author is who started it
    s.close()


def test_review_states_follow_what_the_segment_holds(tmp_path):
    s = make_store(tmp_path / "p.avs", person="anna")
    bell, drum = s.add_object("bell"), s.add_object("drum")
    a = s.add_segment(bell, 5, 30)
    b = s.add_segment(drum, 10, 20)
    s.put_mask(bell, 5, disk(20, 20), source="manual")
    s.add_review(a, "approved", author="rita")
    s.add_review(b, "needs_work", comment="the skin is missing", frame=15, author="rita")
    r = segment_reviews(s)
    assert (r[a].state, r[a].by, r[b].state, r[b].comment, r[b].frame) == (
        "approved", "rita", "needs_work", "the skin is missing", 15)
    assert review_summary(s)["overall"] == "needs work"
    s.put_mask(bell, 40, disk(20, 20), source="manual")  # outside the segment: no change
    s.put_mask(drum, 4, disk(20, 20), source="manual")
    assert segment_reviews(s)[a].state == "approved"
    s.put_mask(bell, 12, disk(22, 20), source="manual")  # an edit after approval
    assert segment_reviews(s)[a].state == "changed"
    assert review_summary(s)["overall"] == "needs work"
    s.undo()  # taken back: the segment holds what was approved
    assert segment_reviews(s)[a].state == "approved"
    s.put_mask(drum, 15, disk(30, 20), source="manual")  # the fix
    assert segment_reviews(s)[b].state == "fixed"
    summary = review_summary(s)
    assert summary["overall"] == "changed" and summary["counts"]["fixed"] == 1
    s.add_review(b, "approved", author="rita")
    assert review_summary(s)["overall"] == "approved"
    s.update_segment(a, end=31)  # its frames changed: not what was approved
    assert segment_reviews(s)[a].state == "changed"
    s.undo()
    assert segment_reviews(s)[a].state == "approved"
    s.update_segment(a, status="done")  # a status is no change of what it holds
    assert segment_reviews(s)[a].state == "approved"
    assert [e.state for e in s.review_events(b)] == ["needs_work", "approved"]
    s.undo()  # undo never takes a verdict back
    assert len(s.review_events()) == 3
    rows = {r["segment_id"]: r for r in review_summary(s)["segments"]}
    assert rows[b]["by"] == "rita" and rows[b]["object"] == "drum"
    s.close()


def test_a_video_with_some_segments_approved_is_partly_approved(tmp_path):
    """k of n segments approved and none sent back or changed: "partly approved (k of n)";
    a request for work still comes first, and all n approved is "approved"."""
    s = make_store(tmp_path / "p.avs", person="anna")
    bell = s.add_object("bell")
    a, b, c = (s.add_segment(bell, lo, lo + 5) for lo in (0, 10, 20))
    assert review_summary(s)["overall"] == "none"
    s.add_review(a, "approved", author="rita")
    assert review_summary(s)["overall"] == "partly approved (1 of 3)"
    s.add_review(b, "approved", author="rita")
    summary = review_summary(s)
    assert summary["overall"] == "partly approved (2 of 3)"
    assert (summary["counts"]["approved"], summary["counts"]["none"]) == (2, 1)
    s.add_review(c, "needs_work", comment="late onset", frame=21, author="rita")
    assert review_summary(s)["overall"] == "needs work"
    s.add_review(c, "approved", author="rita")
    assert review_summary(s)["overall"] == "approved"
    s.close()


def test_a_review_is_refused_with_the_reason(tmp_path):
    s = make_store(tmp_path / "p.avs")
    bell = s.add_object("bell")
    a = s.add_segment(bell, 5, 30)
    with pytest.raises(StoreError, match="needs a comment"):
        s.add_review(a, "needs_work", comment="  ")
    with pytest.raises(StoreError, match="frame 31 is not in segment"):
        s.add_review(a, "needs_work", comment="x", frame=31)
    with pytest.raises(StoreError, match="one of approved, needs_work"):
        s.add_review(a, "great")
    s.delete_segment(a)
    with pytest.raises(StoreError, match="no audible segment"):
        s.add_review(a, "approved")
    assert s.review_events() == []
    s.close()


def test_active_time_adds_up_by_segment_person_and_day(tmp_path):
    s = make_store(tmp_path / "p.avs", person="anna")
    bell = s.add_object("bell")
    a = s.add_segment(bell, 5, 30)
    s.add_active_time([(a, "2024-05-01", 12.5), (None, "2024-05-01", 3.0)])
    s.add_active_time([(a, "2024-05-01", 7.5), (a, "2024-05-02", 1.0), (a, "2024-05-02", 0)])
    s.add_active_time([(a, "2024-05-02", 4.0)], person="rita")
    t = active_seconds(s)
    assert t.total == 28.0 and t.by_segment == {a: 25.0, None: 3.0}
    assert t.by_person == {"anna": 24.0, "rita": 4.0}
    assert t.by_day == {"2024-05-01": 23.0, "2024-05-02": 5.0}
    assert len(t.rows) == 4  # one row per (segment, person, day)
    s.close()
    out = tmp_path / "saved.avs"
    report = salvage(tmp_path / "p.avs", out)
    assert report.saved["active_time"] == 4
    with Store(out) as t2:
        assert active_seconds(t2).total == 28.0


CHILD = textwrap.dedent("""
    import sys
    from annotator.core.store import Store
    s = Store(sys.argv[1], person="kim")
    seg = s.segments()[0].id
    i = int(sys.argv[2])
    while True:
        if i % 2:
            s.add_review(seg, "needs_work", comment=f"c{i}", frame=5 + i % 20)
        else:
            s.add_active_time([(seg, "2024-05-01", 1.0)])
        print(i, flush=True)   # reported only after the commit returned
        i += 1
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_review_and_time_writes_loses_nothing_committed(tmp_path):
    db = tmp_path / "p.avs"
    s = make_store(db)
    s.add_segment(s.add_object("bell"), 5, 30)
    s.close()
    rng = random.Random(11)
    done: list[int] = []  # writes whose commit returned (reported)
    maybe: list[int] = []  # the write in flight at each kill: committed or not
    next_i = 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for _round in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(next_i)],
                                 stdout=subprocess.PIPE, text=True, env=env)
        first = child.stdout.readline()
        assert first.strip(), "child wrote nothing"
        time.sleep(rng.uniform(0.05, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        reported = [int(x) for x in (first + child.stdout.read()).split()]
        child.wait()
        done += reported
        maybe.append(reported[-1] + 1)
        with Store(db) as s:
            assert s.integrity_check() == "ok"
            comments = {e.comment for e in s.review_events()}
            assert {f"c{i}" for i in done if i % 2} <= comments
            assert comments <= {f"c{i}" for i in done + maybe if i % 2}
            seconds = active_seconds(s).total
            wrote = sum(1 for i in done if not i % 2)
            assert wrote <= seconds <= wrote + sum(1 for i in maybe if not i % 2)
        next_i = maybe[-1] + 1
    assert check(db) == []


def test_segments_exported_as_one_carry_the_least_approved_state():
    from annotator.core.review import SegmentReview, joined_review

    reviews = {1: SegmentReview(1, 1, 0, 9, "approved", "rita"),
               2: SegmentReview(2, 2, 0, 9, "changed", "bo"), 3: SegmentReview(3, 3, 0, 9, "none")}
    assert joined_review(reviews, (1,)) == {"review": "approved", "reviewed_by": "rita"}
    assert joined_review(reviews, (1, 2)) == {"review": "changed", "reviewed_by": "bo, rita"}
    assert joined_review(reviews, (1, 3)) == {"review": "none", "reviewed_by": "rita"}
