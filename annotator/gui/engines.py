"""Which engines the window uses, and how they are named in the status bar.

SAM and XMem when their model files are present (``annotator.engines.models``), otherwise the
weight-free fallbacks, so the window always opens and works; the status bar says which.
"""

from __future__ import annotations

import logging
from typing import Any

from annotator import settings
from annotator.pipeline.prompting import make_segmenter  # noqa: F401 - the session's

log = logging.getLogger(__name__)


def start_engines(device: str | None = None, precision: str | None = None) -> str | None:
    """GUI start-up: start the process's engine registry (device, threads, allocator) on
    ``device`` (``--device``: a missing one is a ``UserError``), else on the Device preference;
    in ``precision`` (``--precision``), else the Precision preference.
    A stored preference naming a device this machine does not have falls back to the
    automatic choice; the returned notice (None if all is well) says so, once."""
    from annotator.engines import registry
    from annotator.engines.devices import automatic_device
    from annotator.errors import UserError

    idle = registry.GUI_IDLE_RELEASE_S
    # precision None: $AVS_ANNOTATOR_PRECISION, else the precision setting (the Precision
    # preference writes it), else auto
    if device:
        registry.start(device, idle_release_s=idle, precision=precision)
        return None
    stored = settings.get("device")
    try:
        registry.start(None if stored == "auto" else stored, idle_release_s=idle,
                       precision=precision)
        return None
    except UserError as exc:
        auto = automatic_device()
        reg = registry.start(auto, idle_release_s=idle, precision=precision)
        notice = (f"The Device preference is {stored!r}, which this machine does not have "
                  f"({exc}); the models run on {auto} instead. Choose a device in "
                  "Edit ▸ Preferences ▸ Engines.")
        reg.notices.append(notice)
        log.warning(notice)
        return notice


def segmenter_label(segmenter: Any) -> str:
    if segmenter is None:
        return "segmenter: not loaded yet"
    return str(getattr(segmenter, "name", type(segmenter).__name__))


def precision_label(precisions: dict[str, str]) -> str:
    """``bf16`` when every loaded model runs (partly) in bf16, else each model's word:
    ``SAM bf16, XMem fp32`` (the parts are in the tooltip)."""
    words = {k: v.split()[0] for k, v in precisions.items()}
    if len(set(words.values())) == 1:
        return next(iter(words.values()))
    return ", ".join(f"{k} {v}" for k, v in words.items())


def device_label() -> str:
    """Where the models really run: asked of the loaded models (the registry's), else the
    device they will load on."""
    try:
        from annotator.engines import registry

        reg = registry.get()
        loaded = reg.devices()
        if loaded:
            where = sorted(set(loaded.values()))
            label = ", ".join(where) if len(where) == 1 else \
                ", ".join(f"{k} {v}" for k, v in loaded.items())
            return f"{label} · {precision_label(reg.precisions())}"
        return f"{reg.choice.device} (no model loaded)"
    except Exception:  # noqa: BLE001 - e.g. a device setting this machine lacks
        return "cpu"


def chosen_propagator() -> tuple[str, bool]:
    """(name, can run here) of the propagator the window's jobs use: the Propagator
    preference (``engines.propagator``), or for ``auto`` the best one that can run here."""
    from annotator.engines.engine_table import available_engines

    usable = available_engines()
    chosen = settings.get("engines.propagator") or "auto"
    if chosen == "auto":
        return (usable or ["none"])[0], bool(usable)
    return str(chosen), chosen in usable


def summary(segmenter: Any) -> tuple[str, str]:
    """(short label for the status bar, full description for its tooltip)."""
    try:
        prop, runs = chosen_propagator()
    except Exception:  # pragma: no cover
        prop, runs = "none", False
    if not runs and prop != "none":
        prop = f"{prop} (cannot run here)"
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
    try:
        from annotator.engines import registry

        reg = registry.get()
        loaded = reg.devices()
        if loaded:
            prec = reg.precisions()
            full += "\nrunning on: " + ", ".join(f"{k} {v} ({prec.get(k, '?')})"
                                                for k, v in loaded.items())
        full += "".join(f"\n{n}" for n in reg.notices)
    except Exception:  # noqa: BLE001 - the label must never fail
        pass
    return short, full


def show_engines(session: Any, status: Any) -> None:
    """The engines and device in the status bar, found on a worker: the first answer imports
    torch and chooses the device (over a second on the GUI thread)."""
    if session is not None:
        seg = session.loaded_segmenter
        session.run(lambda: (*summary(seg), device_label()), lambda r: status.set_engines(*r))


def engines_changed(session: Any, status: Any) -> None:
    """A project opened, or Preferences ▸ OK: the chosen segmenter made on the session's serial
    thread, then the status bar."""
    if session is not None:
        session.write(session.segmenter, lambda _seg: show_engines(session, status))
