"""Memory manager: alignment of late object groups (quirk 5 fixed), the crash fixes (quirks 3
and 4), update_config, pruning, bounds.

Most tests drive the real ``MemoryManager`` with synthetic keys whose values are copies of the
keys (plus 100 × object id) and a very large shrinkage: potentiation then keeps each
prototype's own value exactly, so "value column j belongs to key column cols[j]" can be checked
by equality.
"""

from __future__ import annotations

import torch
from xmem.affinity import similarity, topk_softmax
from xmem.config import XMemConfig
from xmem.memory_manager import MemoryManager

H, W, C = 2, 3, 8
HW = H * W


def config(**kw) -> XMemConfig:
    base = dict(
        mem_every=1, top_k=5, max_mid_term_frames=4, min_mid_term_frames=2, num_prototypes=4,
        max_long_term_elements=1000, key_dim=C, value_dim=C, hidden_dim=0,
    )
    base.update(kw)
    return XMemConfig(**base)


class Feeder:
    """Writes synthetic memory frames and remembers which frame each key came from."""

    def __init__(self, mm: MemoryManager, seed: int = 0) -> None:
        self.mm = mm
        self.gen = torch.Generator().manual_seed(seed)
        self.frame_of: dict[bytes, int] = {}
        self.t = 0

    def key(self) -> torch.Tensor:
        return torch.randn(1, C, H, W, generator=self.gen)

    def add(self, objects: list[int]) -> None:
        if self.mm.work.size:  # a read before each write, so usage is counted
            q = self.key()
            self.mm.match_memory(q, torch.rand(1, C, H, W, generator=self.gen) + 0.5)
        k = self.key()
        for col in k.flatten(2)[0].T:
            self.frame_of[col.numpy().tobytes()] = self.t
        value = torch.stack([k[0] + 100.0 * o for o in objects])
        shrink = torch.full((1, 1, H, W), 1e4)
        sel = torch.ones(1, C, H, W)
        labels = torch.zeros(len(objects), H, W)
        self.mm.add_memory(k, shrink, value, objects, sel, labels)
        self.t += 1

    def frames(self, store) -> list[int]:
        return [self.frame_of[c.numpy().tobytes()] for c in store.key[0].T]


def assert_aligned(mm: MemoryManager) -> None:
    for store in (mm.work, mm.long):
        for g in store.groups:
            keys = store.key[0][:, g.cols]  # C × s
            for row, obj in enumerate(g.objects):
                assert torch.equal(g.values[row], keys + 100.0 * obj), (store is mm.long, obj)


def test_late_group_values_read_against_their_own_keys() -> None:
    mm = MemoryManager(config())
    feed = Feeder(mm)
    for t in range(20):
        feed.add([1] if t < 3 else [1, 2])
        assert_aligned(mm)
        # group 2 holds exactly the elements written from frame 3 on, in both memories
        if t >= 3:
            for store in (mm.work, mm.long):
                frames = feed.frames(store)
                want = [i for i, f in enumerate(frames) if f >= 3]
                got = store.groups[1].cols.tolist() if len(store.groups) > 1 else []
                assert got == want
    assert len(mm.long.groups) == 2 and mm.long.groups[1].size > 0  # LT was exercised

    # the read: group 2's readout is the top-k mix of exactly its own elements' values
    q = feed.key()
    e = torch.rand(1, C, H, W) + 0.5
    readout, _ = mm.match_memory(q, e)
    keys = torch.cat([mm.long.key, mm.work.key], -1)
    shrink = torch.cat([mm.long.shrinkage, mm.work.shrinkage], -1)
    frames = feed.frames(mm.long) + feed.frames(mm.work)
    own = torch.tensor([f >= 3 for f in frames])
    sim = similarity(keys[:, :, own], shrink[:, :, own], q.flatten(2), e.flatten(2))
    aff = topk_softmax(sim, 5).affinity
    want = (keys[:, :, own] + 200.0) @ aff
    assert torch.allclose(readout[1].flatten(1), want[0], atol=1e-3)


def test_group_with_exactly_t_min_frames_is_consolidated_too() -> None:
    # group 2 starts 2 frames (= T_min) before a consolidation: its oldest frame is a candidate
    mm = MemoryManager(config())
    feed = Feeder(mm)
    for t in range(4):
        feed.add([1] if t < 2 else [1, 2])
    assert mm.long.size == 4
    assert mm.work.size == 2 * HW and mm.work.groups[1].size == HW
    assert_aligned(mm)


def test_prune_when_cap_is_multiple_of_prototypes() -> None:
    """Quirk 3: the reference crashes at the 3rd consolidation with LT_max=24, P=8."""
    mm = MemoryManager(config(max_long_term_elements=24, num_prototypes=8))
    feed = Feeder(mm)
    sizes = []
    for _ in range(40):
        feed.add([1, 2])
        sizes.append(mm.long.size)
        assert_aligned(mm)
    assert mm.consolidations >= 6
    assert max(sizes) == 24


def test_min_mid_term_frames_one() -> None:
    """Quirk 4: T_min = 1 crashes the reference at the first consolidation."""
    mm = MemoryManager(config(min_mid_term_frames=1))
    feed = Feeder(mm)
    for _ in range(4):
        feed.add([1])
    assert mm.work.size == HW  # only the first frame stays
    assert mm.long.size == 4
    assert feed.frames(mm.work) == [0] * HW
    assert_aligned(mm)


def test_pruning_without_usage_counting_drops_oldest() -> None:
    mm = MemoryManager(config(max_long_term_elements=12, num_prototypes=4, enable_long_term_count_usage=False))
    feed = Feeder(mm)
    for _ in range(30):
        feed.add([1])
        assert mm.long.size <= 12
    frames = feed.frames(mm.long)
    # 3 consolidations' worth remain; each consolidates 2 frames: the newest 6 frames before
    # the 2 still in working memory (frames 22..28 of 0..29)
    assert mm.long.size == 12
    assert min(frames) >= 22 and max(frames) <= 28


def test_pruning_removes_least_used() -> None:
    mm = MemoryManager(config(max_long_term_elements=12, num_prototypes=4))
    feed = Feeder(mm)
    for _ in range(8):
        feed.add([1])
    before = mm.long.usage().clone()
    assert mm.long.size == 12
    mm.long.remove_obsolete(8)
    thr = torch.sort(before).values[3]
    assert torch.equal(mm.long.usage(), before[before > thr])


def test_update_config_changes_bounds_at_next_write() -> None:
    mm = MemoryManager(config(max_mid_term_frames=6, min_mid_term_frames=3))
    feed = Feeder(mm)
    for _ in range(5):
        feed.add([1])
    assert mm.work.size == 5 * HW and mm.long.size == 0
    mm.update_config(config(max_mid_term_frames=3, min_mid_term_frames=2, num_prototypes=2))
    feed.add([1])  # 6 frames ≥ new T_max: consolidate all but the first and the last one
    assert mm.work.size == 2 * HW
    assert mm.long.size == 2
    assert_aligned(mm)
    assert mm.long.count_usage  # still counting LT usage after update_config
    before = mm.long.life.clone()
    feed.add([1])  # reads LT first: every LT element's life grows by one
    assert torch.allclose(mm.long.life[:2], before + 1)


def test_memory_stays_bounded_synthetic() -> None:
    mm = MemoryManager(config(max_mid_term_frames=5, min_mid_term_frames=2, max_long_term_elements=20))
    feed = Feeder(mm)
    held = []
    for _ in range(200):
        feed.add([1, 2])
        assert mm.work.size <= 5 * HW and mm.long.size <= 20
        held.append(mm.nbytes())
    assert max(held[100:]) <= max(held[50:100])


def test_sparse_readout_equals_dense() -> None:
    """Large memories are read with a sparse product on CPU; same result as the dense one."""
    from xmem.affinity import SPARSE_MIN_MEMORY

    g = torch.Generator().manual_seed(0)
    m, q = SPARSE_MIN_MEMORY + 100, 50
    sim = -60 * torch.rand(1, m, q, generator=g)
    values = torch.randn(2, 16, m, generator=g)
    top = topk_softmax(sim, 30)
    assert top.sparse
    sparse_out, sparse_usage = top.readout(values), top.usage()
    dense = top.affinity
    assert torch.allclose(sparse_out, values @ dense, atol=1e-5)
    assert torch.allclose(sparse_usage, dense.sum(2)[0], atol=1e-5)
    assert int((dense[0] > 0).sum(0).max()) == 30


def test_in_place_similarity_is_bit_identical_to_the_reference_order():
    g = torch.Generator().manual_seed(3)
    mk, qk = torch.randn(1, 64, 700, generator=g), torch.randn(1, 64, 300, generator=g)
    qe, ms = torch.rand(1, 64, 300, generator=g), torch.rand(1, 1, 700, generator=g) * 3 + 1
    for sel in (qe, None):
        for shrink in (ms, None):
            fast = similarity(mk, shrink, qk, sel)
            ref = similarity(mk, shrink, qk, sel, in_place=False)
            assert torch.equal(fast, ref)
