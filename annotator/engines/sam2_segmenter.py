"""SAM 2.1 point-prompt segmenter over the ``sam2`` package's ``SAM2ImagePredictor``.

The same shape as :class:`annotator.engines.sam.SamSegmenter`: ``embed(frame)`` finds the
frame's embedding in the cache (memory, then disk) or runs the image encoder once and caches it;
``predict(...)`` then costs only the prompt encoder and the mask decoder. SAM 2's embedding is
three maps (at the published 1024² input: ``1×256×64×64`` and the two high-resolution levels
the decoder reads, ``1×32×256×256`` and ``1×64×128×128``; their sides follow the model's
``image_size``): the cache holds them flattened into one float16 row (8 MiB a frame), rounded
through float16 whether just computed or read back, so a mask is the same either way.

The predictor's own state (``_features``, ``_orig_hw``) is where an embedding is made current;
background work (``precompute``) uses a second predictor over the same weights, so it never
changes the frame a person is clicking on. Unlike SAM's ViT, Hiera's encoder has no pause
between blocks here: a background embedding runs to its end (a fraction of SAM ViT-B's time,
see docs/benchmarks.md) and is cancelled between frames.

One loaded model (the registry's, :mod:`annotator.engines.registry`) serves every caller
through :meth:`Sam2Segmenter.share`, and the SAM 2.1 propagator too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import numpy as np
import torch

from annotator.engines.checks import check_frame
from annotator.engines.devices import DeviceChoice, choose_device
from annotator.engines.embedding_cache import Embedding, EmbeddingCache
from annotator.engines.segmenter import SegmentResult, check_prompts, frame_key
from annotator.errors import Cancelled

__all__ = ["Sam2Segmenter"]

_LEVELS = ((256, 16), (32, 4), (64, 8))  # (channels, stride): image_embed, high_res 0, 1


def _levels(image_size: int) -> list[tuple[int, int]]:
    """(channels, side) of the embedding's maps for a model fed ``image_size``² frames."""
    return [(c, image_size // stride) for c, stride in _LEVELS]


class Sam2Segmenter:
    """The ``Segmenter`` for SAM 2.1 (see the module docstring)."""

    is_fallback = False
    source = "sam"  # what the store calls a mask clicked through a SAM

    def __init__(self, model, arch: str, model_id: str, device: DeviceChoice | None = None,
                 cache: EmbeddingCache | None = None, checkpoint=None,
                 _lock: threading.Lock | None = None) -> None:
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        self.device_choice = device or choose_device("cpu")
        self.model = model if _lock is not None else model.to(self.device_choice.device).eval()
        self.arch = arch
        self.model_id = model_id
        self.checkpoint = checkpoint
        self.cache = cache if cache is not None else EmbeddingCache(None)
        self.predictor = SAM2ImagePredictor(self.model)
        self._background = SAM2ImagePredictor(self.model)
        size = int(self.model.image_size)
        for p in (self.predictor, self._background):  # the package assumes 1024² there
            p._bb_feat_sizes = [(size // s, size // s) for s in (4, 8, 16)]
        self._lock = _lock or threading.Lock()  # one interactive call at a time
        self.current_key: str | None = None
        self.last_source: str | None = None
        from annotator.engines.sam2_models import runs_bf16

        self.bf16 = runs_bf16(self.device_choice.device, self.device_choice.precision)
        self.name = f"SAM 2.1 {arch.removeprefix('sam2.1_')} ({self.device}, {self.precision})"

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    @property
    def device(self) -> torch.device:
        """The device the model's weights really are on (asked of the model)."""
        return next(self.model.parameters()).device

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def share(self, cache: EmbeddingCache | None = None) -> Sam2Segmenter:
        """Another user of the same loaded model: its own current frame and cache."""
        return Sam2Segmenter(self.model, self.arch, self.model_id, self.device_choice,
                             self.cache if cache is None else cache, self.checkpoint,
                             _lock=self._lock)

    @contextlib.contextmanager
    def holding_memory(self) -> Iterator[None]:
        """For the pipeline's jobs, as SAM's: nothing to keep here."""
        yield

    # -- embeddings ----------------------------------------------------------------------------
    @torch.inference_mode()
    def compute_embedding(self, frame: np.ndarray, predictor=None) -> Embedding:
        """Run the image encoder on an ``H×W×3`` uint8 RGB frame (the expensive part)."""
        check_frame(frame)
        p = predictor or self._background
        with self._autocast():
            p.set_image(frame)
        f = p._features
        parts = [f["image_embed"], *f["high_res_feats"]]
        flat = torch.cat([x.float().reshape(-1) for x in parts]).cpu().numpy()
        p.reset_predictor()
        size = int(self.model.image_size)
        return Embedding(flat.astype(np.float16)[None], (int(frame.shape[0]),
                                                         int(frame.shape[1])), (size, size))

    def set_embedding(self, emb: Embedding, key: str | None = None) -> None:
        """Make a (cached) embedding current without running the encoder."""
        flat = torch.as_tensor(np.asarray(emb.features, np.float32).reshape(-1))
        maps, at = [], 0
        for c, side in _levels(int(self.model.image_size)):
            n = c * side * side
            maps.append(flat[at:at + n].reshape(1, c, side, side).to(self.device))
            at += n
        if at != flat.numel():
            raise ValueError("this embedding is not a SAM 2.1 embedding")
        p = self.predictor
        p.reset_predictor()
        p._features = {"image_embed": maps[0], "high_res_feats": maps[1:]}
        p._orig_hw = [tuple(emb.original_size)]
        p._is_image_set = True
        self.current_key = key

    def embed(self, frame: np.ndarray, key: str | None = None) -> str:
        check_frame(frame)
        fk = frame_key(frame)
        with self._lock:
            hit = self.cache.get(self.model_id, fk)
            if hit is not None:
                emb, source = hit
            else:
                emb, source = self.compute_embedding(frame, self.predictor), "computed"
                self.cache.put(self.model_id, fk, emb)
            self.set_embedding(emb, fk)
        self.last_source = source
        return source

    def precompute(self, frame: np.ndarray, key: str | None = None,
                   should_stop: Callable[[], bool] | None = None) -> bool:
        """Compute and cache ``frame``'s embedding on the calling thread (a second predictor:
        the current frame is untouched). False when it was cached already; ``Cancelled`` when
        ``should_stop()`` is true before it starts."""
        check_frame(frame)
        fk = frame_key(frame)
        if self.cache.contains(self.model_id, fk):
            return False
        if should_stop is not None and should_stop():
            raise Cancelled()
        emb = self.compute_embedding(frame)
        self.cache.put(self.model_id, fk, emb, memory=self.cache.directory is None)
        return True

    # -- prompts ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, points: np.ndarray | None, labels: np.ndarray | None,
                box: np.ndarray | None = None, mask_logits: np.ndarray | None = None,
                multimask: bool = True) -> SegmentResult:
        if not self.predictor._is_image_set:
            raise RuntimeError("call embed(frame) before predict")
        points, labels, box = check_prompts(points, labels, box)
        mask_input = None
        if mask_logits is not None:
            side = int(self.model.image_size) // 4
            mask_input = np.asarray(mask_logits, np.float32).reshape(-1, side, side)[:1]
        with self._lock, self._autocast():
            masks, scores, low = self.predictor.predict(
                point_coords=points, point_labels=labels, box=box, mask_input=mask_input,
                multimask_output=multimask)
        return SegmentResult(masks=np.asarray(masks) > 0.5,
                             scores=np.asarray(scores, np.float32),
                             low_res_logits=np.asarray(low, np.float32), engine=self.name)
