"""Network structure: published key names/shapes, and the fast paths equal the reference order."""

from __future__ import annotations

import pytest
import torch
from xmem import XMem


def read_tsv(path) -> list[tuple[str, tuple[int, ...]]]:
    out = []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        k, shape = line.split("\t")[:2]
        dims = shape.strip().strip("()").split(",")
        out.append((k, tuple(int(d) for d in dims if d.strip())))
    return out


@pytest.mark.parametrize(
    "tsv, dims",
    [("state_dict_keys.tsv", {}), ("state_dict_keys_no_sensory.tsv", {"hidden_dim": 0})],
)
def test_state_dict_matches_published_keys(shared, tsv: str, dims: dict) -> None:
    want = read_tsv(shared("xmem", tsv))
    ours = [(k, tuple(v.shape)) for k, v in XMem(**dims).state_dict().items()]
    assert ours == want  # names, shapes and order


def test_parameter_count() -> None:
    net = XMem()
    n = sum(p.numel() for p in net.parameters())
    assert n == 62_185_224
    assert sum(p.numel() for p in XMem(hidden_dim=0).parameters()) == 59_783_560


@pytest.mark.parametrize("hidden_dim, n_obj", [(64, 1), (64, 3), (0, 2)])
def test_fast_paths_equal_reference_order(hidden_dim: int, n_obj: int) -> None:
    torch.manual_seed(0)
    net = XMem(hidden_dim=hidden_dim).eval()
    img = torch.randn(1, 3, 64, 96)
    masks = torch.rand(n_obj, 64, 96)
    hidden = torch.randn(n_obj, hidden_dim, 4, 6) if hidden_dim else None
    with torch.inference_mode():
        _, _, _, f16, f8, f4 = net.encode_key(img)
        readout = torch.randn(n_obj, 512, 4, 6)
        outs = []
        for fast, cl in [(False, False), (True, False), (True, True)]:
            net.set_fast_paths(fast)
            fmt = torch.channels_last if cl else torch.contiguous_format
            net.to(memory_format=fmt)
            x = img.contiguous(memory_format=fmt)
            k, sh, se = net.encode_key(x)[:3]
            v, h = net.encode_value(x, f16, hidden, masks, True)
            nh, logits, prob = net.segment(f16, f8, f4, readout, hidden, True)
            outs.append((k, sh, se, v, h, nh, logits, prob))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            if a is None:
                assert b is None
            else:
                assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
