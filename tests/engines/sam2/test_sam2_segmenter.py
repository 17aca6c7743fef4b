"""Clicks on SAM 2.1 (the real Hiera-Tiny architecture, random weights from the package's
builder): chosen with ``--segmenter`` / the setting through the process's registry, points and
a box give masks and three candidates, and an embedding read back from the disk cache gives the
same masks as the one just computed."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import SKIP_REASON, TEST_SIZE, TINY, davis_frames

pytest.importorskip("sam2", reason=SKIP_REASON)
pytestmark = pytest.mark.slow  # image encoder runs (at 256², conftest.py) on a 2-core CPU


def test_clicks_and_a_box_give_masks_from_the_cache_too(sam2_installed, shared, tmp_path):
    from annotator.engines import registry
    from annotator.engines.embedding_cache import EmbeddingCache

    reg = registry.start("cpu", segmenter="sam2")
    seg = reg.segmenter(tmp_path / "emb")
    assert type(seg).__name__ == "Sam2Segmenter" and not seg.is_fallback
    assert seg.name == "SAM 2.1 hiera_tiny (cpu, fp32)"
    assert reg.devices() == {"SAM 2.1 hiera_tiny": "cpu"}
    assert reg.precisions() == {"SAM 2.1 hiera_tiny": "fp32"}
    (frame,), truth = davis_frames(shared, 1)
    ys, xs = np.nonzero(truth)
    point = np.array([[xs.mean(), ys.mean()]])
    assert seg.embed(frame) == "computed"
    res = seg.predict(point, np.array([1]))
    assert res.masks.shape == (3, *frame.shape[:2]) and res.masks.dtype == bool
    assert res.scores.shape == (3,) and res.low_res_logits.shape == (3, TEST_SIZE // 4, TEST_SIZE // 4)
    assert res.best_mask.any() and res.engine == seg.name
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
    boxed = seg.predict(None, None, box=box, multimask=False)
    assert boxed.masks.shape == (1, *frame.shape[:2]) and boxed.best_mask.any()
    again = seg.predict(point, np.array([1]), mask_logits=res.best_logits)
    assert again.masks.shape[0] == 3

    other = reg.segmenter(tmp_path / "emb")  # a second user: the same weights, from disk
    assert other.model is seg.model
    other.cache = EmbeddingCache(tmp_path / "emb", memory_items=0)
    assert other.embed(frame) == "disk"
    np.testing.assert_array_equal(other.predict(point, np.array([1])).masks, res.masks)


def test_precompute_leaves_the_current_frame_alone(sam2_installed, shared):
    from annotator.engines import registry

    seg = registry.start("cpu", segmenter=TINY).segmenter(None)
    (f0, f1), truth = davis_frames(shared, 2, size=(160, 90))
    ys, xs = np.nonzero(truth)
    point, label = np.array([[xs.mean(), ys.mean()]]), np.array([1])
    seg.embed(f0)
    before = seg.predict(point, label).masks
    assert seg.precompute(f1) is True and seg.precompute(f1) is False
    np.testing.assert_array_equal(seg.predict(point, label).masks, before)


def test_a_missing_chosen_file_says_where_it_looked(sam2_installed, monkeypatch):
    from annotator.engines import models, registry

    monkeypatch.delenv(models.REGISTRY[TINY].env_var)
    with pytest.raises(models.ModelFileError, match="annotator models download sam2.1_hiera_tiny"):
        registry.start("cpu", segmenter=TINY).segmenter(None)
