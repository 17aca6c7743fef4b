"""People before machines: a person edits inside a running propagation job's range.

The real pipeline (weight-free fallback engine) runs on real DAVIS frames into a real SQLite
file. The only stand-in is a *slowed writer*: the real ``CommitWriter._commit``, wrapped so that
the commit of one frame waits until the test has made its edits (a gate instead of a sleep, so
the edits land mid-job on every machine). The edits go through the store from this thread, in
their own operations, as the window's serial thread makes them.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from annotator.core.project import Project
from annotator.pipeline.queue import propagate_project
from annotator.pipeline.writer import CommitWriter, FrameOut, MaskOut

from .conftest import gt_mask

GATE = 6  # the commit of this frame waits for the edits


@pytest.fixture
def slowed_writer(monkeypatch):
    """A slowed writer: the commit of frame ``GATE`` waits (at most 60 s) until ``go`` is set;
    ``reached`` says the commit thread is there. Everything else is the real writer."""
    reached, go = threading.Event(), threading.Event()
    real = CommitWriter._commit

    def slowed(self, item):
        if item.frame == GATE and not go.is_set():
            reached.set()
            go.wait(60)
        return real(self, item)

    monkeypatch.setattr(CommitWriter, "_commit", slowed)
    return reached, go


def _box(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _state(store, oid, f):
    m = store.mask(oid, f)
    return None if m is None else (m.source, m.anchor)


def _run_in_thread(project, **kw):
    out: dict = {}

    def work():
        try:
            out["results"] = propagate_project(project, engine="fallback", refine="off", **kw)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test
            out["error"] = exc

    t = threading.Thread(target=work)
    t.start()
    return t, out


def test_edits_during_a_job_survive_and_undo_takes_the_job_first(make_project, shared,
                                                                  slowed_writer, tmp_path):
    reached, go = slowed_writer
    folder = shared("data", "davis2016", "dog-agility")
    project = make_project(anchors=(0,), segments=[(0, 20)])
    store, oid = project.store, 1
    h, w = store.size_hw
    t, out = _run_in_thread(project)
    assert reached.wait(60), "the job never reached the slowed commit"
    # the job has written frames 1..5; frames 12 and 15 are ahead of it
    assert _state(store, oid, 4) == ("propagated", False) and store.mask(oid, 12) is None
    accept = store.new_op("accept", "Accept mask (anchor)")
    store.put_mask(oid, 12, gt_mask(folder, 12), source="sam", anchor=True, op=accept)
    stroke = store.new_op("brush", "Brush stroke")
    store.put_mask(oid, 15, _box(h, w, 40, 120, 60, 200), source="brush", anchor=False, op=stroke)
    over = store.new_op("brush", "Brush stroke")  # painted over a frame the job wrote
    store.put_mask(oid, 4, _box(h, w, 10, 50, 10, 90), source="brush", anchor=False, op=over)
    go.set()
    t.join(120)
    assert not t.is_alive() and "error" not in out, out.get("error")
    (res,) = out["results"]

    assert _state(store, oid, 12) == ("sam", True)
    assert _state(store, oid, 15) == ("brush", False)
    assert _state(store, oid, 4) == ("brush", False)
    assert res.state == "done" and res.kept_human == 2
    assert res.written == 20 - 2 and res.done == res.total == 20  # progress still advanced
    assert store.job(res.key)["state"] == "done"
    for f in (12, 15):  # not even an alternative opinion of the job's there
        assert [r.op_id for r in store.revisions(oid, f)] in ([accept], [stroke])
    assert all(_state(store, oid, f) == ("propagated", False)
               for f in range(1, 21) if f not in (4, 12, 15))

    # undo: the job first (it wrote last), leaving every edit; then the edits, newest first
    assert store.undo().id == res.op
    assert [m.frame for m in store.masks_of(oid)] == [0, 4, 12, 15]
    assert _state(store, oid, 12) == ("sam", True) and _state(store, oid, 4) == ("brush", False)
    project.close()
    project = Project.open(project.dir)  # the order of writes is in the file
    store = project.store
    try:
        assert store.undo().id == over
        assert [m.frame for m in store.masks_of(oid)] == [0, 12, 15]
        assert [store.undo().id for _ in range(2)] == [stroke, accept]
        assert [m.frame for m in store.masks_of(oid)] == [0]
        assert [store.redo().id for _ in range(4)] == [accept, stroke, over, res.op]
        assert _state(store, oid, 4) == ("brush", False)
        assert _state(store, oid, 12) == ("sam", True)
        assert len(store.masks_of(oid)) == 21
    finally:
        project.close()


def test_a_resumed_job_is_newer_than_the_edits_made_while_it_was_stopped(make_project,
                                                                         slowed_writer):
    """Cancelled at the slowed commit, a brush stroke ahead of it, then resumed (same plan,
    same operation): the stroke stays, and undo takes the resumed job first."""
    reached, go = slowed_writer
    project = make_project(anchors=(0,), segments=[(0, 20)])
    store, oid = project.store, 1
    h, w = store.size_hw
    cancel = threading.Event()
    t, out = _run_in_thread(project, cancel=cancel)
    assert reached.wait(60)
    cancel.set()
    go.set()
    t.join(120)
    (first,) = out["results"]
    assert first.state == "cancelled" and first.done < 20
    stroke = store.new_op("brush", "Brush stroke")
    store.put_mask(oid, 15, _box(h, w, 40, 120, 60, 200), source="brush", anchor=False, op=stroke)
    assert store.undoable().id == stroke
    (res,) = propagate_project(project, engine="fallback", refine="off")
    assert res.state == "done" and res.op == first.op  # resumed into the same operation
    assert _state(store, oid, 15) == ("brush", False) and res.kept_human == 1
    assert store.undo().id == res.op
    assert [m.frame for m in store.masks_of(oid)] == [0, 15]
    assert store.undo().id == stroke


def test_writer_keeps_a_persons_key_and_writes_no_alternative_there(make_project):
    """The real CommitWriter with a FrameOut carrying an alternative opinion (as refinement
    makes): on the key a person owns neither revision is written; on the others both are."""
    project = make_project(anchors=(0,), segments=[(0, 20)])
    store, oid = project.store, 1
    other = store.add_object("ball")
    h, w = store.size_hw
    store.put_mask(oid, 3, _box(h, w, 0, 30, 0, 30), source="brush", anchor=False)
    op = store.new_op("propagate", "Propagate")
    store.job_update("propagate:test", kind="propagate", state="running", total=4)
    writer = CommitWriter(store, "propagate:test", op, 0)
    mine, alt = _box(h, w, 50, 90, 50, 90), _box(h, w, 52, 92, 52, 92)
    for f in (2, 3):
        writer.put(FrameOut(f, [MaskOut(oid, mine, None, 0.9, None, source="refined", alt=alt),
                                MaskOut(other, alt, None, 0.9, None)],
                            {"sweep": 0, "step": f}))
    writer.close()
    assert writer.kept_human == 1 and writer.kept == [(oid, 3)]
    assert [r.source for r in store.revisions(oid, 3)] == ["brush"]
    assert [r.source for r in store.revisions(oid, 2)] == ["propagated", "refined"]
    assert _state(store, other, 3) == ("propagated", False)
    assert store.job("propagate:test")["done"] == 4
