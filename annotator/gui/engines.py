"""Which engines the window uses, and how they are named in the status bar.

SAM and XMem when their model files are present (``annotator.engines.models``), otherwise the
weight-free fallbacks, so the window always opens and works; the status bar says which.
"""

from __future__ import annotations

import logging
from typing import Any

from annotator.gui.settings import app_settings

log = logging.getLogger(__name__)


def make_segmenter(project: Any = None) -> Any:
    """The best available point-prompt segmenter (the preference may force the fallback)."""
    from annotator.engines.fallback_segmenter import FallbackSegmenter

    choice = str(app_settings().value("engines/segmenter", "auto"))
    if choice != "fallback":
        try:
            from annotator.engines import models  # type: ignore[attr-defined]
        except ImportError:
            models = None
        factory = getattr(models, "best_segmenter", None) if models else None
        if factory is not None:
            try:
                kwargs: dict[str, Any] = {}
                device = str(app_settings().value("engines/device", "auto"))
                if device != "auto":
                    kwargs["device"] = device
                if project is not None:
                    kwargs["cache_dir"] = project.cache_dir / "embeddings"
                try:
                    return factory(**kwargs)
                except TypeError:
                    return factory()
            except Exception as exc:  # a broken model file must not stop the window
                log.warning("SAM unavailable, using the fallback segmenter: %s", exc)
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
