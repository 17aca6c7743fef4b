"""Passes in opposite directions see each other's masks while commits are still queued.

The backward sweep removes from its masks the pixels the forward sweep gave other objects on
the same frame. Those forward masks may still sit in the commit queue when the backward sweep
reaches their frames (a slow disk), so the job must take them from its own record of what it
produced, not from the store.
"""

import time

from annotator.pipeline import writer as writer_module
from annotator.pipeline.queue import propagate_project

from .conftest import gt_mask


def test_opposite_directions_exclude_each_other_with_slow_commits(make_project, shared,
                                                                   monkeypatch):
    """The commit writer is deliberately slowed (100 ms before each real commit, a slow disk)
    so the forward sweep's last frames are still queued when the backward sweep starts.
    Two objects cover the same dog: ``a`` anchored on frame 0 (propagated forward),
    ``b`` anchored on frame 12 (propagated backward): on every frame no pixel may belong to
    both. The engine, the store file and the frames are the real ones."""
    seq = shared("data", "davis2016", "dog-agility")
    project = make_project(anchors=(0,), segments=[(0, 12)])
    store = project.store
    b = store.add_object("dog again")
    store.add_segment(b, 0, 12)
    store.put_mask(b, 12, gt_mask(seq, 12), source="manual")

    real_commit = writer_module.CommitWriter._commit
    commits = []

    def slow_commit(self, item):
        time.sleep(0.1)
        real_commit(self, item)
        commits.append(item.frame)

    monkeypatch.setattr(writer_module.CommitWriter, "_commit", slow_commit)
    (result,) = propagate_project(project, engine="fallback", refine="off")
    assert result.state == "done" and result.written == 12 + 12
    assert len(commits) >= 24  # every frame went through the slowed writer
    shared_pixels = {}
    for f in range(13):
        masks = store.frame_masks(f)
        assert set(masks) == {1, b}
        both = masks[1].decode() & masks[b].decode()
        if both.any():
            shared_pixels[f] = int(both.sum())
    assert shared_pixels == {}, f"objects share pixels on frames {shared_pixels}"
    # the backward object really was cut by the forward one (the subtraction did something)
    assert store.mask(b, 11).area > 0 and store.mask(1, 11).area > 0
