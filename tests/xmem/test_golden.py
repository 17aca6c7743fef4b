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


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["A", "B"])
def test_golden_replay(shared, helpers, scenario: str) -> None:
    torch.set_num_threads(2)
    fill = helpers.load_by_path(shared("xmem", "fill_weights.py"), "xmem_fill_weights")
    golden = np.load(shared("xmem", f"golden_{scenario}.npz"))
    net = helpers.filled_network(fill)
    sd = net.state_dict()
    assert fill.weights_digest(sd) == (
        "5166ebf1b97ecdef075aad7f794313cba443684b05c55f40b1c4d8c6a55efde2"
    ), "our state-dict keys/shapes do not reproduce the golden weights"

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
    print(f"{scenario}: max |Δp| per frame: median {np.median(worst_arr):.2e}, max {worst_arr.max():.2e}")
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
