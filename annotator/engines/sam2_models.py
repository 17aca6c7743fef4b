"""SAM 2.1 model files: their registry entries, their configs and loading them safely.

The four published checkpoints (``sam2.1_hiera_tiny|small|base_plus|large.pt``, Meta's
``092824`` release) are rows of :data:`annotator.engines.models.REGISTRY` of kind ``sam2``, found
and downloaded like SAM's and XMem's. Their architectures are the configs that ship inside the
``sam2`` package (the optional extra ``[sam2]``: ``configs/sam2.1/sam2.1_hiera_t.yaml`` …); the
package's own builder (``sam2.build_sam.build_sam2_video_predictor``) makes the network and our
loader fills it from the file: safe unpickling (:func:`models.read_state_dict`), every key and
every shape checked against the config first, so a wrong or damaged file is one clear line.

Their sizes and SHA-256 (in the registry, with where they come from) are not published by
Meta; see :mod:`annotator.engines.models`.

The network built here is the package's ``SAM2VideoPredictor`` (a ``SAM2Base`` with the video
settings its builder adds: masks from clicks binarised for the memory, small holes filled): one
loaded model serves clicks (:mod:`annotator.engines.sam2_segmenter`) and propagation
(:mod:`annotator.engines.sam2_propagator`).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from annotator.engines import models

__all__ = ["BUILD_OVERRIDES", "SAM2_CONFIGS", "SAM2_NAMES", "SEGMENTERS", "build_sam2_model",
           "check_sam2_state_dict", "find_sam2", "installed", "load_sam2", "runs_bf16",
           "sam2_name_of"]

# registry name → the package's config (the architecture of that file)
SAM2_CONFIGS = {
    "sam2.1_hiera_tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}
SAM2_NAMES = tuple(SAM2_CONFIGS)  # smallest first
# what clicks can run on (``--segmenter``, the ``engines.segmenter`` setting)
SEGMENTERS = ("auto", "sam", "fallback", "sam2", *SAM2_NAMES)
# Hydra overrides of the package's config added to every build: none, the published configs
# as they are. The tests set ``++model.image_size=256`` (the same network and weights, fed
# 256² frames instead of 1024²: Hiera interpolates its position embedding, the memory
# attention recomputes its RoPE, the prompt encoder follows the model's size); both this app
# and the package's own predictor are then built with it (tests/engines/sam2/conftest.py).
BUILD_OVERRIDES: tuple[str, ...] = ()


def runs_bf16(device, precision: str | None) -> bool:
    """Whether SAM 2.1 runs under bf16 autocast: on CUDA when the precision is fp16 or bf16
    (SAM 2's own code runs it so there); on the CPU never — no fidelity gate has been measured
    for SAM 2 in bf16 (bench/precision_bench.py measures SAM and XMem), so it stays fp32."""
    kind = str(getattr(device, "type", device)).split(":")[0]
    return kind == "cuda" and precision in ("bf16", "fp16")


def installed() -> bool:
    """Whether the ``sam2`` package (the ``[sam2]`` extra) can be imported (found, not
    imported: importing it brings torch and hydra)."""
    return importlib.util.find_spec("sam2") is not None


def _require_package() -> None:
    if not installed():
        raise models.ModelFileError(
            "SAM 2.1 needs the sam2 package: pip install 'avs-annotator[sam2]' "
            "(it builds against the installed torch: SAM2_BUILD_CUDA=0 pip install "
            "--no-build-isolation sam2)")


def find_sam2(preferred: str | None = None) -> models.Resolution | None:
    """The SAM 2.1 file to use: ``preferred`` (a registry name) when given — a
    :class:`~annotator.engines.models.Resolution` even when missing, so the caller can say
    where it looked — else the largest one present; None when none is present."""
    if preferred:
        if preferred not in SAM2_CONFIGS:
            raise models.ModelFileError(
                f"unknown SAM 2.1 model {preferred!r}: use one of {', '.join(SAM2_NAMES)}")
        return models.locate(preferred)
    for name in reversed(SAM2_NAMES):
        try:
            r = models.locate(name)
        except Exception:  # noqa: BLE001 - a broken setting means "not present" here
            continue
        if r.exists:
            return r
    return None


def build_sam2_model(name: str, device: str = "cpu") -> Any:
    """The package's video model for ``name``'s config (with :data:`BUILD_OVERRIDES`), with
    the builder's random weights (the tests' and benches' stand-in for a published file)."""
    _require_package()
    from sam2.build_sam import build_sam2_video_predictor

    return build_sam2_video_predictor(SAM2_CONFIGS[name], None, device=str(device),
                                      hydra_overrides_extra=list(BUILD_OVERRIDES))


def sam2_name_of(sd: dict[str, Any]) -> str | None:
    """Which SAM 2.1 architecture a state dict has, from the Hiera trunk's width and block
    count (None: not a SAM 2 state dict)."""
    w = sd.get("image_encoder.trunk.patch_embed.proj.weight")
    if w is None or "memory_attention.layers.0.self_attn.q_proj.weight" not in sd:
        return None
    blocks = {k.split(".")[3] for k in sd if k.startswith("image_encoder.trunk.blocks.")}
    return {(96, 12): "sam2.1_hiera_tiny", (96, 16): "sam2.1_hiera_small",
            (112, 24): "sam2.1_hiera_base_plus", (144, 48): "sam2.1_hiera_large"}.get(
        (int(w.shape[0]), len(blocks)), f"unknown SAM 2 variant (width {int(w.shape[0])}, "
                                         f"{len(blocks)} blocks)")


def check_sam2_state_dict(path: Path, sd: dict[str, Any], expected: str | None,
                          model: Any = None) -> str:
    """The file's SAM 2.1 architecture, its keys and shapes checked against that config;
    ``ModelFileError`` (one line naming the file and what to do) otherwise."""
    found = sam2_name_of(sd)
    fix = f"delete it and run `annotator models download {expected or 'sam2.1_hiera_tiny'}`"
    if found is None:
        raise models.ModelFileError(
            f"{path} is not a SAM 2 checkpoint (it looks like: {models.describe_state_dict(sd)});"
            f" choose a sam2.1_hiera_*.pt file, or {fix}")
    if found not in SAM2_CONFIGS:
        raise models.ModelFileError(f"{path} is an {found}, which this app cannot load")
    if expected and expected != found:
        raise models.ModelFileError(
            f"{path} is a {found} checkpoint, but it was chosen as {expected}: choose it as "
            f"{found}, or get {expected} (`annotator models download {expected}`)")
    want = (model if model is not None else build_sam2_model(found)).state_dict()
    missing = sorted(set(want) - set(sd))
    extra = sorted(set(sd) - set(want))
    wrong = [k for k in want if k in sd and tuple(sd[k].shape) != tuple(want[k].shape)]
    if missing or extra or wrong:
        what = (f"{len(missing)} missing (first {missing[0]})" if missing else
                f"{len(extra)} unexpected (first {extra[0]})" if extra else
                f"{len(wrong)} of the wrong shape (first {wrong[0]}: "
                f"{tuple(sd[wrong[0]].shape)} instead of {tuple(want[wrong[0]].shape)})")
        raise models.ModelFileError(
            f"{path} does not fit {found} ({SAM2_CONFIGS[found]}): {what} tensors; the file is "
            f"damaged or not an official SAM 2.1 checkpoint: {fix}")
    return found


def load_sam2(path: str | os.PathLike[str], name: str | None = None,
              device: Any = "cpu") -> tuple[Any, str]:
    """Build SAM 2.1 from a checkpoint file as a user's file is loaded: safe unpickling, the
    architecture found from the weights (an error naming both when ``name`` differs), every key
    and shape checked against the package's config, strict loading. Returns (model, name)."""
    _require_package()
    p = Path(path)
    sd = models.read_state_dict(p)
    found = sam2_name_of(sd)
    model = build_sam2_model(found) if found in SAM2_CONFIGS else None
    found = check_sam2_state_dict(p, sd, name, model)
    model.load_state_dict(sd, strict=True)
    del sd
    return model.to(device).eval(), found
