"""The per-frame inference protocol of XMem (SPEC §7).

Usage::

    core = InferenceCore(network, config)          # config: XMemConfig, dict or None
    core.set_all_labels([1, 2])
    prob = core.step(image, mask)                  # frame 0: a mask (N×H×W), one row per object
    prob = core.step(image)                        # later frames: (1+N)×H×W, background first
    prob = core.step(image, mask3, valid_labels=[3])  # a new object 3 (after set_all_labels([1, 2, 3]))
    prob = core.step(image, end=True)              # last frame: nothing is memorised
    vote = core.last_vote                          # after step(..., want_vote=True); see vote.py

``image`` is a normalised 3×H×W float tensor (``preprocess.to_tensor``) or an H×W×3 uint8 RGB
array. Frames are padded to multiples of 16 and the output is cropped back. Everything runs
under ``torch.inference_mode`` on the network's device (CPU, CUDA or MPS); with
``config.half`` on CUDA under fp16 autocast. ``bf16_parts`` (a subset of :data:`BF16_PARTS`:
``key`` = the key encoder (ResNet-50 to stride 16), ``key_proj`` = the key projection (key,
shrinkage, selection), ``readout`` = the memory read-out with its top-k, ``decoder``, ``value`` =
the value encoder) run under bf16 autocast on the CPU or CUDA; each part's outputs are turned
back to float32 at its end, so memory, hidden state and the other parts stay fp32; inside a
part the residual blocks add in float32 (bf16 convolutions, float32 sums) and the decoder's
last convolution (to the logits) stays fp32 (per-part fidelity: the annotator's
bench/precision_bench.py). On the CPU the core asks the C library to keep
freed tensor memory for reuse (``allocator.py``; ``keep_freed_memory=False`` leaves it alone).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import allocator
from .config import XMemConfig
from .memory_manager import MemoryManager
from .network import XMem, aggregate
from .preprocess import pad, pad_amounts, to_tensor, unpad
from .vote import STRIDE, MemoryVote, build_vote

BF16_PARTS = ("key", "key_proj", "readout", "decoder", "value")


def _as_float(out: Any) -> Any:
    """A part's outputs back in float32 (tensors in tuples too; None and others untouched)."""
    if isinstance(out, torch.Tensor):
        return out.float() if out.dtype in (torch.bfloat16, torch.float16) else out
    if isinstance(out, tuple):
        return tuple(_as_float(o) for o in out)
    return out


class InferenceCore:
    def __init__(
        self,
        network: XMem,
        config: XMemConfig | dict[str, Any] | None = None,
        channels_last: bool | None = None,
        keep_freed_memory: bool | None = None,
        bf16_parts: Sequence[str] = (),
    ) -> None:
        self.network = network.eval()
        unknown = sorted(set(bf16_parts) - set(BF16_PARTS))
        if unknown:
            raise ValueError(f"unknown bf16 parts {unknown}: choose from {', '.join(BF16_PARTS)}")
        self.bf16_parts = frozenset(bf16_parts)
        cfg = XMemConfig.from_any(config)
        cfg.key_dim, cfg.value_dim, cfg.hidden_dim = network.key_dim, network.value_dim, network.hidden_dim
        cfg.validate()
        self.config = cfg
        self.device = next(network.parameters()).device
        # channels-last is faster for the convolutions on CPU and CUDA; same numbers up to rounding
        self.channels_last = self.device.type in ("cpu", "cuda") if channels_last is None else channels_last
        if self.channels_last:
            self.network.to(memory_format=torch.channels_last)
        # reuse freed tensor pages instead of faulting in fresh ones every frame (allocator.py)
        if keep_freed_memory is None:
            keep_freed_memory = self.device.type == "cpu"
        if keep_freed_memory:
            allocator.keep_freed_memory()
        self.all_labels: list[int] = []
        self.clear_memory()

    # ----------------------------------------------------------------- state
    def clear_memory(self) -> None:
        """Forget everything (memory, hidden state, frame counter); keeps config and labels."""
        cfg = self.config
        self.curr_ti = -1
        self.last_mem_ti = 0
        self.last_deep_update_ti = -cfg.deep_update_every
        self.memory = MemoryManager(cfg)
        self.memory.in_place = self.network.decoder.fast  # off only for the reference's order
        self.objects: list[int] = []  # objects with a hidden state / probability row
        self.size: tuple[int, int] | None = None
        self.last_vote: MemoryVote | None = None

    def release_memory(self) -> None:
        """Hand the process's freed tensor memory back to the system (when a run ends; the
        next frame faults its working set in again). Keeps what the core holds."""
        allocator.release_freed_memory()

    def set_all_labels(self, labels: Sequence[int]) -> None:
        """All object ids seen so far, in mask-row order; later calls may only append ids."""
        labels = [int(x) for x in labels]
        if len(set(labels)) != len(labels):
            raise ValueError(f"object ids must be unique, got {labels}")
        if labels[: len(self.objects)] != self.objects:
            raise ValueError(
                f"object ids {labels} must start with the objects already in memory {self.objects}"
            )
        self.all_labels = labels

    def update_config(self, config: XMemConfig | dict[str, Any]) -> None:
        """Change settings mid-video (e.g. mem_every, T_min/T_max, LT size, prototypes)."""
        changes = config if isinstance(config, dict) else {
            k: v for k, v in vars(config).items() if k not in ("key_dim", "value_dim", "hidden_dim")
        }
        cfg = self.config.updated(changes)
        if cfg.enable_long_term != self.config.enable_long_term and self.curr_ti >= 0:
            raise ValueError("enable_long_term cannot change mid-video; call clear_memory() first")
        was_sync = self.config.deep_update_every < 0
        self.config = cfg
        if was_sync and cfg.deep_update_every > 0:
            self.last_deep_update_ti = self.curr_ti - cfg.deep_update_every
        self.memory.update_config(cfg)

    # ----------------------------------------------------------------- step
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.half and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _part(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one part of the network, under bf16 autocast when it is in ``bf16_parts``."""
        if name not in self.bf16_parts or self.device.type not in ("cpu", "cuda"):
            return fn(*args, **kwargs)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return _as_float(fn(*args, **kwargs))

    def _as_image(self, image: torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(image, np.ndarray):
            image = to_tensor(image)
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"expected a 3×H×W normalised image tensor, got shape {tuple(image.shape)}")
        return image.to(self.device, torch.float32)

    def step(
        self,
        image: torch.Tensor | np.ndarray,
        mask: torch.Tensor | np.ndarray | None = None,
        valid_labels: Sequence[int] | None = None,
        end: bool = False,
        want_vote: bool = False,
    ) -> torch.Tensor:
        """One frame → probabilities ``(1+N)×H×W`` (float32, background first).

        ``mask``: ``N×H×W`` with one row per id of ``set_all_labels`` (soft or hard); rows of
        objects not in this annotation are zero. ``valid_labels``: the ids this mask defines
        (None: all). ``end``: last frame, nothing is memorised. ``want_vote``: keep the memory
        vote of this frame in ``last_vote`` (None on frames without a memory read).
        """
        with torch.inference_mode(), self._autocast():
            return self._step(image, mask, valid_labels, end, want_vote)

    def _step(self, image, mask, valid_labels, end, want_vote) -> torch.Tensor:  # noqa: ANN001
        cfg, net, mm = self.config, self.network, self.memory
        image = self._as_image(image)
        H, W = image.shape[-2:]
        if self.size is None:
            self.size = (H, W)
        elif self.size != (H, W):
            raise ValueError(f"frame size changed from {self.size} to {(H, W)}; call clear_memory() first")
        if mask is not None:
            mask = torch.as_tensor(mask).to(self.device, torch.float32)
            if mask.ndim == 2:
                mask = mask[None]
            if mask.shape != (len(self.all_labels), H, W):
                raise ValueError(
                    f"mask must be N×H×W = {(len(self.all_labels), H, W)} (one row per label of "
                    f"set_all_labels), got {tuple(mask.shape)}"
                )
        if mask is None and mm.work.size == 0:
            raise ValueError("the first frame stepped must carry a mask")

        self.curr_ti += 1
        amounts = pad_amounts(H, W)
        img = pad(image, amounts)[None]
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)

        sync = cfg.deep_update_every < 0
        is_mem_frame = (self.curr_ti - self.last_mem_ti >= cfg.mem_every or mask is not None) and not end
        need_segment = (
            self.curr_ti > 0
            and mm.work.size > 0
            and (valid_labels is None or len(self.all_labels) != len(valid_labels))
        )
        is_deep_update = (
            (sync and is_mem_frame)
            or (not sync and self.curr_ti - self.last_deep_update_ti >= cfg.deep_update_every)
        ) and not end
        is_normal_update = (not sync or not is_deep_update) and not end

        f16, f8, f4 = self._part("key", net.key_encoder, img)
        key, shrinkage, selection = self._part(
            "key_proj", net.key_proj, f16, is_mem_frame, cfg.enable_long_term or need_segment
        )

        prob = None
        self.last_vote = None
        if need_segment:
            readout, reads = self._part("readout", mm.match_memory, key, selection,
                                        keep_reads=want_vote)
            if self.channels_last:
                readout = readout.contiguous(memory_format=torch.channels_last)
            hidden, _, prob = self._part("decoder", net.segment, f16, f8, f4, readout, mm.hidden,
                                         h_out=is_normal_update,
                                         fp32_head="decoder" in self.bf16_parts)
            if is_normal_update and hidden is not None:
                mm.hidden = hidden
            if want_vote:
                self.last_vote = build_vote(reads, key.shape[-2], key.shape[-1], (H, W), amounts)

        if mask is not None:
            mask = pad(mask, amounts)
            if prob is not None:
                pred = prob[1:].clone()
                pred[:, mask.sum(0) > 0.5] = 0
                mask = mask.type_as(pred)
                if valid_labels is not None:
                    valid = {int(v) for v in valid_labels}
                    for i, obj in enumerate(mm.objects[: pred.shape[0]]):
                        if obj not in valid:
                            mask[i] = pred[i]
            prob = aggregate(mask)
            mm.create_hidden_state(len(self.all_labels), key)
            self.objects = list(self.all_labels)

        assert prob is not None
        if is_mem_frame:
            masks = prob[1:]
            value, hidden = self._part("value", net.encode_value, img, f16, mm.hidden, masks,
                                       is_deep_update)
            labels = F.avg_pool2d(masks[None].float(), STRIDE)[0]
            mm.add_memory(
                key, shrinkage, value, self.objects,  # type: ignore[arg-type]
                selection if cfg.enable_long_term else None, labels,
            )
            self.last_mem_ti = self.curr_ti
            if is_deep_update:
                mm.hidden = hidden
                self.last_deep_update_ti = self.curr_ti
        return unpad(prob, amounts).float()
