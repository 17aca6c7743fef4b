"""SAM point-prompt segmenter over the ``segment-anything`` package (vit_b, vit_l, vit_h).

``embed(frame)`` finds the frame's image embedding in the cache (memory, then disk) or runs the
image encoder once and caches it; ``predict(...)`` then costs only the prompt encoder and the
mask decoder. Embeddings are always rounded through float16 (the on-disk format), so a mask is
the same whether its embedding was just computed, kept in memory or read back from disk.

Background work (``precompute``) yields to the person clicking: the image encoder checks a
hook between its blocks, and pauses while an interactive ``embed`` or ``predict`` runs, or stops
when its caller cancels it.

One loaded model serves every user of a process (:mod:`annotator.engines.registry`):
:meth:`SamSegmenter.share` gives another caller (the refiner of a propagation, a second
project) its own current frame and cache over the same weights and the same foreground /
background coordination. Process-wide settings (torch threads, the C allocator) are not touched
here: the process sets them at start-up (:func:`annotator.engines.registry.start`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from segment_anything import SamPredictor, sam_model_registry
from segment_anything.modeling import Sam
from xmem import allocator

from annotator.engines import models
from annotator.engines.checks import check_frame
from annotator.engines.devices import SAM_BF16_PARTS, DeviceChoice, choose_device
from annotator.engines.embedding_cache import Embedding, EmbeddingCache
from annotator.engines.segmenter import SegmentResult, check_prompts, frame_key
from annotator.errors import Cancelled


def load_sam(
    path: str | os.PathLike[str],
    arch: str | None = None,
    device: torch.device | str = "cpu",
) -> tuple[Sam, str]:
    """Build SAM from a checkpoint file exactly as a user's file is loaded: safe unpickling,
    architecture detected from the weights' shapes (an error naming both when ``arch`` is given
    and differs), strict key matching."""
    p = Path(path)
    if arch is not None and arch not in models.SAM_FOR_ARCH:
        raise models.ModelFileError(
            f"unknown SAM architecture {arch!r}: use one of {', '.join(models.SAM_FOR_ARCH)}"
        )
    sd = models.read_state_dict(p)
    found = models.check_sam_arch(p, sd, arch)
    model = sam_model_registry[found]()
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0][:200]
        raise models.ModelFileError(
            f"{p} does not fit SAM {found} ({first}): it is not an official SAM checkpoint"
        ) from exc
    del sd
    model.eval()
    return model.to(device), found


class _Coordination:
    """What the users of one loaded SAM share: who is clicking, who holds the kept memory."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.tls = threading.local()
        self.interactive = 0
        self.holds = 0


class SamSegmenter:
    """The ``Segmenter`` for SAM. Build it with ``from_checkpoint`` (or from a loaded model)."""

    is_fallback = False
    source = "sam"  # what the store calls a mask clicked through it

    def __init__(
        self,
        model: Sam,
        arch: str,
        model_id: str,
        device: DeviceChoice | None = None,
        cache: EmbeddingCache | None = None,
        checkpoint: Path | None = None,
        _shared: _Coordination | None = None,
    ) -> None:
        self.device_choice = device or choose_device("cpu")
        self.arch = arch
        self.model_id = model_id
        self.checkpoint = checkpoint
        self.cache = cache if cache is not None else EmbeddingCache(None)
        self.model = model if _shared is not None else model.to(self.device_choice.device).eval()
        # On the CPU the encoder's freed activations (up to 800 MB each) are kept for reuse
        # while embeddings follow one another, and handed back when a run of them ends
        # (``holding_memory``), where the process switched the allocator at start-up: see
        # xmem.allocator and the README's SAM figures.
        self._keeps = self.device_choice.device.type == "cpu" and allocator.keeping()
        if self.device_choice.half and _shared is None:
            self.model.image_encoder.half()
        self.predictor = SamPredictor(self.model)
        self.current_key: str | None = None
        self.last_source: str | None = None
        self._shared = _shared or _Coordination()
        self._cond = self._shared.cond
        self._tls = self._shared.tls
        if _shared is None:
            for block in self.model.image_encoder.blocks:
                for part in (block.attn, block.mlp):
                    part.register_forward_pre_hook(self._block_hook)
        self.bf16_parts = SAM_BF16_PARTS if self.device_choice.bf16 else ()
        self.name = f"SAM {arch} ({self.device}, {self.precision})"  # where the weights are

    @property
    def precision(self) -> str:
        """What the model really runs in: ``fp32``, ``fp16 encoder`` or ``bf16 encoder``."""
        if self.device_choice.half:
            return "fp16 encoder"
        if self.bf16_parts:
            return "bf16 " + "+".join(p.replace("image_", "") for p in self.bf16_parts)
        return "fp32"

    def _autocast(self, part: str) -> contextlib.AbstractContextManager:
        if part in self.bf16_parts:
            return torch.autocast(self.device_choice.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str] | None = None,
        arch: str | None = None,
        device: str | None = None,
        half: bool | str | None = None,
        precision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: EmbeddingCache | None = None,
        memory_items: int = 16,
    ) -> SamSegmenter:
        """Load a SAM checkpoint: ``path`` if given, else the registry's file for ``arch``
        (look-up order of ``models.resolve``), else the best SAM file present."""
        if path is None:
            if arch is not None:
                path = models.resolve(models.SAM_FOR_ARCH.get(arch, arch))
            else:
                found = models.find_sam()
                if found is None:
                    models.resolve("sam_vit_b")  # raises, saying where it looked
                    raise AssertionError("unreachable")
                path = found.path
        choice = choose_device(device, half=half, precision=precision)
        model, found_arch = load_sam(path, arch, "cpu")
        model_id = models.file_identity(path)
        if cache is None:
            cache = EmbeddingCache(cache_dir, memory_items=memory_items)
        return cls(model, found_arch, model_id, choice, cache, Path(path))

    def share(self, cache: EmbeddingCache | None = None) -> SamSegmenter:
        """Another user of the same loaded model (no second copy of the weights): its own
        current frame and embedding cache (``cache``; None: this one's), the same device and
        the same yielding of background work to interactive calls."""
        return SamSegmenter(self.model, self.arch, self.model_id, self.device_choice,
                            self.cache if cache is None else cache, self.checkpoint,
                            _shared=self._shared)

    @property
    def device(self) -> torch.device:
        """The device the model's weights really are on (asked of the model)."""
        return next(self.model.parameters()).device

    # -- embeddings ----------------------------------------------------------------------------
    @torch.no_grad()
    def compute_embedding(self, frame: np.ndarray) -> Embedding:
        """Run the image encoder on an ``H×W×3`` uint8 RGB frame (the expensive part)."""
        check_frame(frame)
        image = self.predictor.transform.apply_image(frame)
        x = torch.as_tensor(image, device=self.device_choice.device)
        x = x.permute(2, 0, 1).contiguous()[None]
        input_size = (int(x.shape[-2]), int(x.shape[-1]))
        x = self.model.preprocess(x.float())
        if self.device_choice.half:
            x = x.half()
        with self._autocast("image_encoder"):
            feats = self.model.image_encoder(x)
        arr = feats.float().cpu().numpy().astype(np.float16)
        return Embedding(arr, (int(frame.shape[0]), int(frame.shape[1])), input_size)

    def set_embedding(self, emb: Embedding, key: str | None = None) -> None:
        """Make a (cached) embedding current without running the encoder."""
        p = self.predictor
        p.reset_image()
        p.features = torch.as_tensor(emb.features, device=self.device_choice.device).float()
        p.original_size = tuple(emb.original_size)
        p.input_size = tuple(emb.input_size)
        p.is_image_set = True
        self.current_key = key

    def embed(self, frame: np.ndarray, key: str | None = None) -> str:
        """Make ``frame`` current: from memory, from disk, or computed (then cached).
        ``key`` is accepted for callers with their own frame ids; the cache always keys by the
        frame's content."""
        check_frame(frame)
        fk = frame_key(frame)
        with self._foreground():
            hit = self.cache.get(self.model_id, fk)
            if hit is not None:
                emb, source = hit
            else:
                emb, source = self.compute_embedding(frame), "computed"
                self.cache.put(self.model_id, fk, emb)
                self._release_unless_held()
            self.set_embedding(emb, fk)
        self.last_source = source
        return source

    def precompute(
        self,
        frame: np.ndarray,
        key: str | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Compute and cache ``frame``'s embedding (disk, not the memory LRU) on the calling
        thread, yielding to interactive calls. False when it was cached already.
        Raises :class:`annotator.errors.Cancelled` when ``should_stop()`` turns true mid-way."""
        check_frame(frame)
        fk = frame_key(frame)
        if self.cache.contains(self.model_id, fk):
            return False
        self._tls.should_stop = should_stop
        self._tls.background = True
        try:
            self._wait_for_foreground(should_stop)
            emb = self.compute_embedding(frame)
        finally:
            self._tls.background = False
            self._tls.should_stop = None
            self._release_unless_held()
        self.cache.put(self.model_id, fk, emb, memory=self.cache.directory is None)
        return True

    # -- memory between embeddings ---------------------------------------------------------------
    @contextlib.contextmanager
    def holding_memory(self) -> Iterator[None]:
        """Keep the encoder's freed memory for the next embedding until the block ends (a job
        or a queue embedding frame after frame), then hand it back to the system. Outside such
        a block every computed embedding hands it back at once: an idle app stays small."""
        with self._cond:
            self._shared.holds += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared.holds -= 1
            self._release_unless_held()

    def _release_unless_held(self) -> None:
        if self._keeps and not self._shared.holds:
            allocator.release_freed_memory()

    # -- prompts ---------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(
        self,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None = None,
        mask_logits: np.ndarray | None = None,
        multimask: bool = True,
    ) -> SegmentResult:
        if not self.predictor.is_image_set:
            raise RuntimeError("call embed(frame) before predict")
        points, labels, box = check_prompts(points, labels, box)
        mask_input = None
        if mask_logits is not None:
            mask_input = np.asarray(mask_logits, np.float32).reshape(-1, 256, 256)[:1]
        with self._foreground():  # the mask decoder stays fp32 (SAM_BF16_PARTS)
            masks, scores, low = self.predictor.predict(
                point_coords=points,
                point_labels=labels,
                box=box,
                mask_input=mask_input,
                multimask_output=multimask,
            )
        return SegmentResult(
            masks=masks.astype(bool),
            scores=scores.astype(np.float32),
            low_res_logits=low.astype(np.float32),
            engine=self.name,
        )

    # -- foreground / background coordination ----------------------------------------------------
    @contextlib.contextmanager
    def _foreground(self) -> Iterator[None]:
        with self._cond:
            self._shared.interactive += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared.interactive -= 1
                self._cond.notify_all()

    def _wait_for_foreground(self, should_stop: Callable[[], bool] | None) -> None:
        with self._cond:
            while self._shared.interactive > 0:
                if should_stop is not None and should_stop():
                    raise Cancelled()
                self._cond.wait(timeout=0.05)
        if should_stop is not None and should_stop():
            raise Cancelled()

    def _block_hook(self, module: torch.nn.Module, args: object) -> None:
        if getattr(self._tls, "background", False):
            self._wait_for_foreground(getattr(self._tls, "should_stop", None))
