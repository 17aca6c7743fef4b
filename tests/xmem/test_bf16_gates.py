"""bf16 fidelity gates for XMem (the parts in ``annotator.engines.devices.XMEM_BF16_PARTS``
under bf16 autocast) against fp32: max |Δp| ≤ 0.05 on every frame, argmax equal wherever the
fp32 top-2 margin exceeds 0.05. On the shared golden scenarios (golden weights; the goldens
themselves stay replayed in fp32 by test_golden.py) and on real DAVIS frames at 854×480 with
random weights of the real architecture. The gates are skipped, naming what was detected, on a
CPU without native bf16 (``auto`` never runs bf16 there; emulated they take about ten times as
long); which part computes in which dtype is checked on every CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from annotator.engines.devices import XMEM_BF16_PARTS, bf16_support

HERE = Path(__file__).resolve().parent
NATIVE, WHY = bf16_support()  # this machine's (or the CPU AVS_TEST_CPU plays)
needs_native_bf16 = pytest.mark.skipif(not NATIVE, reason=(
    f"no native bf16 on this CPU ({WHY}): auto never runs bf16 here, and emulated the gates "
    "take about ten times as long"))


@pytest.fixture(scope="module")
def helpers():
    import importlib.util

    spec = importlib.util.spec_from_file_location("xmem_test_helpers", HERE / "helpers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_gates(ref: np.ndarray, got: np.ndarray, what: str) -> float:
    delta = float(np.abs(got - ref).max())
    assert delta <= 0.05, f"{what}: max |Δp| = {delta:.4f}"
    top2 = np.sort(ref, 0)[-2:]
    sure = (top2[1] - top2[0]) > 0.05
    flips = int((got.argmax(0) != ref.argmax(0))[sure].sum())
    assert flips == 0, f"{what}: {flips} pixels with fp32 top-2 margin > 0.05 changed label"
    return delta


def replay_bf16(net, golden):
    """helpers.replay with the core's bf16 parts on (the golden's config otherwise)."""
    import json

    from xmem import InferenceCore, to_tensor

    core = InferenceCore(net, json.loads(str(golden["config_json"])), bf16_parts=XMEM_BF16_PARTS)
    n = len(golden["frames"])
    for t in range(n):
        rgb = to_tensor(golden["frames"][t])
        if t == 0:
            core.set_all_labels(golden["init_all_labels_000"].tolist())
            prob = core.step(rgb, torch.from_numpy(golden["init_mask_000"]),
                             golden["init_valid_labels_000"].tolist(), end=n == 1)
        else:
            prob = core.step(rgb, end=t == n - 1)
        yield t, prob.cpu(), core


@needs_native_bf16
@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["A", "B"])
def test_golden_scenarios_in_bf16_keep_the_gates(shared, helpers, scenario):
    fill = helpers.load_by_path(shared("xmem", "fill_weights.py"), "xmem_fill_weights")
    golden = np.load(shared("xmem", f"golden_{scenario}.npz"))
    net = helpers.filled_network(fill)
    worst = 0.0
    moved = False
    for t, prob, core in replay_bf16(net, golden):
        assert core.bf16_parts == frozenset(XMEM_BF16_PARTS)
        ref = golden["probs"][t]
        worst = max(worst, check_gates(ref, prob.numpy(), f"golden {scenario} frame {t}"))
        moved |= not np.allclose(prob.numpy(), ref, atol=1e-5)
    assert moved, "bf16 changed nothing: the autocast did not run"


@needs_native_bf16
@pytest.mark.slow
def test_davis_frames_in_bf16_keep_the_gates(shared):
    """854×480, two objects (the ground truth and a box of background), eval defaults,
    random weights (seed 0) of the real architecture; fp32 and bf16 stepped side by side."""
    from PIL import Image
    from xmem import InferenceCore, XMem

    seq = shared("data", "davis2016", "bmx-bumps")
    files = sorted((seq / "JPEGImages").glob("*.jpg"))[:6]
    gt = np.asarray(Image.open(seq / "Annotations" / "00000.png").convert("L")) > 0
    box = np.zeros_like(gt)
    box[320:470, 10:200] = True
    mask = torch.from_numpy(np.stack([gt, box & ~gt]).astype(np.float32))
    torch.manual_seed(0)
    net = XMem().eval()
    cores = [InferenceCore(net, None), InferenceCore(net, None, bf16_parts=XMEM_BF16_PARTS)]
    for c in cores:
        c.set_all_labels([1, 2])
    for t, f in enumerate(files):
        img = np.asarray(Image.open(f).convert("RGB"))
        ref, got = (c.step(img, mask if t == 0 else None, end=t == len(files) - 1).numpy()
                    for c in cores)
        check_gates(ref, got, f"bmx-bumps frame {t}")


def test_each_part_runs_in_the_precision_it_is_given():
    """Under XMEM_BF16_PARTS the key encoder's and the decoder's convolutions compute in bf16
    while their residual streams (what the blocks add up) stay float32; the key projection,
    the decoder's last convolution (to the logits) and the probabilities stay float32 — the
    roundings the gates found sensitive."""
    from xmem import InferenceCore, XMem

    torch.manual_seed(0)
    net = XMem().eval()
    seen: dict[str, tuple[torch.dtype, torch.dtype]] = {}

    def watch(name, module):
        def hook(m, i, o):
            seen[name] = (i[0].dtype, (o[0] if isinstance(o, tuple) else o).dtype)

        module.register_forward_hook(hook)

    watch("key encoder stem", net.key_encoder.maxpool)  # pools the first convolution's output
    watch("key encoder block", net.key_encoder.layer3[0])
    watch("key projection", net.key_proj)
    watch("decoder conv", net.decoder.up_8_4.skip_conv)
    watch("decoder block", net.decoder.up_8_4.out_conv)
    watch("decoder head", net.decoder.pred)
    core = InferenceCore(net, None, bf16_parts=XMEM_BF16_PARTS)
    core.set_all_labels([1])
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 96, 3), dtype=np.uint8) for _ in range(2)]
    mask = np.zeros((1, 64, 96), np.float32)
    mask[0, 16:48, 24:72] = 1
    core.step(frames[0], mask)
    prob = core.step(frames[1])
    assert seen["key encoder stem"] == (torch.bfloat16, torch.bfloat16)
    assert seen["decoder conv"][1] == torch.bfloat16
    assert seen["key encoder block"][1] == torch.float32
    assert seen["decoder block"][1] == torch.float32
    assert seen["key projection"] == (torch.float32, torch.float32)
    assert seen["decoder head"] == (torch.float32, torch.float32)
    assert prob.dtype == torch.float32


def test_unknown_parts_are_named():
    from xmem import InferenceCore, XMem

    with pytest.raises(ValueError, match="unknown bf16 parts.*'encoder'"):
        InferenceCore(XMem(), None, bf16_parts=("encoder",))
