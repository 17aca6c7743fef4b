"""Which engines the window uses, and how they are named in the status bar.

SAM and XMem when their model files are present (``annotator.engines.models``), otherwise the
weight-free fallbacks, so the window always opens and works; the status bar says which.
"""

from __future__ import annotations

import logging
from typing import Any

from annotator.gui.settings import app_settings

log = logging.getLogger(__name__)


def make_segmenter(project: Any = None, on_error: Any = None) -> Any:
    """SAM from the best checkpoint present, else the weight-free fallback; the preference
    may force the fallback. A present but broken checkpoint is reported through ``on_error``
    (the window offers the Models dialog) and the fallback is used meanwhile, so the window
    keeps working."""
    from annotator.engines.fallback_segmenter import FallbackSegmenter

    s = app_settings()
    if str(s.value("engines/segmenter", "auto")) == "fallback":
        return FallbackSegmenter()
    from annotator.engines import models

    device = str(s.value("engines/device", "auto"))
    cache = project.cache_dir / "embeddings" if project is not None else None
    try:
        return models.best_segmenter(device=None if device == "auto" else device,
                                     cache_dir=cache)
    except Exception as exc:  # a broken model file must not stop the window
        log.warning("SAM unavailable, using the fallback segmenter: %s", exc)
        if on_error is not None:
            on_error(exc)
        return FallbackSegmenter()


def segmenter_label(segmenter: Any) -> str:
    if segmenter is None:
        return "segmenter: not loaded yet"
    return str(getattr(segmenter, "name", type(segmenter).__name__))


def device_label() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
    except Exception:  # pragma: no cover
        pass
    return "cpu"


def summary(segmenter: Any) -> tuple[str, str]:
    """(short label for the status bar, full description for its tooltip)."""
    try:
        from annotator.engines.propagator import available_engines

        prop = (available_engines() or ["none"])[0]
    except Exception:  # pragma: no cover
        prop = "none"
    prop_fallback = prop in ("fallback", "flow-warp", "none")
    if segmenter is None:
        seg_short, seg_full, seg_fallback = "segmenter loading…", "segmenter: loading", True
    else:
        seg_full = segmenter_label(segmenter)
        seg_fallback = bool(getattr(segmenter, "is_fallback", False))
        seg_short = "fallback segmenter" if seg_fallback else seg_full.split("(")[0].strip()
    if prop_fallback and seg_fallback and segmenter is not None:
        short = "fallback engines (no model files)"
    else:
        short = f"{'fallback propagator' if prop_fallback else prop} + {seg_short}"
    full = f"propagator: {prop}{' (weight-free fallback)' if prop_fallback else ''}\n{seg_full}"
    return short, full
