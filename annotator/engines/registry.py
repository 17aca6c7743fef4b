"""One engine registry per process: the loaded models and the device they run on.

Each process (the app, one CLI command, one cluster worker) calls :func:`start` once at
start-up: it chooses the device (``--device`` / ``$AVS_ANNOTATOR_DEVICE`` / the ``device``
setting / auto; a device the machine does not have is a ``UserError``), sets the process-wide
settings (torch's CPU threads; on the CPU, the C allocator's keeping of freed memory, see
``xmem.allocator``) and makes the registry that :func:`get` returns from then on. Nothing else
sets those settings: not a model's constructor, not a worker thread.

The registry loads SAM and XMem once, on its device, and hands them out:

* :meth:`EngineRegistry.segmenter` — SAM for a caller with its own embedding cache (the GUI
  session, a propagation's refiner): a :meth:`~annotator.engines.sam.SamSegmenter.share` of the
  one loaded model, so there is never a second copy of the weights;
* :meth:`EngineRegistry.propagator` (:func:`make_propagator` for the process's registry) — a
  fresh propagator (its own memory of the run) by its name in the engine table
  (:mod:`annotator.engines.engine_table`): XMem over the one loaded XMem network, or a
  weight-free engine;
* :meth:`EngineRegistry.sam2_model` — SAM 2.1 (the ``[sam2]`` extra), loaded once: the
  segmenter when the segmenter choice (``--segmenter`` / ``$AVS_ANNOTATOR_SEGMENTER`` / the
  ``engines.segmenter`` setting) names it, and the ``sam2`` propagator, over the same weights;
* :meth:`EngineRegistry.devices` — the device each loaded model really runs on (asked of the
  model's weights), for the status bar, ``annotator doctor`` and ``annotator propagate``;
* :meth:`EngineRegistry.release` — drop the models (Preferences; they load again when next
  asked for); with ``idle_release_s`` the registry does it itself once no SAM or XMem it
  handed out is held any more (the project was closed) and that long has passed;
  :meth:`EngineRegistry.fall_back_to_cpu` after a CUDA out-of-memory.

Loading happens on the caller's thread (a worker: never the GUI thread); the registry's own
state is guarded by a lock held only for quick reads and writes, so a GUI thread asking for the
devices or releasing the models never waits for a load.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from annotator.engines import engine_table, models, sam2_models
from annotator.engines.devices import DeviceChoice, apply_threads, choose_device

log = logging.getLogger(__name__)

__all__ = ["EngineRegistry", "get", "make_propagator", "start", "started"]

GUI_IDLE_RELEASE_S = 600.0  # an app left alone with no project open lets its models go
SEGMENTER_ENV = "AVS_ANNOTATOR_SEGMENTER"  # --segmenter, for the process and its window
SEGMENTERS = sam2_models.SEGMENTERS

_PROCESS_LOCK = threading.Lock()
_REGISTRY: EngineRegistry | None = None
_STARTED = {"done": False}


class EngineRegistry:
    """The models of one process (see the module docstring)."""

    def __init__(self, device: str | None = None, half: bool | str | None = None,
                 idle_release_s: float | None = None, precision: str | None = None,
                 segmenter: str | None = None) -> None:
        self._device = device
        self._segmenter_choice = segmenter
        self._half = half
        self._precision = precision
        self._lock = threading.Lock()  # quick state only: never held while a model loads
        self._load_lock = threading.Lock()  # one load at a time
        self._gen = 0  # bumped by release(): a load that finishes after it is dropped
        self._choice: DeviceChoice | None = None
        self._sam: Any = None
        self._sam_path: Path | None = None
        self._xmem: Any = None
        self._xmem_path: Path | None = None
        self._sam2: Any = None  # (model, arch)
        self._sam2_path: Path | None = None
        self._sam2_seg: Any = None
        self._shares: weakref.WeakSet = weakref.WeakSet()  # SAMs handed out, still in use
        self._users: weakref.WeakSet = weakref.WeakSet()  # propagators over the loaded XMem
        self._last_use = time.monotonic()
        self._busy = 0  # loads and hand-outs in progress
        self._stop = threading.Event()
        self.idle_release_s = idle_release_s
        if idle_release_s:
            threading.Thread(target=self._idle_watch, name="engine-idle-release",
                             daemon=True).start()
        self.fell_back = False  # a CUDA out-of-memory moved everything to the CPU
        self.notices: list[str] = []  # what the person should know (fallbacks, OOM)
        self.sam_loads = 0  # how many times SAM's weights were loaded (status, tests)
        self.xmem_loads = 0
        self.sam2_loads = 0
        self._deferred: tuple | None = None  # a lazy start's (threads, keep_freed_memory)

    # -- device ------------------------------------------------------------------------------
    @property
    def choice(self) -> DeviceChoice:
        """The device models are loaded on (chosen on first use; ``UserError`` when missing)."""
        with self._lock:
            if self._choice is not None:
                return self._choice
        choice = choose_device(self._device, half=self._half, precision=self._precision)
        with self._lock:
            if self._choice is None:
                self._choice = choice
                deferred, self._deferred = self._deferred, None
            else:
                deferred = None
            choice = self._choice
        if deferred is not None:  # a lazy start: the process-wide settings, now, once
            _apply_process_settings(choice, *deferred)
        return choice

    @property
    def chosen(self) -> bool:
        """Whether the device has been chosen (a lazy start chooses it at the first model)."""
        with self._lock:
            return self._choice is not None

    def set_device(self, device: str | None, half: bool | str | None = None,
                   precision: str | None = None) -> DeviceChoice:
        """Use ``device`` (``None``/``auto``: the automatic choice) and ``precision`` (None:
        as before) from now on: the loaded models are released and load so when next asked
        for."""
        precision = precision if precision is not None else self._precision
        choice = choose_device(device, half=half if half is not None else self._half,
                               precision=precision)
        self.release()
        with self._lock:
            self._device, self._choice, self._precision = device, choice, precision
            if half is not None:
                self._half = half
        return choice

    # -- SAM ---------------------------------------------------------------------------------
    def sam(self) -> Any:
        """The one loaded SAM (loaded now if needed), or None when no SAM file is installed.
        A present but broken file raises ``ModelFileError``."""
        found = models.find_sam()
        if found is None:
            return None
        path = Path(found.path)
        with self._lock:
            if self._sam is not None and self._sam_path == path:
                return self._sam
        with self._load_lock:
            with self._lock:
                if self._sam is not None and self._sam_path == path:
                    return self._sam
                gen = self._gen
            seg = self._adopt(path) or self._load_sam(path)
            with self._lock:
                if gen == self._gen:
                    self._sam, self._sam_path = seg, path
                self._last_use = time.monotonic()
            return seg

    def _adopt(self, path: Path) -> Any:
        """A SAM handed out before a :meth:`release` and still in use (an open project's),
        when it is the same file on the same device: taken back instead of loading a second
        copy of the weights."""
        want = self.choice.device
        for seg in list(self._shares):
            if seg.device_choice.precision != self.choice.precision:
                continue
            if seg.checkpoint == path and seg.device.type == want.type and (
                    want.index is None or seg.device.index == want.index):
                return seg
        return None

    def _load_sam(self, path: Path) -> Any:
        from annotator.engines.embedding_cache import EmbeddingCache
        from annotator.engines.sam import SamSegmenter, load_sam

        choice = self.choice
        model, arch = load_sam(path, None, "cpu")
        seg = SamSegmenter(model, arch, models.file_identity(path), choice,
                           EmbeddingCache(None), path)
        self.sam_loads += 1
        log.info("loaded %s from %s", seg.name, path)
        return seg

    # -- SAM 2.1 -----------------------------------------------------------------------------
    def segmenter_choice(self) -> str:
        """What clicks run on: ``--segmenter``, else ``$AVS_ANNOTATOR_SEGMENTER``, else the
        ``engines.segmenter`` setting: auto (SAM, else SAM 2.1, else the fallback), sam, sam2
        (the largest SAM 2.1 file present), a SAM 2.1 file's name, or fallback."""
        from annotator import settings

        value = self._segmenter_choice or os.environ.get(SEGMENTER_ENV) or \
            settings.get("engines.segmenter") or "auto"
        value = str(value)
        if value not in SEGMENTERS:
            from annotator.errors import UserError

            raise UserError(f"segmenter {value!r}: choose one of {', '.join(SEGMENTERS)}")
        return value

    def sam2_file(self) -> Path | None:
        """The SAM 2.1 file this process uses (the one the segmenter choice names, else the
        largest present); None when none is present. A named one that is missing raises
        ``ModelFileError`` saying where it looked."""
        choice = self.segmenter_choice()
        named = choice if choice in sam2_models.SAM2_CONFIGS else None
        found = sam2_models.find_sam2(named)
        if found is None:
            return None
        return models.resolve(found.model) if named else found.path

    def sam2_model(self) -> tuple[Any, str] | None:
        """The one loaded SAM 2.1 network and its name (loaded now, on the registry's device),
        or None when no SAM 2.1 file is present."""
        path = self.sam2_file()
        if path is None:
            return None
        with self._lock:
            if self._sam2 is not None and self._sam2_path == path:
                return self._sam2
        with self._load_lock:
            with self._lock:
                if self._sam2 is not None and self._sam2_path == path:
                    return self._sam2
                gen = self._gen
            loaded = sam2_models.load_sam2(path, device=self.choice.device)
            self.sam2_loads += 1
            log.info("loaded %s from %s", loaded[1], path)
            with self._lock:
                if gen == self._gen:
                    self._sam2, self._sam2_path, self._sam2_seg = loaded, path, None
                self._last_use = time.monotonic()
            return loaded

    def sam2(self) -> Any:
        """The SAM 2.1 segmenter over the loaded network (None: no SAM 2.1 file)."""
        loaded = self.sam2_model()
        if loaded is None:
            return None
        with self._lock:
            if self._sam2_seg is not None and self._sam2 is loaded:
                return self._sam2_seg
        from annotator.engines.embedding_cache import EmbeddingCache
        from annotator.engines.sam2_segmenter import Sam2Segmenter

        seg = Sam2Segmenter(loaded[0], loaded[1], models.file_identity(self._sam2_path),
                            self.choice, EmbeddingCache(None), self._sam2_path)
        with self._lock:
            if self._sam2 is loaded:
                self._sam2_seg = seg
        return seg

    def segmenter(self, cache_dir: str | os.PathLike[str] | None = None,
                  allow_fallback: bool = True, memory_items: int = 16) -> Any:
        """SAM for one caller, with its own embedding cache in ``cache_dir`` (None: memory
        only), over the one loaded model; the weight-free fallback when no SAM file is
        installed (``allow_fallback``) — else None."""

        with self._handing_out():
            return self._segmenter(cache_dir, allow_fallback, memory_items)

    def _segmenter(self, cache_dir, allow_fallback: bool, memory_items: int) -> Any:
        from annotator.engines.embedding_cache import EmbeddingCache

        choice = self.segmenter_choice()
        if choice == "fallback":
            sam = None
        elif choice == "sam2" or choice in sam2_models.SAM2_CONFIGS:
            sam = self.sam2()
            if sam is None:  # asked for by name: say where it looked
                models.resolve(choice if choice != "sam2" else "sam2.1_hiera_tiny")
        else:
            sam = self.sam()
            if sam is None and choice == "auto" and sam2_models.installed():
                sam = self.sam2()
        if sam is None:
            if not allow_fallback:
                return None
            from annotator.engines.fallback_segmenter import FallbackSegmenter

            return FallbackSegmenter()
        seg = sam.share(EmbeddingCache(cache_dir, memory_items=memory_items))
        self._shares.add(seg)
        return seg

    @contextlib.contextmanager
    def _handing_out(self) -> Iterator[None]:
        """A model is being loaded or handed out: not idle, whatever the clock says."""
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._last_use = time.monotonic()

    # -- XMem and the other propagators ------------------------------------------------------
    def xmem_network(self) -> Any:
        """The one loaded XMem network, on the registry's device."""
        import xmem

        path = models.xmem_checkpoint()
        if path is None:
            raise RuntimeError("no XMem model file: install it (annotator models)")
        with self._lock:
            if self._xmem is not None and self._xmem_path == path:
                return self._xmem
        with self._load_lock:
            with self._lock:
                if self._xmem is not None and self._xmem_path == path:
                    return self._xmem
                gen = self._gen
            net = xmem.load_checkpoint(path, map_location=self.choice.device)
            self.xmem_loads += 1
            with self._lock:
                if gen == self._gen:
                    self._xmem, self._xmem_path = net, path
                self._last_use = time.monotonic()
            return net

    def propagator(self, name: str | None = None, **options: Any) -> Any:
        """A fresh propagator: the engine table's ``name`` (None: the best one that can run
        here), made with ``options``; XMem's runs over the one loaded network, in the
        registry's precision. An unknown name is a ValueError, one that cannot run here a
        RuntimeError."""
        if name is None:
            usable = engine_table.available_engines()
            name = usable[0] if usable else "fallback"
        engine = engine_table.entry(name)
        if not engine.installed():
            raise RuntimeError(
                f"propagation engine {name!r} cannot run here (its model files are missing?)")
        cls = engine.load()
        if engine.sam2_model:
            with self._handing_out():
                loaded = self.sam2_model()
                if loaded is None:
                    raise RuntimeError("propagation engine 'sam2' needs a SAM 2.1 model file")
                options.setdefault("precision", self.choice.precision)
                prop = cls(loaded[0], arch=loaded[1], **options)
                self._users.add(prop)
            return prop
        if not engine.xmem_network:
            return cls(**options)
        with self._handing_out():
            options.setdefault("precision", self.choice.precision)
            prop = cls(self.xmem_network(), **options)
            self._users.add(prop)
        return prop

    # -- what runs where -----------------------------------------------------------------------
    def devices(self) -> dict[str, str]:
        """``{"SAM": "cuda:0", "XMem": "cuda:0"}`` for the models loaded now, asked of their
        weights (not of the preference)."""
        with self._lock:
            sam, net, sam2 = self._sam, self._xmem, self._sam2
        out = {}
        if sam is not None:
            out["SAM"] = str(sam.device)
        if net is not None:
            out["XMem"] = str(next(net.parameters()).device)
        if sam2 is not None:
            out[_sam2_label(sam2[1])] = str(next(sam2[0].parameters()).device)
        return out

    def precisions(self) -> dict[str, str]:
        """``{"SAM": "bf16 encoder", "XMem": "bf16 key+decoder+value"}`` for the models
        loaded now: what they really run in (SAM asked of itself; XMem's propagators take
        the registry's choice)."""
        from annotator.engines.devices import XMEM_BF16_PARTS

        with self._lock:
            sam, net, sam2 = self._sam, self._xmem, self._sam2
        out = {}
        if sam is not None:
            out["SAM"] = sam.precision
        if net is not None:
            out["XMem"] = "bf16 " + "+".join(XMEM_BF16_PARTS) if self.choice.bf16 else "fp32"
        if sam2 is not None:
            bf16 = sam2_models.runs_bf16(next(sam2[0].parameters()).device, self.choice.precision)
            out[_sam2_label(sam2[1])] = "bf16" if bf16 else "fp32"
        return out

    def describe(self) -> str:
        """One line: the chosen device and where (in what precision) the loaded models are."""
        prec = self.precisions()
        loaded = ", ".join(f"{k} on {v} ({prec.get(k, '?')})"
                           for k, v in self.devices().items()) or "no model loaded"
        return f"{self.choice.describe()}; {loaded}"

    # -- letting go ------------------------------------------------------------------------------
    def release(self) -> None:
        """Drop the loaded models (they load again when next asked for). Callers that hold
        one keep it until they let go (its memory is freed then; asked for again meanwhile,
        the held SAM is taken back rather than loaded twice); CUDA's cached blocks are handed
        back."""
        with self._lock:
            self._gen += 1
            had = self._sam is not None or self._xmem is not None or self._sam2 is not None
            self._sam = self._xmem = self._sam2 = self._sam2_seg = None
            self._sam_path = self._xmem_path = self._sam2_path = None
        if had:
            gc.collect()
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def in_use(self) -> bool:
        """Whether a SAM or an XMem propagator handed out is still held by someone."""
        return bool(self._busy or len(self._shares) or len(self._users))

    def release_if_idle(self) -> bool:
        """:meth:`release` when models are loaded, nobody holds one and none was handed out
        for :attr:`idle_release_s` seconds (the idle time-out); True if it released."""
        with self._lock:
            loaded = self._sam is not None or self._xmem is not None or self._sam2 is not None
        idle = time.monotonic() - self._last_use >= (self.idle_release_s or 0)
        if not (loaded and idle) or self.in_use():
            return False
        self.release()
        log.info("models released after %.0f s unused", self.idle_release_s or 0)
        return True

    def _idle_watch(self) -> None:
        every = max(0.05, min(60.0, (self.idle_release_s or 60.0) / 4))
        while not self._stop.wait(every):
            try:
                self.release_if_idle()
            except Exception:  # noqa: BLE001 - a watcher must never take the process down
                log.exception("idle release failed")

    def close(self) -> None:
        """Stop the idle watcher and release the models (the registry is being replaced)."""
        self._stop.set()
        self.release()

    def fall_back_to_cpu(self, reason: str) -> str:
        """After a CUDA out-of-memory: everything from now on loads and runs on the CPU.
        Returns the message for the person (also kept in :attr:`notices`)."""
        self.set_device("cpu")
        self.fell_back = True
        msg = (f"{reason}: the GPU ran out of memory, so the models were loaded again on the "
               "CPU and the job goes on there (slower; frames already done are kept). "
               "Close other GPU programs, or choose a smaller SAM model, to use the GPU again.")
        self.notices.append(msg)
        log.warning(msg)
        return msg


def get() -> EngineRegistry:
    """The process's registry (made with the automatic device choice if :func:`start` was not
    called, e.g. in a script or a test)."""
    global _REGISTRY
    with _PROCESS_LOCK:
        if _REGISTRY is None:
            _REGISTRY = EngineRegistry()
        return _REGISTRY


def make_propagator(name: str | None = None, **options: Any) -> Any:
    """A fresh propagator from the process's registry (:meth:`EngineRegistry.propagator`)."""
    return get().propagator(name, **options)


def started() -> bool:
    """Whether :func:`start` ran in this process."""
    return _STARTED["done"]


def start(device: str | None = None, *, half: bool | str | None = None,
          threads: int | None = None, keep_freed_memory: bool = True,
          idle_release_s: float | None = None, precision: str | None = None,
          lazy: bool = False, segmenter: str | None = None) -> EngineRegistry:
    """Process start-up (CLI ``main``, the GUI's ``run_app``): choose the device (a
    ``UserError`` names a device the machine does not have), set torch's threads and — on the
    CPU, where glibc's fresh pages cost a model step up to 40 % (``xmem.allocator``) — the
    allocator's keeping of freed memory, once; then make the process's registry on that device.
    ``idle_release_s``: release the models when nobody has held one for that long (the app
    passes :data:`GUI_IDLE_RELEASE_S`; a CLI command ends instead). Called again (a test, a
    second window), it replaces the registry and re-applies the settings from the main
    thread.

    ``lazy`` (a CLI command, whose models load on its main thread): when no device was asked
    for (argument, environment or setting) and no model file is installed, the choice and the
    settings wait for the first model, so a run on the weight-free engines never imports torch
    (about 3 s of a resumed job's start-up on a small CPU)."""
    global _REGISTRY
    reg = EngineRegistry(device, half, idle_release_s=idle_release_s, precision=precision,
                         segmenter=segmenter)
    if lazy and not _device_asked(device) and not _models_installed():
        reg._deferred = (threads, keep_freed_memory)
    else:
        choice = choose_device(device, half=half, threads=threads, precision=precision)
        _apply_process_settings(choice, threads, keep_freed_memory)
        reg._choice = choice
    with _PROCESS_LOCK:
        old, _REGISTRY = _REGISTRY, reg
        _STARTED["done"] = True
    if old is not None:
        old.close()
    return reg


def _apply_process_settings(choice: DeviceChoice, threads: int | None,
                            keep_freed_memory: bool) -> None:
    apply_threads(choice)
    if keep_freed_memory and choice.device.type == "cpu":
        from xmem import allocator

        allocator.keep_freed_memory()


def _device_asked(device: str | None) -> bool:
    """Whether a device was asked for anywhere (a missing one must be refused at start-up)."""
    from annotator import settings
    from annotator.engines.devices import DEVICE_ENV

    asked = device or os.environ.get(DEVICE_ENV) or settings.get("device")
    return bool(asked) and str(asked) != "auto"


def _models_installed() -> bool:
    return models.find_sam() is not None or engine_table.xmem_installed() \
        or engine_table.sam2_installed()


def _sam2_label(arch: str) -> str:
    """``SAM 2.1 hiera_tiny``: how the loaded SAM 2.1 is named in devices() and doctor."""
    return f"SAM 2.1 {arch.removeprefix('sam2.1_')}"


def reset_for_tests() -> None:
    """Forget the process's registry (tests only: a process normally keeps its one)."""
    global _REGISTRY
    with _PROCESS_LOCK:
        old, _REGISTRY = _REGISTRY, None
        _STARTED["done"] = False
    if old is not None:
        old.close()
