"""Resuming a propagation from engine checkpoints: real engines, frames and store files.

The weight-free fallback and XMem (the real architecture with random weights) save their state
as plain arrays + JSON; a resumed job starts from the newest usable checkpoint, reports
progress while it replays, and ends with the masks of an uninterrupted run. A checkpoint that
is not ours — a planted pickle, a damaged file — is ignored with a message, never executed.
"""

import json
import pickle
import threading

import numpy as np
import pytest

from annotator.engines.fallback_propagator import FallbackPropagator
from annotator.pipeline import checkpoint as ck
from annotator.pipeline.job import PropagationJob
from annotator.pipeline.plan import plan_passes

from .conftest import all_masks, gt_mask

SEGMENT = [(0, 24)]


def run_job(project, engine=None, **kw):
    (plan,) = plan_passes(project.store)
    return PropagationJob(project, plan, engine or FallbackPropagator(), **kw).run()


def cut(project, after: int, **kw):
    """Run until ``after`` masks are committed, then cancel (the frame in flight is kept)."""
    cancel = threading.Event()
    r = run_job(project, cancel=cancel, checkpoint_every=4, **kw,
                on_progress=lambda p: cancel.set() if p.done >= after else None)
    assert r.state == "cancelled" and after <= r.done < 24
    return r


def ckpt_files(project):
    return sorted((project.cache_dir / "jobs").glob("*.ckpt"))


@pytest.fixture
def expected(make_project):
    whole = make_project(anchors=(0,), segments=SEGMENT, name="whole")
    assert run_job(whole, checkpoint_every=4).state == "done"
    return all_masks(whole.store)


def test_fallback_resume_starts_from_a_checkpoint_and_reports_the_replay(make_project, expected):
    project = make_project(anchors=(0,), segments=SEGMENT, name="cut")
    first = cut(project, 15)
    assert ckpt_files(project)  # the fallback engine was checkpointed
    seen = []
    second = run_job(project, checkpoint_every=4, on_progress=seen.append)  # a fresh engine
    assert second.state == "done" and second.written == 24 - first.done
    assert 0 < second.replayed <= 4 + 4  # from a checkpoint, not from the anchor (frame 0)
    assert second.replayed < first.done + 1  # (from the anchor: every committed step)
    replay = [p for p in seen if p.replaying]
    assert len(replay) == second.replayed  # the replay is not silent
    assert all(not p.replaying for p in seen[len(replay):])  # then the new masks land
    assert all(p.done == first.done and p.objects == () for p in replay)
    assert all_masks(project.store) == expected
    assert not ckpt_files(project)  # a finished job deletes its checkpoints


def test_checkpoints_by_engine_time_are_pruned_but_one_stays_usable(make_project, expected):
    """``checkpoint_s=0``: a checkpoint wherever the cost rule allows (up to every step). Old
    ones are deleted, but never the newest at or before the last committed step, whatever the
    commit thread lags; the resume starts from it."""
    project = make_project(anchors=(0,), segments=SEGMENT, name="t")
    cancel = threading.Event()
    r = run_job(project, cancel=cancel, checkpoint_s=0.0,
                on_progress=lambda p: cancel.set() if p.done >= 12 else None)
    steps = [int(p.name.split(".")[-2]) for p in ckpt_files(project)]
    committed = r.done + 1  # steps the store holds: the anchor's (step 0) and one per mask
    usable = [s for s in steps if s <= committed]  # step k: the state before frame k
    assert usable and len(steps) <= 7  # pruned to the commit queue's lag (4) and a few more
    second = run_job(project)
    assert second.state == "done" and second.replayed == committed - max(usable)
    assert all_masks(project.store) == expected


class Payload:
    """Unpickling this creates ``path`` (what a malicious cache file would do)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_planted_pickle_is_not_executed_and_the_job_completes(make_project, expected, tmp_path):
    bait = tmp_path / "proof-that-the-payload-works"
    pickle.loads(pickle.dumps(Payload(bait))).close()
    assert bait.exists()  # unpickling the payload really runs code

    project = make_project(anchors=(0,), segments=SEGMENT, name="cut")
    first = cut(project, 15)
    marker = tmp_path / "payload-ran"
    planted = ckpt_files(project)
    assert planted
    name = planted[0].name.rsplit(".", 2)[0]
    planted.append(planted[0].with_name(f"{name}.{first.done}.ckpt"))  # the newest candidate
    for path in planted:
        path.write_bytes(pickle.dumps({"engine": Payload(marker), "bookkeeping": {}}))
    second = run_job(project, checkpoint_every=4)
    assert not marker.exists()
    assert second.state == "done" and second.replayed == first.done + 1  # from the anchor
    assert "ignored checkpoint" in second.message and planted[-1].name in second.message
    assert "not a NumPy archive" in second.message
    assert all_masks(project.store) == expected


def test_a_damaged_checkpoint_falls_back_to_an_older_one(make_project, expected):
    project = make_project(anchors=(0,), segments=SEGMENT, name="cut")
    first = cut(project, 15)
    files = ckpt_files(project)
    newest = max(files, key=lambda p: int(p.name.split(".")[-2]))
    older = [int(p.name.split(".")[-2]) for p in files if p != newest]
    newest.write_bytes(newest.read_bytes()[:200])  # cut short (a full disk)
    second = run_job(project, checkpoint_every=4)
    assert second.state == "done" and newest.name in second.message
    committed = first.done + 1  # the anchor's step and one per mask
    assert second.replayed == committed - max([0, *older])
    assert all_masks(project.store) == expected


def test_the_format_is_plain_data_and_refuses_objects(tmp_path):
    import torch

    state = {"t": torch.arange(6, dtype=torch.float16).reshape(2, 3), "ids": {3, 1},
             "shape": (480, 854), 7: [np.ones((2, 2), bool), None, 1.5, "x"],
             "nested": {"$weird": 1, "ok": (np.int64(4),)}}
    path = tmp_path / "s.ckpt"
    ck.write(path, {"fingerprint": "f"}, state)
    header, back = ck.read(path)
    assert header["version"] == ck.VERSION and header["format"] == ck.FORMAT
    assert torch.equal(back["t"], state["t"]) and back["t"].dtype == torch.float16
    assert back["ids"] == {1, 3} and back["shape"] == (480, 854)
    assert np.array_equal(back[7][0], state[7][0]) and back[7][1:] == [None, 1.5, "x"]
    assert back["nested"] == {"$weird": 1, "ok": (4,)}
    with pytest.raises(TypeError, match="plain data"):
        ck.write(tmp_path / "o.ckpt", {}, {"engine": FallbackPropagator()})
    with pytest.raises(TypeError, match="object arrays"):
        ck.write(tmp_path / "o.ckpt", {}, np.array([object()]))
    for body, why in (({"format": ck.FORMAT, "version": 99, "state": 1}, "version 99"),
                      ({"format": "something else", "version": 1, "state": 1}, "not an AVS")):
        raw = np.frombuffer(json.dumps(body).encode(), np.uint8)
        with open(path, "wb") as fh:
            np.savez(fh, header=raw)
        with pytest.raises(ck.CheckpointError, match=why):
            ck.read(path)


def test_xmem_state_round_trips_through_a_checkpoint_file(tmp_path, shared):
    """XMem with random weights of the real architecture, small frames (size 64)."""
    torch = pytest.importorskip("torch")
    xmem = pytest.importorskip("xmem")
    from PIL import Image

    from annotator.engines.xmem_propagator import XMemPropagator

    seq = shared("data", "davis2016", "dog-agility")
    frames = [np.array(Image.open(seq / "JPEGImages" / f"{i:05d}.jpg")) for i in range(12)]
    torch.manual_seed(0)
    net = xmem.XMem().eval()
    config = {"mem_every": 2, "max_mid_term_frames": 4, "min_mid_term_frames": 2}
    a = XMemPropagator(net, size=64, config=config)
    a.step(frames[0], given={1: gt_mask(seq, 0)})
    for f in frames[1:7]:
        a.step(f)
    assert a.core.memory.consolidations > 0  # long-term memory is part of the state
    ck.write(tmp_path / "x.ckpt", {}, a.get_state())
    _, state = ck.read(tmp_path / "x.ckpt")
    b = XMemPropagator(net, size=64, config=config)
    b.set_state(state)
    for f in frames[7:]:
        ra, rb = a.step(f), b.step(f)
        assert np.array_equal(ra.masks[1], rb.masks[1])
        assert np.array_equal(ra.probs[1], rb.probs[1])
    other = XMemPropagator(net, size=64, config={"mem_every": 3})
    with pytest.raises(ValueError, match="other settings.*mem_every"):
        other.set_state(state)
    with pytest.raises(ValueError, match="not a state of the XMem"):
        other.set_state(FallbackPropagator().get_state())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_xmem_resumed_in_a_new_process_gives_the_same_masks(tmp_path, shared, precision):
    """A resume runs in a new process: a network whose derived weights (folded BatchNorm,
    split convolutions) are built at its first step, in that step's input layout. Here a second
    network with the same weights stands in for the new process. The checkpoint keeps the
    hidden state's layout, so the resumed masks are the uninterrupted run's, bit for bit (in
    bf16 a contiguous hidden state took other kernels: ~100 pixels a frame differed)."""
    torch = pytest.importorskip("torch")
    xmem = pytest.importorskip("xmem")
    from PIL import Image

    from annotator.engines.xmem_propagator import XMemPropagator

    seq = shared("data", "davis2016", "stroller")
    frames = [np.array(Image.open(seq / "JPEGImages" / f"{i:05d}.jpg")) for i in range(9)]
    torch.manual_seed(0)
    net = xmem.XMem().eval()
    fresh = xmem.XMem().eval()
    fresh.load_state_dict(net.state_dict())
    config = {"mem_every": 2}
    a = XMemPropagator(net, size=160, config=config, precision=precision)
    a.step(frames[0], given={1: gt_mask(seq, 0)})
    for f in frames[1:5]:
        a.step(f)
    ck.write(tmp_path / "x.ckpt", {}, a.get_state())
    _, state = ck.read(tmp_path / "x.ckpt")
    b = XMemPropagator(fresh, size=160, config=config, precision=precision)
    b.set_state(state)
    for f in frames[5:]:
        ra, rb = a.step(f), b.step(f)
        assert np.array_equal(ra.probs[1], rb.probs[1])


def test_a_checkpoint_of_this_job_that_the_engine_refuses_is_ignored(make_project, expected):
    """A well-formed checkpoint of this very job (same fingerprint) whose engine state is not
    the fallback's: the engine refuses it, the job says so and replays from the anchor."""
    project = make_project(anchors=(0,), segments=SEGMENT, name="cut")
    first = cut(project, 15)
    (plan,) = plan_passes(project.store)
    job = PropagationJob(project, plan, FallbackPropagator(), checkpoint_every=4)
    for path in ckpt_files(project):
        path.unlink()
    store = ck.CheckpointStore(project.cache_dir / "jobs", job.key, job.fingerprint())
    store.save(0, first.done, {"engine": "xmem", "version": 1}, {"prev": {}})
    second = job.run()
    assert second.state == "done" and second.replayed == first.done + 1
    assert "does not fit this engine" in second.message and f".{first.done}.ckpt" in second.message
    assert all_masks(project.store) == expected
