"""The process's engine registry: the chosen device reaches the models, models load once,
process-wide settings are left to start-up, the precompute queue's order."""

from __future__ import annotations

import threading

import pytest
import torch

from annotator.engines import registry
from annotator.engines.devices import DeviceChoice

xmem = pytest.importorskip("xmem")


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A random-weight XMem checkpoint (the real architecture) and a stand-in SAM file, found
    through the model registry's environment variables; a fresh process registry."""
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    torch.manual_seed(0)
    xpath = tmp_path / "xmem-random.pth"
    torch.save(xmem.XMem().state_dict(), xpath)
    spath = tmp_path / "sam_vit_b.pth"
    spath.write_bytes(b"stand-in: load_sam is patched in the tests that use it")
    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(xpath))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_B", str(spath))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_L", str(tmp_path / "absent"))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_H", str(tmp_path / "absent"))
    registry.reset_for_tests()
    yield xpath, spath
    registry.reset_for_tests()


def _small_sam():
    """The real SAM class with a 1-block image encoder (random weights): the registry's
    plumbing does not depend on the encoder's depth, and vit_b takes seconds to build."""
    from functools import partial

    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    enc = ImageEncoderViT(depth=1, embed_dim=64, img_size=1024, mlp_ratio=4,
                          norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=2,
                          patch_size=16, qkv_bias=True, use_rel_pos=True,
                          global_attn_indexes=(), window_size=14, out_chans=256)
    return Sam(image_encoder=enc,
               prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(64, 64),
                                            input_image_size=(1024, 1024), mask_in_chans=16),
               mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                        transformer=TwoWayTransformer(depth=2, embedding_dim=256,
                                                                      mlp_dim=2048, num_heads=8),
                                        transformer_dim=256, iou_head_depth=3,
                                        iou_head_hidden_dim=256)).eval()


def test_the_chosen_device_reaches_xmem_load_checkpoint_and_sams_constructor(files, monkeypatch):
    """PATCHED: the device choice answers a fake accelerator (``xpu``, which this machine does
    not have), ``xmem.load_checkpoint`` and ``SamSegmenter.__init__`` are spied on — they
    record the device they were given and then build the real models on the CPU — and
    ``load_sam`` returns a small real-class SAM instead of reading the stand-in file."""
    from annotator.engines import sam as sam_mod
    from annotator.pipeline.policy import RefinePolicy
    from annotator.pipeline.queue import choose_engine, make_refiner

    fake = DeviceChoice(torch.device("xpu"), half=False, threads=1, reason="patched")
    monkeypatch.setattr(registry, "choose_device", lambda *a, **k: fake)
    seen: dict[str, list] = {"xmem": [], "sam": []}
    real_load = xmem.load_checkpoint

    def spy_load(path, map_location="cpu"):
        seen["xmem"].append(map_location)
        return real_load(path, map_location="cpu")

    real_init = sam_mod.SamSegmenter.__init__

    def spy_init(self, model, arch, model_id, device=None, *args, **kwargs):
        if kwargs.get("_shared") is None:  # a load, not a share() of the loaded model
            seen["sam"].append(device.device if device is not None else None)
        cpu = DeviceChoice(torch.device("cpu"), False, 1, "test")
        real_init(self, model, arch, model_id, cpu if device is fake else device, *args, **kwargs)

    monkeypatch.setattr(xmem, "load_checkpoint", spy_load)
    monkeypatch.setattr(sam_mod.SamSegmenter, "__init__", spy_init)
    monkeypatch.setattr(sam_mod, "load_sam", lambda path, arch=None, device="cpu":
                        (_small_sam(), "vit_b"))

    engine = choose_engine("xmem", size=64)
    refiner = make_refiner(RefinePolicy.parse("every"), engine)
    assert seen["xmem"] == [torch.device("xpu")]
    assert seen["sam"] == [torch.device("xpu")]  # once: the refiner shares the loaded model
    assert refiner is not None and refiner.segmenter.model is registry.get().sam().model


def test_models_load_once_and_each_caller_gets_its_own_state(files, monkeypatch):
    """``load_sam`` is patched to a small real-class SAM (see above); XMem is the real file."""
    from annotator.engines import sam as sam_mod

    monkeypatch.setattr(sam_mod, "load_sam", lambda path, arch=None, device="cpu":
                        (_small_sam(), "vit_b"))
    # fp32: on a CPU where the bf16 probe pays, auto would name "bf16 key+decoder+value" too
    reg = registry.start("cpu", keep_freed_memory=False, precision="fp32")
    a, b = reg.propagator("xmem", size=64), reg.propagator("xmem", size=64)
    assert a is not b and a.core is not b.core  # each run its own memory …
    assert a.core.network is b.core.network  # … over one loaded network
    s1, s2 = reg.segmenter(None), reg.segmenter(None)
    assert s1 is not s2 and s1.model is s2.model and s1.predictor is not s2.predictor
    assert (reg.sam_loads, reg.xmem_loads) == (1, 1)
    assert reg.devices() == {"SAM": "cpu", "XMem": "cpu"}
    assert a.name == "XMem (cpu)" and s1.name.startswith("SAM vit_b (cpu")
    reg.release()
    assert reg.devices() == {}
    reg.propagator("xmem", size=64)
    assert reg.xmem_loads == 2  # asked again after a release: loaded again
    s3 = reg.segmenter(None)  # s1 (an open project's) still holds SAM: taken back, not reloaded
    assert reg.sam_loads == 1 and s3.model is s1.model
    reg.release()
    del s1, s2, s3
    import gc

    gc.collect()
    reg.segmenter(None)
    assert reg.sam_loads == 2  # nobody held it any more: loaded again


def test_building_models_leaves_threads_and_the_allocator_alone(files, monkeypatch):
    """Process-wide settings belong to start-up: a model built later (here on a worker
    thread, as the GUI does) changes neither torch's threads nor the C allocator."""
    from xmem import allocator

    from annotator.engines import sam as sam_mod

    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda *a, **k: calls.append("alloc"))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(f"threads={n}"))
    monkeypatch.setattr(sam_mod, "load_sam", lambda path, arch=None, device="cpu":
                        (_small_sam(), "vit_b"))
    monkeypatch.setenv("AVS_ANNOTATOR_THREADS", "1")  # differs from torch's count: would be set
    reg = registry.get()
    errors = []

    def work():
        try:
            reg.propagator("xmem", size=64)
            reg.segmenter(None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert not errors and calls == []
    registry.start("cpu")  # start-up is where they are set
    assert "alloc" in calls


def test_a_missing_device_is_refused_at_start(files):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from annotator.errors import UserError

    with pytest.raises(UserError, match="CUDA is not available"):
        registry.start("cuda")


def test_precompute_order_cursor_first_then_segment_starts_then_flagged_worst_first():
    """A fake segmenter records the order (this test is about the queue's logic, not SAM);
    the first frame blocks until everything is queued."""
    from annotator.engines.precompute import PrecomputeQueue

    gate = threading.Event()
    order: list[int] = []

    class Recorder:
        def precompute(self, image, should_stop=None):
            if not order:
                gate.wait(10)
            order.append(int(image))
            return True

    q = PrecomputeQueue(Recorder(), lambda i: i)
    q.schedule([999])  # in flight while the rest is queued
    while q.pending():  # until the worker has taken it
        threading.Event().wait(0.01)
    q.schedule_plan(segment_starts=[5, 1], flagged=[30, 20, 40])  # flagged: worst first
    q.now(20)  # the cursor on a flagged frame …
    q.now(77)  # … moves on: 20 goes back to its place, 77 goes first
    q.now(78)  # 77 was only the cursor: it leaves the queue
    gate.set()
    assert q.wait_idle(10)
    q.close()
    assert order == [999, 78, 5, 1, 30, 20, 40]


def test_idle_models_are_released_once_nobody_holds_them(files):
    import gc
    import time

    reg = registry.EngineRegistry("cpu", idle_release_s=0.5)
    try:
        prop = reg.propagator("xmem", size=64)  # a job (or an open project) holds it
        time.sleep(1.5)
        assert reg.devices() == {"XMem": "cpu"}  # idle long enough, but in use: kept
        del prop
        gc.collect()
        deadline = time.monotonic() + 10
        while reg.devices() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reg.devices() == {}  # nobody held it for 0.5 s: released
    finally:
        reg.close()
