"""Engine-state checkpoints, so resuming a job replays a few frames instead of a whole run.

An engine that offers ``get_state()`` / ``set_state(state)`` (XMem does) has its state saved
every ``every`` steps of a sweep, with the job's per-object bookkeeping, in
``<project>/cache/jobs/`` — written to a temporary file and renamed, so a kill never leaves a
half-written checkpoint. A checkpoint is tagged with the job's fingerprint, sweep and step (the
state *before* that step). Resuming picks the newest one that is no later than the last
committed step and inside the same run; anything unusable (another fingerprint, unreadable,
deleted with the cache) just means replaying from the run's start. The two newest are kept (the
newest may be ahead of what the commit thread has written); a finished job deletes its own.
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEEP = 2


@dataclass
class Checkpoint:
    step: int
    engine: Any
    bookkeeping: dict


class CheckpointStore:
    """Checkpoints of one job (``key``, ``fingerprint``) under ``folder``."""

    def __init__(self, folder: Path, key: str, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.prefix = re.sub(r"[^A-Za-z0-9_.+-]", "_", key)
        self.fingerprint = fingerprint

    def _files(self, sweep: int) -> list[tuple[int, Path]]:
        pat = re.compile(re.escape(f"{self.prefix}.s{sweep}.") + r"(\d+)\.ckpt$")
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir()
                 if (m := pat.match(p.name))]
        return sorted(found)

    def save(self, sweep: int, step: int, engine_state: Any, bookkeeping: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix}.s{sweep}.{step}.ckpt"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump({"fingerprint": self.fingerprint, "sweep": sweep, "step": step,
                         "engine": engine_state, "bookkeeping": bookkeeping}, fh,
                        protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        for _, old in self._files(sweep)[:-KEEP]:
            old.unlink(missing_ok=True)

    def load(self, sweep: int, lo: int, hi: int) -> Checkpoint | None:
        """The newest usable checkpoint of ``sweep`` with ``lo <= step <= hi``."""
        for step, path in reversed(self._files(sweep)):
            if not lo <= step <= hi:
                continue
            try:
                with open(path, "rb") as fh:
                    data = pickle.load(fh)  # our own cache file, written by this application
            except Exception:  # noqa: BLE001 - a damaged cache file is only a lost shortcut
                continue
            if data.get("fingerprint") == self.fingerprint and data.get("sweep") == sweep:
                return Checkpoint(step, data["engine"], data["bookkeeping"])
        return None

    def clear(self) -> None:
        for sweep in (0, 1):
            for _, path in self._files(sweep):
                path.unlink(missing_ok=True)
