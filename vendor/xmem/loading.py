"""Loading published XMem checkpoints (SPEC §1.2–1.3).

Accepted: a plain state dict (name → tensor) with the published keys — XMem.pth and
XMem-s012.pth; the single-object variant (4-channel value-encoder input, padded with an all-zero
5th channel as the reference does at inference); the variant without a hidden state. The
dimensions (key, value, hidden) are read from the weights. ``num_batches_tracked`` buffers may be
absent (inference never uses them). Anything else raises ``CheckpointError`` naming the file and
the missing, unexpected or mis-shaped keys.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from .network import XMem

VALUE_CONV1 = "value_encoder.conv1.weight"


class CheckpointError(ValueError):
    """A file that is not a loadable XMem checkpoint."""


def dims_from_state_dict(sd: dict[str, torch.Tensor]) -> tuple[int, int, int]:
    """(key_dim, value_dim, hidden_dim) as the reference reads them (SPEC §1.2)."""
    key_dim = sd["key_proj.key_proj.weight"].shape[0]
    value_dim = sd["value_encoder.fuser.block2.conv2.weight"].shape[0]
    t = sd.get("decoder.hidden_update.transform.weight")
    hidden_dim = 0 if t is None else t.shape[0] // 3
    return int(key_dim), int(value_dim), int(hidden_dim)


def _listing(title: str, items: list[str], limit: int = 8) -> str:
    more = f" … and {len(items) - limit} more" if len(items) > limit else ""
    return f"{title} ({len(items)}): {', '.join(items[:limit])}{more}"


def state_dict_for(net: XMem, sd: dict[str, torch.Tensor], path: str) -> dict[str, torch.Tensor]:
    """Check ``sd`` against ``net`` and return it ready for ``load_state_dict(strict=True)``."""
    sd = dict(sd)
    w = sd.get(VALUE_CONV1)
    if isinstance(w, torch.Tensor) and w.dim() == 4 and w.shape[1] == 4:
        # single-object checkpoint: a zero 5th channel ("others"), SPEC §1.3
        sd[VALUE_CONV1] = torch.cat([w, torch.zeros(w.shape[0], 1, *w.shape[2:], dtype=w.dtype)], 1)
    want = net.state_dict()
    for k in want:
        if k.endswith(".num_batches_tracked") and k not in sd:
            sd[k] = torch.zeros((), dtype=torch.long)
    missing = [k for k in want if k not in sd]
    unexpected = [k for k in sd if k not in want]
    misshaped = [
        f"{k} {tuple(sd[k].shape)} (expected {tuple(v.shape)})"
        for k, v in want.items()
        if k in sd and (not isinstance(sd[k], torch.Tensor) or sd[k].shape != v.shape)
    ]
    if missing or unexpected or misshaped:
        parts = [
            _listing("missing keys", missing) if missing else "",
            _listing("unexpected keys", unexpected) if unexpected else "",
            _listing("mis-shaped keys", misshaped) if misshaped else "",
        ]
        raise CheckpointError(
            f"{path} is not an XMem checkpoint this network can load: "
            + "; ".join(p for p in parts if p)
        )
    return {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> XMem:
    """Build the network that ``path`` describes and load it (``weights_only=True``).

    Returns the network in eval mode on ``map_location``.
    """
    path = str(Path(path))
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        sd = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        raise CheckpointError(f"{path} could not be read as a PyTorch state dict: {e}") from e
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(
            f"{path} is not a plain state dict (a mapping of names to tensors); "
            f"found {type(sd).__name__}"
        )
    try:
        dims = dims_from_state_dict(sd)
    except KeyError as e:
        raise CheckpointError(f"{path} is not an XMem checkpoint: missing key {e.args[0]}") from None
    net = XMem(*dims)
    net.load_state_dict(state_dict_for(net, sd, path))
    return net.to(map_location).eval()
