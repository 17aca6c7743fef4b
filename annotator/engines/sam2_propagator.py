"""The SAM 2.1 propagator: the ``sam2`` package's video model behind the Propagator protocol,
streamed frame by frame in flat memory.

The package's ``SAM2VideoPredictor.init_state`` loads every frame of the video up front
(1024×1024 float32: 12 MB a frame, 36 GB for 3,000 frames) and keeps every frame's output for
the whole session. This engine drives the same model's own building blocks instead —
``forward_image``, ``track_step`` and ``_encode_new_memory`` of ``SAM2Base`` — with a small
state of its own, as the predictor does for one object at a time:

* frames come from our decoder one step at a time (``step(frame)``), are resized and normalised
  as the predictor's frame loader does (PIL resize to the model's square, ImageNet mean and
  std), encoded once and shared by all objects, then dropped;
* an anchor (``given``) is a mask prompt on a conditioning frame: resized to the model's square
  and binarised as ``add_new_mask`` does, turned into the output directly
  (``use_mask_input_as_output_without_sam``) and memorised from its low-resolution logits, as
  ``propagate_in_video_preflight`` does; a given mask is returned unchanged (never overwritten);
* every other frame is a ``track_step`` over the object's memory: its conditioning frames and
  its last ``num_maskmem - 1`` frames (spatial memory, kept in bfloat16 like the predictor's),
  plus the object pointers of its last ``max_obj_ptrs_in_encoder - 1`` frames. Anything older is
  released after each step, so what the engine holds does not grow with the run
  (:meth:`memory_bytes`);
* objects are tracked independently (as the package's predictor does since its December 2024
  release), so an object may join on any frame; the output masks are made exclusive by
  :func:`~annotator.engines.propagator.exclusive_masks` and anchors win their pixels.

Backward propagation is the caller's (frames fed in reverse): the engine's own frame counter
always runs forward, which is what the predictor computes with ``reverse=True`` (its temporal
encodings depend only on the distance between frames). ``num_frames`` — the run's length when
known (the constructor's, or :meth:`set_run_length`, which the pipeline's job calls after each
reset) — caps the object pointers at ``min(num_frames, 16)`` and scales their temporal encoding
by it, as the predictor does for a video of that length; None: a long run (16). It matters for
runs shorter than 16 frames only, and travels in the checkpoint's state.

Precision: :func:`annotator.engines.sam2_models.runs_bf16` (bf16 autocast on CUDA, as SAM 2's
own code runs it; fp32 on the CPU).
State for checkpoints (:meth:`get_state`) is plain tensors and numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from annotator.engines.checks import check_frame
from annotator.engines.propagator import (
    PropagationResult,
    check_given,
    exclusive_masks,
    resolve_active,
)

__all__ = ["Sam2Propagator"]

_MEAN = (0.485, 0.456, 0.406)  # the predictor's frame loader's (sam2.utils.misc)
_STD = (0.229, 0.224, 0.225)


class _Track:
    """One object's memory: conditioning frames (its anchors) and its recent frames."""

    def __init__(self) -> None:
        self.cond: dict[int, dict] = {}
        self.recent: dict[int, dict] = {}

    def output_dict(self) -> dict:
        return {"cond_frame_outputs": self.cond, "non_cond_frame_outputs": self.recent}


class Sam2Propagator:
    """SAM 2.1 behind the Propagator protocol (see the module docstring)."""

    kind = "sam2"

    def __init__(self, model: Any = None, *, checkpoint: Any = None, arch: str | None = None,
                 device: Any = None, precision: str | None = None,
                 num_frames: int | None = None) -> None:
        if model is None:  # a model of its own (the registry hands in the process's)
            from annotator.engines import sam2_models

            path = checkpoint or sam2_models.find_sam2()
            if path is None:
                raise RuntimeError("no SAM 2.1 model file: install one (annotator models) or "
                                   "pass checkpoint=")
            if device is None:
                from annotator.engines.devices import choose_device

                device = choose_device().device
            model, arch = sam2_models.load_sam2(getattr(path, "path", path), device=device)
        self.model = model
        self.arch = arch or "hiera"
        self.num_frames = num_frames
        from annotator.engines.sam2_models import runs_bf16

        self.bf16 = runs_bf16(self.device, precision)
        self.name = f"SAM 2.1 {self.arch.removeprefix('sam2.1_')} ({self.device}, " \
                    f"{self.precision})"
        self._pos_enc: list[torch.Tensor] | None = None  # the same for every frame
        self.reset()

    @property
    def device(self) -> torch.device:
        """The device the model's weights are on (asked of the model)."""
        return next(self.model.parameters()).device

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- protocol --------------------------------------------------------------------------
    def set_run_length(self, num_frames: int | None) -> None:
        """The number of frames the run after the last ``reset()`` steps through (None: not
        known, a long run)."""
        self.num_frames = None if num_frames is None else max(1, int(num_frames))

    def reset(self) -> None:
        self._tracks: dict[int, _Track] = {}
        self._t = -1
        self._shape: tuple[int, int] | None = None

    def memory_bytes(self) -> int:
        seen: set[int] = set()
        total = 0
        for tr in self._tracks.values():
            for out in [*tr.cond.values(), *tr.recent.values()]:
                for v in (out["maskmem_features"], out["obj_ptr"], *(out["maskmem_pos_enc"] or ())):
                    if v is not None and id(v) not in seen:
                        seen.add(id(v))
                        total += v.numel() * v.element_size()
        return total

    @torch.inference_mode()
    def step(self, frame: np.ndarray, given: Mapping[int, np.ndarray] | None = None,
             active: Collection[int] | None = None) -> PropagationResult:
        frame = check_frame(frame, self._shape)
        shape = frame.shape[:2]
        self._shape = shape
        anchors = check_given(given, shape)
        ids = resolve_active(self._tracks, anchors, active)
        for o in [o for o in self._tracks if o not in ids]:
            del self._tracks[o]  # left out: forgotten
        self._t += 1
        with self._autocast():
            feats = self._features(frame)
            logits = {}
            for o in ids:
                tr = self._tracks.setdefault(o, _Track())
                if o in anchors:
                    logits[o] = self._condition(tr, anchors[o], feats)
                else:
                    logits[o] = self._track(tr, feats)
                self._release(tr)
        probs, masks = {}, {}
        for o, lo in logits.items():
            full = F.interpolate(lo.float(), size=shape, mode="bilinear", align_corners=False)
            probs[o] = torch.sigmoid(full[0, 0]).cpu().numpy()
        masks = exclusive_masks(probs)
        taken = np.zeros(shape, bool)
        for m in anchors.values():
            taken |= m
        confidence = {}
        for o in ids:
            if o in anchors:
                masks[o], confidence[o] = anchors[o], 1.0
                continue
            masks[o] = masks[o] & ~taken
            inside = probs[o][masks[o]]
            confidence[o] = float(np.clip(np.mean(2 * inside - 1), 0, 1)) if inside.size else 0.0
        return PropagationResult(masks={o: masks[o] for o in ids}, probs=probs,
                                 confidence=confidence)

    # -- the model's building blocks -------------------------------------------------------
    def _features(self, frame: np.ndarray) -> tuple:
        """The frame's image features, as the predictor's ``_get_image_feature`` gives them."""
        from PIL import Image

        size = int(self.model.image_size)
        arr = np.array(Image.fromarray(frame).convert("RGB").resize((size, size)))
        img = torch.from_numpy(arr / 255.0).permute(2, 0, 1).float()
        img -= torch.tensor(_MEAN, dtype=torch.float32)[:, None, None]
        img /= torch.tensor(_STD, dtype=torch.float32)[:, None, None]
        backbone = self.model.forward_image(img.to(self.device)[None])
        _, vision, pos, sizes = self.model._prepare_backbone_features(backbone)
        return vision, pos, sizes

    def _run(self, tr: _Track, feats: tuple, mask: torch.Tensor | None) -> dict:
        vision, pos, sizes = feats
        return self.model.track_step(
            frame_idx=self._t, is_init_cond_frame=not tr.cond, current_vision_feats=vision,
            current_vision_pos_embeds=pos, feat_sizes=sizes, point_inputs=None,
            mask_inputs=mask, output_dict=tr.output_dict(),
            num_frames=self.num_frames or 1 << 30, track_in_reverse=False,
            run_mem_encoder=mask is None)

    def _condition(self, tr: _Track, anchor: np.ndarray, feats: tuple) -> torch.Tensor:
        """An anchor: a mask prompt on a conditioning frame (``add_new_mask``, then the
        memory the predictor encodes for it before propagating)."""
        size = int(self.model.image_size)
        m = torch.from_numpy(anchor)[None, None].float().to(self.device)
        if tuple(m.shape[-2:]) != (size, size):
            m = F.interpolate(m, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=True)
            m = (m >= 0.5).float()
        out = self._run(tr, feats, m)
        low = self._filled(out["pred_masks"])
        high = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
        vision, _, sizes = feats
        mem, pos = self.model._encode_new_memory(
            current_vision_feats=vision, feat_sizes=sizes, pred_masks_high_res=high,
            object_score_logits=out["object_score_logits"], is_mask_from_pts=True)
        tr.recent.pop(self._t, None)
        tr.cond[self._t] = self._compact(mem, pos, out["obj_ptr"])
        return low

    def _track(self, tr: _Track, feats: tuple) -> torch.Tensor:
        out = self._run(tr, feats, None)
        tr.recent[self._t] = self._compact(out["maskmem_features"], out["maskmem_pos_enc"],
                                           out["obj_ptr"])
        return self._filled(out["pred_masks"])

    def _filled(self, low: torch.Tensor) -> torch.Tensor:
        """Small holes filled as the predictor does (its kernel is CUDA's: elsewhere the
        package skips this step too)."""
        area = int(getattr(self.model, "fill_hole_area", 0))
        if area > 0 and low.is_cuda:
            from sam2.utils.misc import fill_holes_in_mask_scores

            return fill_holes_in_mask_scores(low, area)
        return low

    def _compact(self, mem: torch.Tensor, pos: list[torch.Tensor], ptr: torch.Tensor) -> dict:
        if self._pos_enc is None:
            self._pos_enc = [p[0:1].clone() for p in pos]
        return {"maskmem_features": mem.to(torch.bfloat16), "maskmem_pos_enc": self._pos_enc,
                "obj_ptr": ptr}

    def _release(self, tr: _Track) -> None:
        """Drop what the next step cannot read: spatial memory older than the memory bank's
        window, object pointers older than the pointer window."""
        stride = max(1, int(getattr(self.model, "memory_temporal_stride_for_eval", 1)))
        mem_window = (int(self.model.num_maskmem) - 1) * stride + 1
        ptr_window = int(self.model.max_obj_ptrs_in_encoder)
        for t in list(tr.recent):
            age = self._t - t
            if age >= max(mem_window, ptr_window):
                del tr.recent[t]
            elif age >= mem_window and tr.recent[t]["maskmem_features"] is not None:
                tr.recent[t] = {**tr.recent[t], "maskmem_features": None}

    # -- checkpoints -------------------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything the next step depends on, as plain data (tensors — bfloat16 ones as
        their int16 bit patterns —, numbers, lists)."""
        def pack(out: dict) -> list:
            return [_plain(out["maskmem_features"]), _plain(out["obj_ptr"])]

        tracks = [[o, [[t, *pack(v)] for t, v in tr.cond.items()],
                   [[t, *pack(v)] for t, v in tr.recent.items()]]
                  for o, tr in self._tracks.items()]
        return {"engine": "sam2", "version": 1, "arch": self.arch, "t": self._t,
                "num_frames": self.num_frames,
                "shape": None if self._shape is None else list(self._shape),
                "pos_enc": None if self._pos_enc is None else
                [_plain(p) for p in self._pos_enc],
                "tracks": tracks}

    def set_state(self, state: dict) -> None:
        """Continue from a :meth:`get_state` of the same model (ValueError otherwise, and the
        engine is left as it was)."""
        if not isinstance(state, dict) or state.get("engine") != "sam2" \
                or state.get("version") != 1:
            raise ValueError("not a state of the SAM 2.1 propagator (version 1)")
        if state.get("arch") != self.arch:
            raise ValueError(f"the SAM 2.1 state was saved with {state.get('arch')}, "
                             f"this engine runs {self.arch}")
        dev = self.device
        pos = None if state["pos_enc"] is None else [_tensor(p, dev) for p in state["pos_enc"]]

        def unpack(mem, ptr) -> dict:
            return {"maskmem_features": _tensor(mem, dev), "maskmem_pos_enc": pos,
                    "obj_ptr": _tensor(ptr, dev)}

        tracks = {}
        for o, cond, recent in state["tracks"]:
            tr = _Track()
            tr.cond = {int(t): unpack(m, p) for t, m, p in cond}
            tr.recent = {int(t): unpack(m, p) for t, m, p in recent}
            tracks[int(o)] = tr
        self._tracks, self._t, self._pos_enc = tracks, int(state["t"]), pos
        self.set_run_length(state.get("num_frames"))
        shape = state["shape"]
        self._shape = None if shape is None else (int(shape[0]), int(shape[1]))


def _plain(t: torch.Tensor | None) -> list | None:
    """A tensor as ``[dtype name, CPU tensor]`` that a checkpoint can hold (bfloat16 has no
    NumPy type: its bits travel as int16)."""
    if t is None:
        return None
    name = str(t.dtype).removeprefix("torch.")
    t = t.detach().cpu().clone()
    return [name, t.view(torch.int16) if t.dtype == torch.bfloat16 else t]


def _tensor(x: list | None, device: torch.device) -> torch.Tensor | None:
    if x is None:
        return None
    name, t = x
    t = torch.as_tensor(t)
    t = t.view(torch.bfloat16) if name == "bfloat16" else t.to(getattr(torch, name))
    return t.to(device)
