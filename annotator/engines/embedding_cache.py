"""SAM image embeddings: a bounded in-memory LRU in front of an on-disk cache.

Keys are ``(model_id, frame_key)``: the checkpoint's SHA-256 and the frame's content hash
(``segmenter.frame_key``). On disk each embedding is one ``.npz`` file (features in float16,
``1×256×64×64`` = 2 MiB, plus the frame and input sizes) under
``<directory>/<model_id[:16]>/<frame_key>.npz``, written atomically. The folder is safe to delete
at any time (a missing or unreadable file is a miss), survives restarts, and is capped in size:
when a write passes ``max_bytes`` the least recently used files are removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MAX_BYTES = 2 * 1024**3  # about 1000 embeddings


@dataclass(frozen=True)
class Embedding:
    """A frame's image embedding and the sizes SAM needs to map prompts and masks."""

    features: np.ndarray  # 1×C×64×64 (float16 on disk; any float dtype in memory)
    original_size: tuple[int, int]  # (H, W) of the frame
    input_size: tuple[int, int]  # (h, w) of the frame resized so its long side is 1024

    @property
    def nbytes(self) -> int:
        return int(self.features.nbytes)


class EmbeddingCache:
    """Thread-safe two-level cache. ``directory=None`` keeps embeddings in memory only."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        memory_items: int = 16,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.memory_items = int(memory_items)
        self.max_bytes = int(max_bytes)
        self._mem: OrderedDict[tuple[str, str], Embedding] = OrderedDict()
        self._lock = threading.RLock()
        self._disk_bytes: int | None = None  # scanned lazily

    # -- public -------------------------------------------------------------------------------
    def get(self, model_id: str, frame_key: str) -> tuple[Embedding, str] | None:
        """The embedding and where it was found (``"memory"`` or ``"disk"``), or None."""
        k = (model_id, frame_key)
        with self._lock:
            emb = self._mem.get(k)
            if emb is not None:
                self._mem.move_to_end(k)
                return emb, "memory"
        emb = self._read(model_id, frame_key)
        if emb is None:
            return None
        self._remember(k, emb)
        return emb, "disk"

    def contains(self, model_id: str, frame_key: str) -> bool:
        with self._lock:
            if (model_id, frame_key) in self._mem:
                return True
        path = self.path_for(model_id, frame_key)
        return path is not None and path.is_file()

    def put(self, model_id: str, frame_key: str, emb: Embedding, memory: bool = True) -> None:
        """Store an embedding (on disk when there is a directory; in memory when ``memory``)."""
        if memory:
            self._remember((model_id, frame_key), emb)
        if self.directory is not None:
            self._write(model_id, frame_key, emb)

    def path_for(self, model_id: str, frame_key: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / model_id[:16] / f"{frame_key}.npz"

    def clear_memory(self) -> None:
        with self._lock:
            self._mem.clear()

    def disk_bytes(self) -> int:
        with self._lock:
            if self._disk_bytes is None:
                self._disk_bytes = sum(size for _, size, _ in self._scan())
            return self._disk_bytes

    # -- internals ----------------------------------------------------------------------------
    def _remember(self, k: tuple[str, str], emb: Embedding) -> None:
        if self.memory_items <= 0:
            return
        with self._lock:
            self._mem[k] = emb
            self._mem.move_to_end(k)
            while len(self._mem) > self.memory_items:
                self._mem.popitem(last=False)

    def _read(self, model_id: str, frame_key: str) -> Embedding | None:
        path = self.path_for(model_id, frame_key)
        if path is None:
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                feats = z["features"]
                orig = tuple(int(v) for v in z["original_size"])
                inp = tuple(int(v) for v in z["input_size"])
        except FileNotFoundError:
            return None
        except Exception:  # a damaged cache file is a miss: remove it
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # mark as recently used for eviction
        return Embedding(feats, (orig[0], orig[1]), (inp[0], inp[1]))

    def _write(self, model_id: str, frame_key: str, emb: Embedding) -> None:
        path = self.path_for(model_id, frame_key)
        assert path is not None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(
                        fh,
                        features=np.ascontiguousarray(emb.features, dtype=np.float16),
                        original_size=np.asarray(emb.original_size, np.int64),
                        input_size=np.asarray(emb.input_size, np.int64),
                    )
                old = path.stat().st_size if path.exists() else 0
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            size = path.stat().st_size
        except OSError:
            return  # a cache that cannot be written is only slower, never an error
        with self._lock:
            if self._disk_bytes is not None:
                self._disk_bytes += size - old
            if self.disk_bytes() > self.max_bytes:
                self._evict(keep=path)

    def _scan(self) -> list[tuple[float, int, Path]]:
        if self.directory is None or not self.directory.is_dir():
            return []
        out = []
        for p in self.directory.glob("*/*.npz"):
            with contextlib.suppress(OSError):
                st = p.stat()
                out.append((st.st_mtime, st.st_size, p))
        return out

    def _evict(self, keep: Path) -> None:
        """Remove least recently used files until the folder is at 90 % of the cap."""
        entries = sorted(self._scan())
        total = sum(size for _, size, _ in entries)
        target = int(self.max_bytes * 0.9)
        for _, size, p in entries:
            if total <= target:
                break
            if p == keep:
                continue
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size
        self._disk_bytes = total
