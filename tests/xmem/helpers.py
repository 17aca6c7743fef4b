"""Helpers for the xmem tests (loaded by path: the test suite runs with --import-mode=importlib).

Deterministic weights come from ../shared/xmem/fill_weights.py, loaded by path, never copied.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from xmem import InferenceCore, XMem, to_tensor


def load_by_path(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def filled_network(fill: ModuleType, keys_tsv: Path | None = None, **dims: int) -> XMem:
    """Our network with weights filled from OUR OWN state-dict keys (or from ``keys_tsv``)."""
    net = XMem(**dims).eval()
    if keys_tsv is None:
        keys = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    else:
        keys = fill.read_keys_tsv(str(keys_tsv))
    net.load_state_dict(fill.fill_from_keys(keys))
    return net


def replay(net: XMem, golden: np.lib.npyio.NpzFile, frames: int | None = None, **extra):
    """Replay a golden scenario as README.md says; yields (t, probs, core) per frame."""
    config = json.loads(str(golden["config_json"]))
    config.update(extra)
    core = InferenceCore(net, config)
    all_frames = golden["frames"]
    T = len(all_frames) if frames is None else frames
    for t in range(T):
        rgb = to_tensor(all_frames[t])
        if t == 0:
            core.set_all_labels(golden["init_all_labels_000"].tolist())
            prob = core.step(
                rgb, torch.from_numpy(golden["init_mask_000"]),
                golden["init_valid_labels_000"].tolist(), end=(t == len(all_frames) - 1),
            )
        else:
            prob = core.step(rgb, end=(t == len(all_frames) - 1))
        yield t, prob.cpu(), core
