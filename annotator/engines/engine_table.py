"""The propagation engines of this build: one static table, which the registry reads.

Each :class:`Engine` says what it is called (``annotator propagate --engine``), its
priority (``auto`` takes the engine of highest priority that can run here), how to get its
class, how to tell that it can run here, and whether it runs over the process's one loaded
XMem network — which :class:`annotator.engines.registry.EngineRegistry` loads and hands to
it. A class is imported only when an engine of its kind is made (XMem's brings torch): a run
on the weight-free engines never imports torch. Every engine class names its entry in ``kind``,
so a running propagator's entry is known (:func:`kind_of`).

Nothing here loads a model or imports the registry: the arrows point from the registry to
this table, and from this table to the engines.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from annotator.engines import models

__all__ = ["ENGINES", "Engine", "available_engines", "entry", "kind_of", "sam2_installed",
           "xmem_installed"]


def _always() -> bool:
    return True


def xmem_installed() -> bool:
    """XMem can run: its model file is installed (:func:`models.xmem_checkpoint`) and torch
    and ``xmem`` are importable (found, not imported)."""
    if models.xmem_checkpoint() is None:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "xmem"))


def sam2_installed() -> bool:
    """SAM 2.1 can run: the ``sam2`` package (the ``[sam2]`` extra) is there and a SAM 2.1
    model file is installed."""
    from annotator.engines import sam2_models

    return sam2_models.installed() and sam2_models.find_sam2() is not None


# each class is imported when an engine of its kind is made (XMem's brings torch)
def _xmem_class() -> type:
    from annotator.engines.xmem_propagator import XMemPropagator

    return XMemPropagator


def _sam2_class() -> type:
    from annotator.engines.sam2_propagator import Sam2Propagator

    return Sam2Propagator


def _fallback_class() -> type:
    from annotator.engines.fallback_propagator import FallbackPropagator

    return FallbackPropagator


def _flow_warp_class() -> type:
    from annotator.engines.flow import FlowWarpPropagator

    return FlowWarpPropagator


@dataclass(frozen=True)
class Engine:
    """One row of the table."""

    name: str
    priority: int  # the engine that can run with the highest priority is auto's choice
    load: Callable[[], type]  # its class
    installed: Callable[[], bool] = _always  # whether it can run here
    xmem_network: bool = False  # built over the process's one loaded XMem network
    sam2_model: bool = False  # built over the process's one loaded SAM 2.1 network


ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("xmem", 10, _xmem_class, xmem_installed, xmem_network=True),
    # below XMem: the seed's engine stays auto's choice where both are installed
    Engine("sam2", 5, _sam2_class, sam2_installed, sam2_model=True),
    Engine("fallback", 0, _fallback_class),
    Engine("flow-warp", -10, _flow_warp_class),
)}


def entry(name: str) -> Engine:
    """The table's row for ``name``; ValueError naming the known ones otherwise."""
    if name not in ENGINES:
        raise ValueError(f"unknown propagation engine {name!r}; known: {sorted(ENGINES)}")
    return ENGINES[name]


def available_engines() -> list[str]:
    """Names of the engines that can run here, best first."""
    usable = [e for e in ENGINES.values() if e.installed()]
    return [e.name for e in sorted(usable, key=lambda e: (-e.priority, e.name))]


def kind_of(engine: object) -> str | None:
    """The table's name for a running ``engine`` (its ``kind``), None for an engine the table
    does not know (one a script made itself)."""
    kind = getattr(engine, "kind", None)
    return kind if kind in ENGINES else None
