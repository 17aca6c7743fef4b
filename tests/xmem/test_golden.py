"""Replay the shared golden scenarios with our network filled from our own state-dict keys.

Equality as ../shared/xmem/README.md defines it: max |Δp| ≤ 5e-3 on every frame, ≤ 1e-4 on at
least 75% of frames, median over frames ≤ 1e-5; argmax equal where argmax_margin > 1e-2; working
and long-term memory sizes equal on every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def helpers():
    import importlib.util

    spec = importlib.util.spec_from_file_location("xmem_test_helpers", HERE / "helpers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario, device", [("A", "cpu"), ("B", "cpu"), pytest.param("A", "cuda", marks=CUDA)]
)
def test_golden_replay(shared, helpers, scenario: str, device: str) -> None:
    torch.set_num_threads(2)
    fill = helpers.load_by_path(shared("xmem", "fill_weights.py"), "xmem_fill_weights")
    golden = np.load(shared("xmem", f"golden_{scenario}.npz"))
    net = helpers.filled_network(fill)
    sd = net.state_dict()
    assert fill.weights_digest(sd) == (
        "5166ebf1b97ecdef075aad7f794313cba443684b05c55f40b1c4d8c6a55efde2"
    ), "our state-dict keys/shapes do not reproduce the golden weights"
    if device == "cuda":  # full fp32: no TF32 in convolutions or matmuls
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    net = net.to(device)

    worst = []
    for t, prob, core in helpers.replay(net, golden):
        want = golden["probs"][t]
        got = prob.numpy()
        assert got.shape == want.shape, f"frame {t}: shape {got.shape} != {want.shape}"
        delta = float(np.abs(got - want).max())
        worst.append(delta)
        assert delta <= 5e-3, f"{scenario} frame {t}: max |Δp| = {delta:.3g}"
        sure = golden["argmax_margin"][t] > 1e-2
        flips = int((got.argmax(0) != golden["masks"][t])[sure].sum())
        assert flips == 0, f"{scenario} frame {t}: {flips} confident pixels changed label"
        assert core.memory.work.size == golden["work_mem_size"][t], f"frame {t}: WM size"
        assert core.memory.long.size == golden["long_mem_size"][t], f"frame {t}: LT size"
    worst_arr = np.array(worst)
    print(
        f"{scenario}/{device}: max |Δp| per frame: median {np.median(worst_arr):.2e}, "
        f"max {worst_arr.max():.2e}, ≤1e-4 on {(worst_arr <= 1e-4).mean():.0%} of frames"
    )
    assert (worst_arr <= 1e-4).mean() >= 0.75
    assert np.median(worst_arr) <= 1e-5


def test_intermediates_frame0(shared, helpers) -> None:
    """Encoder outputs of frame 0 against the reference's intermediates (locates departures)."""
    torch.set_num_threads(2)
    fill = helpers.load_by_path(shared("xmem", "fill_weights.py"), "xmem_fill_weights")
    inter = np.load(shared("xmem", "golden_A_intermediates_f0-7.npz"))
    net = helpers.filled_network(fill)
    from xmem import to_tensor

    golden = np.load(shared("xmem", "golden_A.npz"))
    rgb = to_tensor(golden["frames"][0])
    assert torch.equal(rgb, torch.from_numpy(inter["rgb_norm_000"]))
    with torch.inference_mode():
        key, shrink, sel, f16, _, _ = net.encode_key(rgb[None])
        masks = torch.from_numpy(inter["value_in_masks_000"])[0]
        hidden = torch.from_numpy(inter["value_in_hidden_000"])[0]
        value, hidden2 = net.encode_value(rgb[None], f16, hidden, masks, True)
    for name, ours in [("key", key), ("shrinkage", shrink), ("selection", sel), ("f16", f16)]:
        ref = torch.from_numpy(inter[f"{name}_000"])
        assert torch.allclose(ours, ref, rtol=1e-4, atol=1e-4), name
    assert torch.allclose(value, torch.from_numpy(inter["value_000"])[0], rtol=1e-4, atol=1e-4)
    assert torch.allclose(hidden2, torch.from_numpy(inter["value_out_hidden_000"])[0], atol=1e-4)


@CUDA
def test_half_precision_cuda(shared, helpers) -> None:
    """fp16 autocast on CUDA: runs, stays a probability distribution, keeps the memory schedule.
    Its distance to the fp32 golden is printed, not asserted (fp16 is not bit-compatible)."""
    fill = helpers.load_by_path(shared("xmem", "fill_weights.py"), "xmem_fill_weights")
    golden = np.load(shared("xmem", "golden_A.npz"))
    net = helpers.filled_network(fill).cuda()
    deltas, agree = [], []
    for t, prob, core in helpers.replay(net, golden, half=True):
        assert torch.isfinite(prob).all()
        assert torch.allclose(prob.sum(0), torch.ones_like(prob[0]), atol=1e-3)
        assert core.memory.work.size == golden["work_mem_size"][t]
        assert core.memory.long.size == golden["long_mem_size"][t]
        deltas.append(float(np.abs(prob.numpy() - golden["probs"][t]).max()))
        sure = golden["argmax_margin"][t] > 0.1
        agree.append(float((prob.numpy().argmax(0) == golden["masks"][t])[sure].mean()))
    print(f"half/cuda: max |Δp| median {np.median(deltas):.2e} max {max(deltas):.2e}; "
          f"argmax agreement where margin > 0.1: min {min(agree):.4f}")
