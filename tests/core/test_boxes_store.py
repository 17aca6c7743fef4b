"""Boxes in the real store file: revisions, undo and redo in the order of writes (also across a
reopen and interleaved with masks), a job's boxes never replacing a person's keyframe, the
migration of a version-3 project, ``check`` and ``salvage``, and SIGKILL during box writes."""

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

from annotator.core.records import StoreError, VideoRecord
from annotator.core.salvage import check, salvage
from annotator.core.schema import SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_VERSION
from annotator.core.store import Store

H, W, N = 48, 64, 60


def make_store(path):
    s = Store(path, create=True)
    s.set_video(VideoRecord("/v.mp4", None, False, 1, "x", N, 25.0, W, H, 2.4, False))
    return s


def test_boxes_are_revisions_with_undo_in_the_order_of_writes(tmp_path):
    path = tmp_path / "p.avs"
    s = make_store(path)
    car = s.add_object("car")
    r1 = s.put_box(car, 5, (1, 2, 30.5, 40))
    assert s.box(car, 5).box == (1.0, 2.0, 30.5, 40.0) and s.box(car, 5).keyframe
    s.put_mask(car, 6, np.ones((H, W), bool), source="manual")  # a mask between box writes
    r2 = s.put_box(car, 5, (3, 4, 33, 44))
    s.put_box(car, 20, (10, 10, 20, 20), outside=True)
    assert [b.frame for b in s.boxes_of(car)] == [5, 20] and s.box(car, 20).outside
    assert [b.rev_id for b in s.box_revisions(car, 5)] == [r1, r2]
    assert s.box_revisions(car, 5)[1].prev_id == r1
    assert s.delete_box(car, 5) and s.box(car, 5) is None and not s.delete_box(car, 5)
    s.close()

    s = Store(path)  # across a reopen: undo walks back the writes, masks included
    s.undo()
    assert s.box(car, 5).box == (3.0, 4.0, 33.0, 44.0)
    s.undo()
    assert s.box(car, 20) is None
    s.undo()
    assert s.box(car, 5).rev_id == r1
    s.undo()
    assert s.mask(car, 6) is None and s.box(car, 5).rev_id == r1  # the mask was in between
    s.undo()
    assert s.box(car, 5) is None and s.box_count() == 0
    s.redo()
    s.redo()
    assert s.box(car, 5).rev_id == r1 and s.mask(car, 6) is not None
    assert (car, 5) in s.op_frames(s.box_revisions(car, 5)[0].op_id)
    with pytest.raises(StoreError, match="not an ordered box inside the 64×48 frame"):
        s.put_box(car, 7, (10, 10, 5, 20))
    with pytest.raises(StoreError, match="not an ordered box"):
        s.put_box(car, 7, (0, 0, W + 1, 10))
    with pytest.raises(StoreError, match="outside the video's frames"):
        s.put_box(car, N, (0, 0, 1, 1))
    with pytest.raises(StoreError, match="unknown box source"):
        s.put_box(car, 7, (0, 0, 1, 1), source="guessed")
    s.close()


def test_a_jobs_boxes_never_replace_a_persons_keyframe(tmp_path):
    s = make_store(tmp_path / "p.avs")
    car = s.add_object("car")
    s.put_box(car, 0, (0, 0, 10, 10))  # drawn
    s.put_box(car, 3, (0, 0, 12, 12), source="imported")
    s.put_box(car, 4, (0, 0, 9, 9), source="tracked")  # an earlier job's
    s.put_box(car, 5, (0, 0, 9, 9))
    op = s.new_op("track_boxes", "Track boxes")
    since = s.last_box_rev_id()
    s.delete_box(car, 5)  # a person empties frame 5 while the job runs
    out = s.put_machine_boxes([dict(object_id=car, frame=f, box=(1, 1, 8, 8), source="tracked")
                               for f in range(6)], op=op, since_rev=since)
    assert [r is None for r in out] == [True, False, False, True, False, True]
    assert s.box(car, 0).box == (0, 0, 10, 10) and s.box(car, 3).source == "imported"
    assert s.box(car, 4).box == (1, 1, 8, 8) and s.box(car, 5) is None
    assert s.undoable().id == op  # the job wrote last
    s.undo()
    assert s.box(car, 4).box == (0, 0, 9, 9) and s.box(car, 1) is None


def test_version_3_project_gains_the_box_tables(tmp_path):
    path = tmp_path / "old.avs"
    db = sqlite3.connect(path, isolation_level=None)
    for sql in (SCHEMA_V1, SCHEMA_V2, SCHEMA_V3):
        for stmt in sql.split(";"):
            if stmt.strip():
                db.execute(stmt)
    db.execute("PRAGMA user_version=3")
    db.execute("INSERT INTO video(id, path, frame_count, fps, width, height) "
               "VALUES (1, '/v.mp4', ?, 25.0, ?, ?)", (N, W, H))
    db.close()
    s = Store(path)
    assert s.schema_version == SCHEMA_VERSION >= 4 and s.boxes_of(1) == []
    car = s.add_object("car")
    s.put_box(car, 1, (0, 0, 5, 5))
    assert s.box(car, 1) is not None
    s.close()


def test_check_finds_broken_boxes_and_salvage_keeps_them(tmp_path):
    path = tmp_path / "p.avs"
    s = make_store(path)
    car, dog = s.add_object("car"), s.add_object("dog")
    s.put_box(car, 2, (1, 2, 3, 4))
    s.put_box(car, 9, (5, 6, 7, 8), outside=True)
    s.put_box(dog, 2, (0, 0, 64, 48), source="tracked")
    s.put_box(car, 2, (2, 2, 3, 4))
    s.undo()  # car's frame 2 is back at its first box
    s.close()
    assert check(path) == []
    out = tmp_path / "saved.avs"
    report = salvage(path, out)
    assert report.saved["box_revs"] == 4 and report.saved["boxes"] == 3
    with Store(out) as t:
        assert t.box(car, 2).box == (1, 2, 3, 4) and t.box(car, 9).outside
        assert t.box(dog, 2).source == "tracked"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE box_revs SET source='guessed' WHERE frame=9")
    db.execute("UPDATE box_revs SET x1=100 WHERE object_id=? AND frame=2", (dog,))
    db.close()
    problems = check(path)
    assert any("unknown source 'guessed'" in p for p in problems)
    assert any(f"box of object {dog} on frame 2" in p and "inside the 64×48" in p
               for p in problems)


CHILD = textwrap.dedent("""
    import sys
    from annotator.core.store import Store
    s = Store(sys.argv[1])
    oid = s.objects()[0].id
    i = int(sys.argv[2])
    while True:
        s.put_box(oid, i %% %(F)d, (i %% 7, 1, 10 + i %% 11, 20))
        print(i, flush=True)   # reported only after the commit returned
        i += 1
""") % {"F": N}


def box(i):
    return (float(i % 7), 1.0, float(10 + i % 11), 20.0)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_box_writes_loses_nothing_committed(tmp_path):
    db = tmp_path / "p.avs"
    s = make_store(db)
    oid = s.add_object("car")
    s.close()
    rng = random.Random(7)
    next_i = 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for _round in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(next_i)],
                                 stdout=subprocess.PIPE, text=True, env=env)
        first = child.stdout.readline()
        assert first.strip(), "child wrote nothing"
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        reported = [int(x) for x in (first + child.stdout.read()).split()]
        child.wait()
        flight = reported[-1] + 1  # its commit may have returned before the kill
        with Store(db) as s:
            assert s.integrity_check() == "ok"
            for i in reported[-N:]:  # the newest reported write of each frame is current
                if i == max(j for j in reported if j % N == i % N):
                    assert s.box(oid, i % N).box in {box(i)} | (
                        {box(flight)} if flight % N == i % N else set())
        next_i = flight + 1
    assert check(db) == []
