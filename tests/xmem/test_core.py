"""InferenceCore end to end with the real network (random weights of the real architecture) at
low resolution: later objects, padding, end frames, update_config, the memory vote, bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from xmem import InferenceCore, XMem, to_tensor

H, W = 60, 84  # padded to 64×96: exercises padding and cropping


@pytest.fixture(scope="module")
def net() -> XMem:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    return XMem().eval()


def scene(t: int, h: int = H, w: int = W) -> tuple[np.ndarray, np.ndarray]:
    """Textured frame with two moving rectangles; returns (rgb uint8, labels)."""
    rng = np.random.default_rng(1000 + t)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    lab = np.zeros((h, w), np.uint8)
    lab[8:40, 4 + t : 36 + t] = 1
    lab[30:58, 50 - t // 2 : 78 - t // 2] = 2
    img[lab == 1] = (img[lab == 1] // 4 + np.array([180, 20, 20])).astype(np.uint8)
    img[lab == 2] = (img[lab == 2] // 4 + np.array([20, 20, 180])).astype(np.uint8)
    return img, lab


def onehot(lab: np.ndarray, ids: list[int]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(lab == i).float() for i in ids])


def record_keys(core: InferenceCore) -> dict[bytes, int]:
    """Wrap the manager's add_memory to remember the frame each key column was written at."""
    seen: dict[bytes, int] = {}
    orig = core.memory.add_memory

    def add_memory(key, *a, **k):
        for col in key.flatten(2)[0].T:
            seen[col.numpy().tobytes()] = core.curr_ti
        return orig(key, *a, **k)

    core.memory.add_memory = add_memory  # type: ignore[method-assign]
    return seen


def test_object_added_later_is_aligned(net: XMem) -> None:
    cfg = {"mem_every": 1, "max_mid_term_frames": 3, "min_mid_term_frames": 2, "num_prototypes": 8}
    core = InferenceCore(net, cfg)
    seen = record_keys(core)
    core.set_all_labels([1])
    for t in range(14):
        img, lab = scene(t)
        if t == 0:
            prob = core.step(img, onehot(lab, [1]))
        elif t == 3:
            core.set_all_labels([1, 2])
            m = onehot(lab, [1, 2])
            m[0] = 0  # this annotation defines object 2 only
            prob = core.step(img, m, valid_labels=[2])
            assert prob.shape == (3, H, W)
            # object 1 keeps its prediction, except where the new object is
            assert float(prob[1][lab == 2].max()) < 1e-3
            assert float(prob[1][lab == 1].mean()) > 0.05
        else:
            prob = core.step(img)
        assert prob.shape == (2 if t < 3 else 3, H, W)
        assert torch.allclose(prob.sum(0), torch.ones(H, W), atol=1e-5)
        mm = core.memory
        for store in (mm.work, mm.long):
            frames = [seen[c.numpy().tobytes()] for c in store.key[0].T] if store.size else []
            if len(store.groups) > 1:
                want = [i for i, f in enumerate(frames) if f >= 3]
                assert store.groups[1].cols.tolist() == want, (t, store is mm.long)
    assert mm.hidden is not None and mm.hidden.shape[0] == 2
    assert mm.long.groups[1].size > 0


def test_end_frame_writes_nothing_and_clear_memory(net: XMem) -> None:
    core = InferenceCore(net, {"mem_every": 1})
    core.set_all_labels([1, 2])
    img, lab = scene(0)
    core.step(img, onehot(lab, [1, 2]))
    size = core.memory.work.size
    hidden = core.memory.hidden.clone()
    core.step(scene(1)[0], end=True)
    assert core.memory.work.size == size
    assert torch.equal(core.memory.hidden, hidden)
    core.clear_memory()
    with pytest.raises(ValueError, match="first frame"):
        core.step(img)
    with pytest.raises(ValueError, match="mask must be"):
        core.step(img, onehot(lab, [1]))


def test_update_config_mem_every(net: XMem) -> None:
    core = InferenceCore(net, {"mem_every": 5})
    core.set_all_labels([1])
    img, lab = scene(0)
    core.step(img, onehot(lab, [1]))
    hw = core.memory.hw
    core.step(scene(1)[0])
    assert core.memory.work.size == hw
    core.update_config({"mem_every": 1})
    core.step(scene(2)[0])
    assert core.memory.work.size == 2 * hw
    with pytest.raises(ValueError, match="unknown XMem config keys: nope"):
        core.update_config({"nope": 1})


def test_vote_leaves_output_unchanged(net: XMem) -> None:
    outs = []
    for want in (False, True):
        core = InferenceCore(net, {"mem_every": 2})
        core.set_all_labels([1, 2])
        probs = []
        for t in range(5):
            img, lab = scene(t)
            probs.append(core.step(img, onehot(lab, [1, 2]) if t == 0 else None, want_vote=want))
            if want and t > 0:
                v = core.last_vote
                assert v is not None and v.objects == [1, 2]
                assert v.vote.shape == (2, 4, 6)
                assert float(v.vote.min()) >= 0 and float(v.vote.sum(0).max()) <= 1 + 1e-5
                assert v.maps().shape == (2, H, W)
        outs.append(probs)
    for a, b in zip(*outs):
        assert torch.equal(a, b)


def test_vote_points_on_a_repeated_frame(net: XMem) -> None:
    """Frame 1 = frame 0: every query's best memory element is its own cell, so the positive
    points are exactly the cells memorised as the object (label ≥ 0.9)."""
    core = InferenceCore(net, {})
    core.set_all_labels([1, 2])
    img, lab = scene(0)
    mask = onehot(lab, [1, 2])
    core.step(img, mask)
    core.step(img, want_vote=True)
    vote = core.last_vote
    assert vote is not None
    padded = torch.nn.functional.pad(mask, vote.pad)
    cells = torch.nn.functional.avg_pool2d(padded[None], 16)[0]
    for row, obj in enumerate([1, 2]):
        xy, aff = vote.points(obj, confidence=0.9)
        want = int((cells[row] >= 0.9).sum())
        assert len(xy) == want > 0
        assert torch.all(aff[:-1] >= aff[1:])  # strongest first
        for x, y in xy.round().long().tolist():
            assert lab[y, x] == obj
        neg, _ = vote.points(obj, positive=False, max_points=3)
        assert len(neg) == 3
        for x, y in neg.round().long().tolist():
            assert lab[y, x] != obj
    assert torch.allclose(vote.best_label, cells.clamp(max=1), atol=1e-4)
    with pytest.raises(KeyError):
        vote.points(7)


@pytest.mark.slow
def test_memory_bounded_full_network(net: XMem) -> None:
    """The 1,000-frame version runs in bench/xmem_bench.py --long 1000."""
    cfg = {"mem_every": 1, "max_mid_term_frames": 6, "min_mid_term_frames": 3,
           "num_prototypes": 16, "max_long_term_elements": 64}
    core = InferenceCore(net, cfg)
    core.set_all_labels([1, 2])
    frames = [to_tensor(scene(t, 64, 64)[0]) for t in range(20)]
    held = []
    for t in range(150):
        x = frames[t % 20]
        core.step(x, onehot(scene(0, 64, 64)[1], [1, 2]) if t == 0 else None)
        mm = core.memory
        assert mm.work.size <= 6 * 16 and mm.long.size <= 64
        held.append(mm.nbytes())
    assert mm.consolidations >= 40
    assert max(held[75:]) <= max(held[30:75])
