"""Engine-state checkpoints, so resuming a job replays a few frames instead of a whole run.

An engine that offers ``get_state()`` / ``set_state(state)`` (XMem and the weight-free
fallback do) has its state saved now and then during a sweep, with the job's per-object
bookkeeping, in ``<project>/cache/jobs/``. A checkpoint is tagged with the job's fingerprint,
sweep and step (the state *before* that step). Resuming picks the newest usable one that is no
later than the last committed step; anything unusable just means replaying from further back.

**Format** (no pickle: a project folder received from someone else must not run code). One
NumPy ``.npz`` archive named ``<job>.s<sweep>.<step>.ckpt``, read with ``allow_pickle=False``:
member ``header`` is UTF-8 JSON (``format``, ``version``, ``fingerprint``, ``sweep``, ``step``
and the packed ``state``), the other members are the plain arrays the state refers to. A state
is plain data: ``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, sets, dicts,
NumPy arrays and torch tensors (stored as arrays, given back as CPU tensors); anything else is
refused when saving. A file that is not such an archive (e.g. the pickles older versions
wrote), of another format or version, or of another job is ignored with a message (logged,
and kept in :attr:`CheckpointStore.notes` for the job's result) — never executed.

Writes go to a temporary file that is renamed, so a kill never leaves a half-written
checkpoint. Pruning keeps every checkpoint ahead of the last committed step (the commit thread
may lag the engine) plus the newest one at or before it; a finished job deletes its own.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = "avs-annotator/engine-checkpoint"
VERSION = 1
SUFFIX = ".ckpt"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (the message says why)."""


@dataclass
class Checkpoint:
    step: int
    engine: Any
    bookkeeping: dict
    path: Path | None = None


# -- plain-data packing ------------------------------------------------------------------------
def pack(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON-able data; arrays and tensors go into ``arrays`` and are referenced."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("a checkpoint holds plain arrays only, not object arrays")
        name = f"a{len(arrays)}"
        arrays[name] = np.ascontiguousarray(obj)
        return {"$array": name}
    if type(obj).__module__ == "torch" and type(obj).__name__ in ("Tensor", "Parameter"):
        name = f"a{len(arrays)}"
        arrays[name] = obj.detach().cpu().contiguous().numpy()
        return {"$tensor": name}
    if isinstance(obj, tuple):
        return {"$tuple": [pack(v, arrays) for v in obj]}
    if isinstance(obj, (set, frozenset)):
        return {"$set": [pack(v, arrays) for v in sorted(obj)]}
    if isinstance(obj, list):
        return [pack(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: pack(v, arrays) for k, v in obj.items()}
        return {"$dict": [[pack(k, arrays), pack(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"a checkpoint holds plain data only, not {type(obj).__name__}")


def unpack(data: Any, arrays) -> Any:
    """The inverse of :func:`pack` (``arrays``: the archive's members by name)."""
    if isinstance(data, list):
        return [unpack(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    if "$array" in data:
        return np.array(arrays[data["$array"]])
    if "$tensor" in data:
        import torch

        return torch.from_numpy(np.array(arrays[data["$tensor"]]))
    if "$tuple" in data:
        return tuple(unpack(v, arrays) for v in data["$tuple"])
    if "$set" in data:
        return {unpack(v, arrays) for v in data["$set"]}
    if "$dict" in data:
        return {_key(unpack(k, arrays)): unpack(v, arrays) for k, v in data["$dict"]}
    return {k: unpack(v, arrays) for k, v in data.items()}


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def write(path: Path, header: dict, state: Any) -> None:
    """Write ``state`` with ``header`` to ``path`` atomically (see the module docstring)."""
    arrays: dict[str, np.ndarray] = {}
    body = {**header, "format": FORMAT, "version": VERSION, "state": pack(state, arrays)}
    raw = np.frombuffer(json.dumps(body).encode(), np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, header=raw, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read(path: Path) -> tuple[dict, Any]:
    """(header, state) of a checkpoint file; :class:`CheckpointError` says why it is unusable."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise CheckpointError(f"cannot read it ({exc.strerror})") from None
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise CheckpointError("not a NumPy archive (a foreign or damaged file)")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            members = {name: npz[name] for name in npz.files}
        body = json.loads(members.pop("header").tobytes().decode())
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, it is not used
        raise CheckpointError(f"damaged ({type(exc).__name__}: {exc})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise CheckpointError("not an AVS Annotator checkpoint")
    if body.get("version") != VERSION:
        raise CheckpointError(f"format version {body.get('version')!r}, this version reads "
                              f"{VERSION}")
    try:
        state = unpack(body.pop("state"), members)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"damaged ({type(exc).__name__}: {exc})") from None
    return body, state


class CheckpointStore:
    """Checkpoints of one job (``key``, ``fingerprint``) under ``folder``."""

    def __init__(self, folder: Path, key: str, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.prefix = re.sub(r"[^A-Za-z0-9_.+-]", "_", key)
        self.fingerprint = fingerprint
        self.notes: list[str] = []  # checkpoints ignored, and why (for the job's message)

    def _files(self, sweep: int) -> list[tuple[int, Path]]:
        pat = re.compile(re.escape(f"{self.prefix}.s{sweep}.") + r"(\d+)" + re.escape(SUFFIX) + "$")
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := pat.match(p.name))]
        return sorted(found)

    def save(self, sweep: int, step: int, engine_state: Any, bookkeeping: dict,
             committed: int | None = None) -> None:
        """Save the state before ``step``; ``committed``: the last step the store holds (older
        checkpoints than the newest one at or before it are deleted)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix}.s{sweep}.{step}{SUFFIX}"
        write(path, {"fingerprint": self.fingerprint, "sweep": sweep, "step": step},
              {"engine": engine_state, "bookkeeping": bookkeeping})
        if committed is None:
            return
        files = self._files(sweep)
        usable = [s for s, _ in files if s <= committed]
        floor = usable[-1] if usable else -1
        for s, old in files:
            if s < floor:
                old.unlink(missing_ok=True)

    def load(self, sweep: int, lo: int, hi: int) -> Checkpoint | None:
        """The newest usable checkpoint of ``sweep`` with ``lo <= step <= hi``."""
        for step, path in reversed(self._files(sweep)):
            if not lo <= step <= hi:
                continue
            try:
                header, state = read(path)
            except CheckpointError as exc:
                self.note(path, str(exc))
                continue
            if header.get("fingerprint") != self.fingerprint or header.get("sweep") != sweep \
                    or header.get("step") != step or not isinstance(state, dict):
                self.note(path, "written for another job or another plan")
                continue
            return Checkpoint(step, state.get("engine"), state.get("bookkeeping") or {}, path)
        return None

    def note(self, path: Path, why: str) -> None:
        """Say that ``path`` was ignored and why (logged, and kept for the job's result)."""
        msg = f"ignored checkpoint {path}: {why}; replaying from an earlier point instead"
        if msg not in self.notes:
            self.notes.append(msg)
            log.warning(msg)

    def clear(self, sweeps: range | tuple = (0, 1)) -> None:
        """Delete this job's checkpoints of ``sweeps`` (a propagation's two sweeps)."""
        for sweep in sweeps:
            for _, path in self._files(sweep):
                path.unlink(missing_ok=True)
