"""End to end with the real model code: random-weight XMem (our ``xmem``, loaded from a
checkpoint file) propagating, the prototype refiner turning its memory vote into point prompts.

The refiner's segmenter here is the weight-free one: the SAM engine has not landed yet (see the
pipeline report); the refiner code path is the same.
"""

import numpy as np
import pytest
import torch

from annotator.engines.fallback_segmenter import FallbackSegmenter
from annotator.engines.refiner import PrototypeRefiner, farthest_points
from annotator.pipeline.queue import propagate_project

xmem = pytest.importorskip("xmem")


@pytest.fixture
def one_thread():
    """Two torch threads on a busy 2-core machine run 4× slower than one: use one here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def xmem_checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "xmem-random.pth"
    torch.save(xmem.XMem().state_dict(), path)  # the real architecture, random weights
    return path


@pytest.mark.slow
def test_xmem_propagation_with_refinement_writes_masks_flags_and_revisions(
        make_project, xmem_checkpoint, one_thread):
    from annotator.engines.xmem_propagator import XMemPropagator

    project = make_project(anchors=(0,), segments=[(0, 19)])
    store = project.store
    engine = XMemPropagator(checkpoint=xmem_checkpoint, size=64)
    refiner = PrototypeRefiner(FallbackSegmenter(work_size=240), engine)
    (result,) = propagate_project(project, engine=engine, refine="k=5", refiner=refiner)
    assert result.state == "done" and result.written == 19 and result.refined == 3
    assert result.engine.startswith("XMem")
    assert engine.memory_bytes() > 0
    for f in range(1, 20):
        revs = store.revisions(1, f)
        current = store.mask(1, f)
        assert current.quality and "confidence" in current.quality and current.score is not None
        if f % 5 == 0:  # refined: both masks kept, the other one as the previous revision
            assert len(revs) == 2 and {r.source for r in revs} == {"propagated", "refined"}
            assert current.quality["refine"] in ("refined", "kept", "flagged")
            assert sum(current.quality["points"]) > 0
            if current.quality["refine"] == "flagged":
                assert "disagreement" in current.flags
        else:
            assert len(revs) == 1 and current.source == "propagated"
    assert store.integrity_check() == "ok"
    assert store.segment(1).status in ("propagated", "review")


def test_farthest_points_spread_out_from_the_best():
    pts = np.array([[0, 0], [1, 0], [10, 0], [0, 10], [9, 9]], np.float32)
    out = farthest_points(pts, 3)
    assert out[0].tolist() == [0, 0] and len(out) == 3
    assert [1, 0] not in out.tolist()  # the near-duplicate of the best is left out
