"""The inference core's state as plain data, to save a run and continue it later.

:func:`core_state` gives everything the next :meth:`InferenceCore.step` depends on — frame
counters, labels, the hidden state and both memory stores with their groups — as a dict of
tensors, numbers, lists and the configuration (``dataclasses.asdict``); no object of this
package, so it can be written as arrays plus JSON and read back without unpickling anything.
:func:`restore_core` puts it back into a core built on the same network and configuration
(tensors go to the core's device); a state of another configuration, network shape or version
is refused with ``ValueError``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from .inference_core import InferenceCore
from .memory_manager import MemoryManager
from .store import Group, MemoryStore

VERSION = 1
_COUNTERS = ("curr_ti", "last_mem_ti", "last_deep_update_ti")
_MEMORY = ("hw", "min_work", "max_work", "consolidations")


def _copy(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().clone()


def _channels_last(t: torch.Tensor | None) -> bool:
    return t is not None and t.dim() == 4 and not t.is_contiguous() \
        and t.is_contiguous(memory_format=torch.channels_last)


def _store_state(store: MemoryStore) -> dict[str, Any]:
    return {
        "count_usage": store.count_usage,
        **{k: _copy(getattr(store, k)) for k in ("key", "shrinkage", "selection", "use", "life")},
        "groups": [{"objects": list(g.objects), "values": _copy(g.values),
                    "labels": _copy(g.labels), "cols": _copy(g.cols)} for g in store.groups],
    }


def core_state(core: InferenceCore) -> dict[str, Any]:
    """A copy of ``core``'s state as plain data (see the module docstring)."""
    mm = core.memory
    return {
        "version": VERSION,
        "config": asdict(core.config),
        "all_labels": list(core.all_labels),
        "objects": list(core.objects),
        "size": None if core.size is None else list(core.size),
        **{k: int(getattr(core, k)) for k in _COUNTERS},
        "memory": {
            **{k: int(getattr(mm, k)) for k in _MEMORY},
            "reset_config": bool(mm._reset_config),
            "hidden": _copy(mm.hidden),
            # the layout too: the first step after a restore builds the network's derived
            # weights in its input's layout (``modules._fmt``), and another layout takes other
            # kernels, whose float rounding differs (seen in bf16: ~100 pixels a frame)
            "hidden_channels_last": _channels_last(mm.hidden),
            "work": _store_state(mm.work),
            "long": _store_state(mm.long),
        },
    }


def _tensor(value: Any, device: torch.device, dtype: torch.dtype | None = None):
    if value is None:
        return None
    t = torch.as_tensor(value)
    return t.to(device=device, dtype=dtype or t.dtype, copy=True)


def _restore_store(data: dict[str, Any], device: torch.device) -> MemoryStore:
    store = MemoryStore(count_usage=bool(data["count_usage"]))
    for k in ("key", "shrinkage", "selection", "use", "life"):
        setattr(store, k, _tensor(data[k], device))
    store.groups = [Group([int(o) for o in g["objects"]], _tensor(g["values"], device),
                          _tensor(g["labels"], device), _tensor(g["cols"], device, torch.long))
                    for g in data["groups"]]
    return store


def restore_core(core: InferenceCore, state: dict[str, Any]) -> None:
    """Continue ``core`` from :func:`core_state` (``ValueError``: not usable with this core)."""
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ValueError(f"not an XMem core state of version {VERSION}")
    if state["config"] != asdict(core.config):
        changed = sorted(k for k, v in asdict(core.config).items() if state["config"].get(k) != v)
        raise ValueError(f"the XMem state was saved with other settings ({', '.join(changed)})")
    device = core.device
    mem = state["memory"]
    mm = MemoryManager(core.config)
    for k in _MEMORY:
        setattr(mm, k, int(mem[k]))
    mm._reset_config = bool(mem["reset_config"])
    mm.hidden = _tensor(mem["hidden"], device)
    if mm.hidden is not None and mem.get("hidden_channels_last"):
        mm.hidden = mm.hidden.contiguous(memory_format=torch.channels_last)
    mm.work = _restore_store(mem["work"], device)
    mm.long = _restore_store(mem["long"], device)
    mm.in_place = core.network.decoder.fast
    for k in _COUNTERS:
        setattr(core, k, int(state[k]))
    core.all_labels = [int(o) for o in state["all_labels"]]
    core.objects = [int(o) for o in state["objects"]]
    core.size = None if state["size"] is None else (int(state["size"][0]), int(state["size"][1]))
    core.memory = mm
    core.last_vote = None
