"""The XMem propagator: our ``xmem`` inference core behind the Propagator protocol.

Maps the protocol onto :class:`xmem.InferenceCore`: object ids become mask rows in the order
they are first given (``set_all_labels`` only appends), ``given`` masks become the step's
``mask`` rows with ``valid_labels`` (other rows are XMem's own prediction), frames are resized
to ``size`` on their shorter side (XMem's front end; 480 as in eval.py) and probabilities are
resized back. Objects left out of ``active`` are no longer output (XMem keeps their memory rows,
bounded like the rest of its memory; the protocol's "forgotten" means they need an anchor to
come back). Masks are exclusive among the active objects: the probability of inactive objects
counts as background.

**Write-back** of refined masks (:meth:`XMemPropagator.replace_last`, used by the refiner when
the ``refine.write_back`` setting is on): XMem memorises a frame inside its step, and only on
memory frames (every ``mem_every`` frames, and frames with a given mask). With
``keep_for_write_back`` set, the adaptor snapshots its state before each step that will be a
memory frame; ``replace_last(masks)`` then restores that snapshot and steps the frame again with
the refined masks given for their objects (XMem's own prediction for the others), so the memory
holds the refined masks. On other frames there is nothing to replace: their masks never reach
the memory.

With ``want_vote`` set (the refiner does), each step keeps XMem's memory vote
(:class:`xmem.MemoryVote`) in :attr:`XMemPropagator.last_vote` with :attr:`vote_scale`, the
factor from XMem's working resolution to the frame's pixels.

The process's engine registry (:mod:`annotator.engines.registry`) builds it over the one loaded
network, on the device chosen there (``make_propagator("xmem")``); built without a ``network``
it loads one of its own from ``checkpoint`` (default: the installed model file,
:func:`annotator.engines.models.xmem_checkpoint`) on ``device`` (default:
:func:`~annotator.engines.devices.choose_device`'s) — a script's or a bench's.

Its row in the engine table (:mod:`annotator.engines.engine_table`) is ``xmem``: available when
its model file is installed, of a higher priority than the fallback, so ``auto`` picks it
whenever its weights are there.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from annotator.engines.checks import check_frame
from annotator.engines.models import xmem_checkpoint
from annotator.engines.propagator import PropagationResult, check_given, resolve_active

__all__ = ["XMemPropagator"]


class XMemPropagator:
    """XMem behind the Propagator protocol (see the module docstring)."""

    kind = "xmem"

    def __init__(self, network=None, *, checkpoint: str | Path | None = None,
                 config=None, size: int = 480, device: str | torch.device | None = None,
                 precision: str | None = None) -> None:
        import xmem

        from annotator.engines.devices import XMEM_BF16_PARTS

        if network is None:  # a network of its own (the registry hands in the process's)
            path = checkpoint or xmem_checkpoint()
            if path is None:
                raise RuntimeError("no XMem model file: install it (annotator models) or pass "
                                   "checkpoint=")
            if device is None:
                from annotator.engines.devices import choose_device

                device = choose_device().device
            network = xmem.load_checkpoint(path, map_location=device)
        # ``precision`` bf16: the parts of XMEM_BF16_PARTS under bf16 autocast (the rest fp32);
        # fp16 and fp32: XMem runs in fp32 (fp16 is SAM's encoder on CUDA). A network handed
        # in without a precision runs in fp32.
        parts = XMEM_BF16_PARTS if precision == "bf16" else ()
        # the allocator is a process-wide setting: the process sets it at start-up
        # (annotator.engines.registry.start), never a model's constructor
        self.core = xmem.InferenceCore(network, config, keep_freed_memory=False, bf16_parts=parts)
        self.size = int(size)
        self.want_vote = False
        self.keep_for_write_back = False
        # where the network really is, and its bf16 parts (fp32 is not named: the name is the
        # masks' model identity, unchanged for what ran before precisions existed)
        extra = "" if self.precision == "fp32" else f", {self.precision}"
        self.name = f"XMem ({self.device}{extra})"
        self.reset()

    @property
    def device(self) -> torch.device:
        """The device the network's weights are on (asked of the network)."""
        return next(self.core.network.parameters()).device

    @property
    def precision(self) -> str:
        """What the network really runs in: ``fp32`` or ``bf16 key+decoder+value`` (its bf16
        parts, in ``xmem.inference_core.BF16_PARTS`` order)."""
        from xmem.inference_core import BF16_PARTS

        parts = [p for p in BF16_PARTS if p in self.core.bf16_parts]
        return "bf16 " + "+".join(parts) if parts else "fp32"

    # -- protocol --------------------------------------------------------------------------
    def reset(self) -> None:
        self.core.clear_memory()
        self.core.set_all_labels([])
        self._known: set[int] = set()
        self._shape: tuple[int, int] | None = None
        self.last_vote = None
        self.vote_scale = 1.0
        self._before: tuple | None = None  # (state, image, anchors) of a memory-frame step

    def memory_bytes(self) -> int:
        return int(self.core.memory.nbytes())

    def release_memory(self) -> None:
        """A run ended: hand the freed tensor memory XMem kept for reuse back to the system."""
        self.core.release_memory()

    def _will_memorise(self, given: bool) -> bool:
        core = self.core
        return given or core.curr_ti + 1 - core.last_mem_ti >= core.config.mem_every

    def replace_last(self, masks: Mapping[int, np.ndarray]) -> bool:
        """Memorise ``masks`` (object → full-size mask) for the frame just stepped instead of
        XMem's own; False when that frame was not memorised (nothing to replace)."""
        if self._before is None or not masks:
            return False
        state, image, given = self._before
        self._before = None
        self.set_state(state)
        labels = self.core.all_labels
        h, w = image.shape[-2:]
        rows = dict(given)
        for o, m in masks.items():
            rows[o] = _resize(torch.from_numpy(np.asarray(m, np.float32)), (h, w))
        mask = torch.zeros((len(labels), h, w), dtype=torch.float32)
        for o, r in rows.items():
            mask[labels.index(o)] = r
        self.core.step(image, mask, sorted(rows))
        return True

    # -- checkpoints (for resuming a job without replaying its whole run) -------------------
    def get_state(self) -> dict:
        """Everything the next step depends on, as plain data (tensors, numbers, lists — no
        object of ours, so a checkpoint stores it without pickle): the inference core's state
        (:func:`xmem.state.core_state`, a copy) and the adaptor's own."""
        from xmem.state import core_state

        return {"engine": "xmem", "version": 1, "size": self.size, "known": sorted(self._known),
                "shape": None if self._shape is None else list(self._shape),
                "core": core_state(self.core)}

    def set_state(self, state: dict) -> None:
        """Continue from a :meth:`get_state` (same network and configuration; ValueError
        otherwise, and the engine is left as it was)."""
        from xmem.state import restore_core

        if not isinstance(state, dict) or state.get("engine") != "xmem" \
                or state.get("version") != 1:
            raise ValueError("not a state of the XMem propagator (version 1)")
        if state.get("size") != self.size:
            raise ValueError(f"the XMem state was saved at size {state.get('size')}, "
                             f"this engine runs at {self.size}")
        restore_core(self.core, state["core"])
        shape = state["shape"]
        self._known = {int(o) for o in state["known"]}
        self._shape = None if shape is None else (int(shape[0]), int(shape[1]))
        self.last_vote = None

    def step(self, frame: np.ndarray, given: Mapping[int, np.ndarray] | None = None,
             active: Collection[int] | None = None) -> PropagationResult:
        import xmem

        frame = check_frame(frame, self._shape)
        shape = frame.shape[:2]
        self._shape = shape
        anchors = check_given(given, shape)
        ids = resolve_active(self._known, anchors, active)
        self._known = set(ids)
        new = [o for o in sorted(anchors) if o not in self.core.all_labels]
        if new:
            self.core.set_all_labels([*self.core.all_labels, *new])
        labels = self.core.all_labels

        image = xmem.resize_shorter(xmem.to_tensor(np.array(frame)), self.size)
        h, w = image.shape[-2:]
        mask = None
        if anchors:
            mask = torch.zeros((len(labels), h, w), dtype=torch.float32)
            for o, m in anchors.items():
                mask[labels.index(o)] = _resize(torch.from_numpy(m.astype(np.float32)), (h, w))
        self._before = None
        if self.keep_for_write_back and self._will_memorise(bool(anchors)):
            self._before = (self.get_state(), image, {o: mask[labels.index(o)] for o in anchors}
                            if anchors else {})
        prob = self.core.step(image, mask, list(anchors) if anchors else None,
                              want_vote=self.want_vote).cpu()
        self.last_vote = self.core.last_vote if self.want_vote else None
        self.vote_scale = shape[0] / h

        rows = [labels.index(o) + 1 for o in ids]
        p_active = prob[rows]  # A×h×w
        background = (1.0 - p_active.sum(0, keepdim=True)).clamp(min=0)
        full = _resize(torch.cat([background, p_active]), shape).numpy()
        winner = np.argmax(full, axis=0)
        taken = np.zeros(shape, bool)
        for m in anchors.values():
            taken |= m
        masks, probs, confidence = {}, {}, {}
        for k, o in enumerate(ids):
            probs[o] = p_active[k].numpy().astype(np.float32)
            if o in anchors:
                masks[o], confidence[o] = anchors[o], 1.0
                continue
            m = (winner == k + 1) & ~taken
            masks[o] = m
            inside = full[k + 1][m]
            confidence[o] = float(np.clip(np.mean(2 * inside - 1), 0, 1)) if inside.size else 0.0
        return PropagationResult(masks=masks, probs=probs, confidence=confidence)


def _resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of an H×W or C×H×W float tensor."""
    if tuple(t.shape[-2:]) == tuple(size):
        return t
    x = t[None] if t.ndim == 3 else t[None, None]
    out = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return out[0] if t.ndim == 3 else out[0, 0]
