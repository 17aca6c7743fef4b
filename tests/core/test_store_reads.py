"""The main (GUI) thread reads through its own connection: while another thread holds the
write transaction (a job committing, a click's write), its reads return at once with the last
committed state instead of waiting for the lock."""

from __future__ import annotations

import threading
import time

import numpy as np

from annotator.core.records import VideoRecord
from annotator.core.store import Store


def _store(tmp_path) -> Store:
    s = Store(tmp_path / "p.avs", create=True)
    s.set_video(VideoRecord("/v.mp4", None, False, 1, "x", 10, 25.0, 8, 6, 0.4, False))
    s.add_object("dog")
    return s


def test_main_thread_reads_do_not_wait_for_a_writer(tmp_path):
    s = _store(tmp_path)
    oid = s.objects()[0].id
    s.put_mask(oid, 0, np.ones((6, 8), bool), source="manual")
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with s.transaction():
            s.put_mask(oid, 1, np.ones((6, 8), bool), source="propagated")
            inside.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert inside.wait(10)
    try:
        t0 = time.monotonic()
        # the writer holds the store's lock and an open write transaction for up to 10 s
        assert s.mask(oid, 0) is not None
        assert s.mask(oid, 1) is None  # not committed yet: not visible
        assert [o.name for o in s.objects()] == ["dog"]
        waited = time.monotonic() - t0
    finally:
        release.set()
        t.join()
    assert waited < 5, f"the main thread waited {waited:.1f} s for the writer"
    assert s.mask(oid, 1) is not None  # committed now: visible to the main thread at once
    s.close()


def test_the_main_thread_sees_its_own_uncommitted_writes(tmp_path):
    s = _store(tmp_path)
    oid = s.objects()[0].id
    with s.transaction():
        s.put_mask(oid, 2, np.ones((6, 8), bool), source="manual")
        assert s.mask(oid, 2) is not None  # read inside its own transaction
    s.close()
