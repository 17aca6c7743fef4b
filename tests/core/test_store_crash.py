"""Kill a writer with SIGKILL at random moments: the project must always open, pass
``PRAGMA integrity_check`` and hold every mask whose write returned before the kill."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from annotator.core.lock import ProjectLock, ProjectLockedError
from annotator.core.records import VideoRecord
from annotator.core.store import Store

H, W, FRAMES = 36, 48, 40

CHILD = textwrap.dedent("""
    import sys, numpy as np
    from annotator.core.store import Store
    def pattern(i):
        return np.random.default_rng(i).random((%(H)d, %(W)d)) < 0.3
    s = Store(sys.argv[1])
    oid = s.objects()[0].id
    i = int(sys.argv[2])
    while True:
        s.put_mask(oid, i %% %(F)d, pattern(i), source="propagated", quality={"i": i})
        print(i, flush=True)   # reported only after the commit returned
        i += 1
""") % {"H": H, "W": W, "F": FRAMES}


def pattern(i):
    return np.random.default_rng(i).random((H, W)) < 0.3


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_writes_loses_nothing_committed(tmp_path):
    db = tmp_path / "p.avs"
    s = Store(db, create=True)
    s.set_video(VideoRecord("/v.mp4", None, False, 1, "x", FRAMES, 25.0, W, H, 1.6, False))
    s.add_object("dog")
    s.close()
    rng = random.Random(1234)
    next_i = 0
    for _round in range(5):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(next_i)],
                                 stdout=subprocess.PIPE, text=True)
        # wait until it writes, then kill at a random moment
        first = child.stdout.readline()
        assert first.strip(), "child wrote nothing"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        out = first + child.stdout.read()
        child.wait()
        reported = [int(x) for x in out.split()]
        last = reported[-1]
        s = Store(db)
        assert s.integrity_check() == "ok"
        oid = s.objects()[0].id
        for f in range(FRAMES):
            rec = s.mask(oid, f)
            done = [i for i in range(last + 1) if i % FRAMES == f]
            in_flight = last + 1 if (last + 1) % FRAMES == f else None
            if not done and in_flight is None:
                assert rec is None
                continue
            got = rec.quality["i"]
            assert got in ({done[-1]} if done else set()) | {in_flight}, (f, got, last)
            assert np.array_equal(rec.decode(), pattern(got))
        s.close()
        next_i = last + 2  # skip the possibly-committed in-flight index


def test_second_writer_is_told_who_holds_the_project(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from annotator.core.lock import ProjectLock
            lock = ProjectLock({str(tmp_path)!r})
            lock.acquire()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectLockedError, match=f"open in process {holder.pid}"):
            ProjectLock(tmp_path).acquire()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # a crashed holder leaves nothing stuck
    lock = ProjectLock(tmp_path)
    lock.acquire()
    assert lock.held
    lock.release()
