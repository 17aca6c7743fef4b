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


def propagator_label() -> str:
    try:
        from annotator.engines.propagator import available_engines

        names = available_engines()
    except Exception:  # pragma: no cover - engines missing entirely
        return "propagator: none"
    if not names:
        return "propagator: none"
    best = names[0]
    return f"propagator: {best}" + (" (weight-free fallback)" if best in ("fallback", "flow-warp") else "")


def make_propagator() -> Any:
    from annotator.engines.propagator import make_propagator as make

    choice = str(app_settings().value("engines/propagator", "auto"))
    return make(None if choice == "auto" else choice)


def device_label() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
    except Exception:  # pragma: no cover
        pass
    return "cpu"
