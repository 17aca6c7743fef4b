"""SAM segmenter through the real loading path: a real-architecture vit_b with random weights,
saved to a checkpoint file and loaded exactly as a user's file is.

The image encoder is expensive on a CPU (about 13 s for vit_b), so the module runs it once: the
fixture embeds one DAVIS frame through the background precompute queue (real thread, real disk
cache); every other test reuses that embedding from memory or disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from segment_anything import sam_model_registry

from annotator.engines import models
from annotator.engines.embedding_cache import EmbeddingCache
from annotator.engines.models import ModelFileError
from annotator.engines.precompute import PrecomputeQueue
from annotator.engines.sam import SamSegmenter, load_sam
from annotator.engines.segmenter import Segmenter, frame_key
from annotator.errors import Cancelled


@pytest.fixture(scope="module")
def env(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("sam")
    monkeypatch_module.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(root / "config"))
    monkeypatch_module.setenv("AVS_ANNOTATOR_MODELS_DIR", str(root / "models"))
    monkeypatch_module.setenv("XDG_CACHE_HOME", str(root / "xdg-cache"))
    torch.manual_seed(0)
    model = sam_model_registry["vit_b"]()
    ckpt = root / "random_vit_b.pth"
    torch.save(model.state_dict(), ckpt)
    del model
    return root, ckpt


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def embedded(env):
    """A segmenter whose cache holds one DAVIS frame, computed by the background queue."""
    root, ckpt = env
    img_path = _shared_path("data", "davis2016", "boat", "JPEGImages", "00000.jpg")
    image = np.asarray(Image.open(img_path).convert("RGB"))
    from annotator.engines import registry

    registry.start("cpu")  # process start-up, as the CLI and the app do: threads, allocator
    seg = SamSegmenter.from_checkpoint(ckpt, arch="vit_b", device="cpu",
                                       cache_dir=root / "cache" / "embeddings")
    events = []
    queue = PrecomputeQueue(seg, lambda i: image, on_progress=events.append)
    queue.schedule_plan(segment_starts=[0])
    assert queue.wait_idle(timeout=1800)
    queue.close()
    assert [(e.frame, e.computed, e.error) for e in events] == [(0, True, None)]
    return seg, image


def _shared_path(*parts: str) -> Path:
    """Module-scoped twin of the ``shared`` fixture (same rule: skip, or fail under CI)."""
    root = Path(__file__).resolve().parents[2]
    path = Path(os.environ.get("AVS_SHARED_DIR", root.parent / "shared")).joinpath(*parts)
    if not path.exists():
        msg = f"{path} is absent: the shared test data lives beside the project in ../shared"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def test_a_random_vit_b_checkpoint_loads_as_a_users_file(env):
    root, ckpt = env
    model, arch = load_sam(ckpt)
    assert arch == "vit_b"
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)
    for k in ("image_encoder.patch_embed.proj.weight", "mask_decoder.iou_token.weight"):
        assert torch.equal(model.state_dict()[k], sd[k])


def test_segmenter_satisfies_the_protocol(embedded):
    seg, _ = embedded
    assert isinstance(seg, Segmenter)
    assert seg.is_fallback is False
    from annotator.engines import registry

    # auto precision: bf16 where this CPU's probe says it pays (its encoder only), else fp32
    bf16 = registry.get().choice.precision == "bf16"
    assert seg.name == ("SAM vit_b (cpu, bf16 encoder)" if bf16 else "SAM vit_b (cpu, fp32)")


def test_precomputed_embedding_is_on_disk_and_clicks_skip_the_encoder(embedded):
    seg, image = embedded
    calls = []
    handle = seg.model.image_encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        assert seg.embed(image) == "disk"  # the background queue wrote it
        assert seg.embed(image) == "memory"
        res = seg.predict(np.array([[430, 260]]), np.array([1]))
        res2 = seg.predict(np.array([[430, 260], [100, 100]]), np.array([1, 0]),
                           mask_logits=res.best_logits, multimask=False)
    finally:
        handle.remove()
    assert calls == []
    h, w = image.shape[:2]
    assert res.masks.shape == (3, h, w) and res.masks.dtype == bool
    assert res.scores.shape == (3,) and res.scores.dtype == np.float32
    assert res.low_res_logits.shape == (3, 256, 256)
    assert res.engine == seg.name
    assert res2.masks.shape == (1, h, w) and res2.low_res_logits.shape == (1, 256, 256)


def test_box_together_with_points(embedded):
    seg, image = embedded
    seg.embed(image)
    pts, labs = np.array([[430, 260]]), np.array([1])
    a = seg.predict(pts, labs, multimask=False)
    b = seg.predict(pts, labs, box=np.array([300, 150, 600, 380]), multimask=False)
    c = seg.predict(None, None, box=np.array([300, 150, 600, 380]), multimask=False)
    assert not np.array_equal(a.low_res_logits, b.low_res_logits)
    assert not np.array_equal(b.low_res_logits, c.low_res_logits)


def test_previous_logits_change_the_answer(embedded):
    seg, image = embedded
    seg.embed(image)
    pts, labs = np.array([[430, 260], [500, 300]]), np.array([1, 1])
    first = seg.predict(pts[:1], labs[:1])
    without = seg.predict(pts, labs, multimask=False)
    with_logits = seg.predict(pts, labs, mask_logits=first.low_res_logits[0], multimask=False)
    assert not np.array_equal(without.low_res_logits, with_logits.low_res_logits)


def test_a_new_process_reads_the_same_embedding_from_disk(embedded, env):
    """A second segmenter over the same checkpoint and cache folder (what a restart sees)
    gives bit-identical masks from the float16 file on disk."""
    root, ckpt = env
    seg, image = embedded
    seg.embed(image)
    pts, labs = np.array([[430, 260], [200, 300]]), np.array([1, 0])
    before = seg.predict(pts, labs)
    fresh = SamSegmenter.from_checkpoint(ckpt, device="cpu",
                                         cache_dir=root / "cache" / "embeddings")
    assert fresh.model_id == seg.model_id == models.sha256_file(ckpt)
    assert fresh.embed(image) == "disk"
    after = fresh.predict(pts, labs)
    np.testing.assert_array_equal(before.masks, after.masks)
    np.testing.assert_array_equal(before.low_res_logits, after.low_res_logits)
    path = fresh.cache.path_for(fresh.model_id, frame_key(image))
    with np.load(path) as z:
        assert z["features"].dtype == np.float16 and z["features"].shape == (1, 256, 64, 64)


def test_another_checkpoint_does_not_reuse_the_embedding(embedded, env):
    root, ckpt = env
    seg, image = embedded
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)
    sd["image_encoder.neck.0.weight"] += 0.01
    other = root / "other_vit_b.pth"
    torch.save(sd, other)
    seg2 = SamSegmenter.from_checkpoint(other, device="cpu", cache_dir=root / "cache" / "embeddings")
    assert seg2.model_id != seg.model_id
    assert not seg2.cache.contains(seg2.model_id, frame_key(image))


def test_deleting_the_cache_folder_is_safe(embedded, env):
    root, ckpt = env
    seg, image = embedded
    cache_dir = root / "cache" / "deletable"
    seg2 = SamSegmenter(seg.model, "vit_b", seg.model_id, seg.device_choice, EmbeddingCache(cache_dir))
    emb = seg.cache.get(seg.model_id, frame_key(image))[0]
    seg2.cache.put(seg.model_id, frame_key(image), emb, memory=False)
    shutil.rmtree(cache_dir)
    assert seg2.cache.get(seg.model_id, frame_key(image)) is None
    seg2.cache.put(seg.model_id, frame_key(image), emb, memory=False)  # recreates the folder
    assert seg2.embed(image) == "disk"


def test_cancel_stops_a_background_embedding_mid_encoder(embedded):
    seg, image = embedded
    other = np.ascontiguousarray(image[:, ::-1])  # a frame not in the cache
    blocks = []
    handle = seg.model.image_encoder.blocks[0].register_forward_hook(lambda *a: blocks.append(1))
    try:
        with pytest.raises(Cancelled):
            seg.precompute(other, should_stop=lambda: len(blocks) >= 1)
    finally:
        handle.remove()
    assert len(blocks) == 1  # stopped after the first block, not after twelve
    assert not seg.cache.contains(seg.model_id, frame_key(other))


def test_a_queue_cancelled_before_it_starts_embeds_nothing(embedded):
    seg, image = embedded
    other = np.ascontiguousarray(image[::-1])
    queue = PrecomputeQueue(seg, lambda i: other)
    queue.cancel()
    queue.schedule([5])
    queue.cancel()
    assert queue.wait_idle(timeout=600)
    queue.close()
    assert not seg.cache.contains(seg.model_id, frame_key(other))


def test_freed_encoder_memory_is_kept_within_a_run_and_handed_back_after(embedded, monkeypatch):
    """On the CPU the encoder's freed memory is reused from one embedding to the next inside
    ``holding_memory`` (a job, a precompute queue) and handed back when it ends, or at once
    after an embedding outside one. Each embedding here stops after the first encoder block."""
    import annotator.engines.sam as sam_mod

    seg, image = embedded
    assert seg._keeps  # CPU + glibc
    released = []
    real = sam_mod.allocator.release_freed_memory
    monkeypatch.setattr(sam_mod.allocator, "release_freed_memory",
                        lambda: released.append(1) or real())
    blocks = []
    handle = seg.model.image_encoder.blocks[0].register_forward_hook(lambda *a: blocks.append(1))

    def embed_one_block(shift):  # a frame not in the cache
        blocks.clear()
        with pytest.raises(Cancelled):
            seg.precompute(np.roll(image, shift, axis=1), should_stop=lambda: bool(blocks))

    try:
        embed_one_block(7)
        assert len(released) == 1  # alone: handed back at once
        with seg.holding_memory():
            embed_one_block(8)
            embed_one_block(9)
            assert len(released) == 1  # kept between the embeddings of a run
        assert len(released) == 2  # and handed back when the run ends
    finally:
        handle.remove()


# -- error cases of the loading path (no encoder runs) ------------------------------------------
def test_vit_b_file_chosen_as_vit_l_or_vit_h_names_both(env):
    _, ckpt = env
    for wrong in ("vit_l", "vit_h"):
        with pytest.raises(ModelFileError) as err:
            SamSegmenter.from_checkpoint(ckpt, arch=wrong, device="cpu")
        msg = str(err.value)
        assert "vit_b" in msg and wrong in msg and str(ckpt) in msg


def test_truncated_checkpoint(env, tmp_path):
    _, ckpt = env
    cut = tmp_path / "sam_vit_b_01ec64.pth"
    with open(ckpt, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(ckpt.stat().st_size // 2))
    with pytest.raises(ModelFileError, match="truncated") as err:
        SamSegmenter.from_checkpoint(cut, arch="vit_b", device="cpu")
    assert str(cut) in str(err.value)


@pytest.mark.parametrize("content", [b"<!DOCTYPE html><html>Not Found</html>", b"hello world\n", b""])
def test_a_file_that_is_not_a_checkpoint(tmp_path, content):
    bad = tmp_path / "model.pth"
    bad.write_bytes(content)
    with pytest.raises(ModelFileError) as err:
        load_sam(bad)
    assert str(bad) in str(err.value)


def test_an_xmem_file_chosen_as_sam(tmp_path, shared):
    tsv = shared("xmem", "state_dict_keys.tsv")
    keys = [line.split("\t")[0] for line in Path(tsv).read_text().splitlines() if line.strip()]
    path = tmp_path / "XMem.pth"
    torch.save({k: torch.zeros(1) for k in keys[:50]}, path)
    with pytest.raises(ModelFileError, match="not a SAM checkpoint.*XMem"):
        load_sam(path, "vit_b")


def test_a_missing_checkpoint_says_where_it_looked_and_how_to_get_it(env, monkeypatch):
    root, _ = env
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(root / "empty-models"))
    with pytest.raises(ModelFileError) as err:
        SamSegmenter.from_checkpoint(arch="vit_b", device="cpu")
    msg = str(err.value)
    assert "annotator models download sam_vit_b" in msg
    assert str(root / "empty-models" / "sam_vit_b_01ec64.pth") in msg
    assert "AVS_ANNOTATOR_SAM_VIT_B" in msg


def test_the_registry_hands_out_the_fallback_without_weights_and_sam_when_present(
        env, monkeypatch):
    from annotator.engines.registry import EngineRegistry

    root, ckpt = env
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(root / "no-models"))
    reg = EngineRegistry("cpu")
    seg = reg.segmenter()
    assert seg.is_fallback and "no SAM weights" in seg.name
    assert reg.segmenter(allow_fallback=False) is None  # the refiner's ask: SAM or nothing
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_B", str(ckpt))
    sam = reg.segmenter(root / "cache" / "x")
    assert isinstance(sam, SamSegmenter) and sam.arch == "vit_b" and reg.sam_loads == 1
    reg.close()
