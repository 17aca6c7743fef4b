"""The files of the audio analysis under ``<cache_dir>/audio/`` (safe to delete).

::

    meta.json        the parameters, the video file's size, modification time and content
                     fingerprint; the cache is valid only when they match (else rebuilt)
    env_<B>.npy      (n, 2) float32: the (min, max) of each block of B samples at 16 kHz
    mel.npy          (frames, 64) float16: log-mel in dB, one row per 10 ms hop
    mel_32.npy       (frames / 32, 64) float16: the max over 32 hops (zoomed-out views)
    energy.npy       (frames,) float32: short-time energy, dBFS
    flux.npy         (frames,) float32: spectral flux, dB
    onsets.npy       (k,) float64: onset times, seconds

Each array's shape is fixed from the duration before decoding starts; the file is written front
to back chunk by chunk under a temporary name (plain writes, so nothing of it stays resident:
memory stays bounded whatever the length) and renamed into place when complete,
``meta.json`` last, after the old one was removed first, so a cache is either whole and
matching or rebuilt. Readers open the arrays memory-mapped.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from annotator.core.audio_features import (
    ENVELOPE_BLOCKS,
    HOP,
    N_FFT,
    N_MELS,
    EnvelopePyramid,
    SpectralFrames,
)

VERSION = 1
RATE = 16000
MEL_COARSE = 32
RANGE_DB = 80.0  # the spectrogram's 0..1 spans this many dB below the track's loudest band
__all__ = ["AudioCache", "N_MELS"]


class AudioCache:
    def __init__(self, directory: Path, video_path: Path, t0: float | None,
                 duration_s: float) -> None:
        self.dir = directory
        self.video_path = video_path
        self.t0 = t0
        self.duration_s = max(0.0, float(duration_s))
        self.n_samples = int(np.ceil(self.duration_s * RATE))
        self.n_frames = self.n_samples // HOP + 1
        self.hop_s = HOP / RATE
        self._arrays: dict[str, np.ndarray] = {}
        self._meta: dict | None = None
        self._lock = threading.Lock()

    # -- validity -------------------------------------------------------------------------
    def key(self) -> dict:
        """What the cache was computed from and how (the video file itself aside)."""
        return {"version": VERSION, "t0": self.t0, "duration_s": self.duration_s,
                "rate": RATE, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS,
                "blocks": list(ENVELOPE_BLOCKS), "mel_coarse": MEL_COARSE}

    def _stat(self) -> dict:
        st = self.video_path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def _fingerprint(self) -> str:
        from annotator.core.project import fingerprint

        return fingerprint(self.video_path)

    def _read_meta(self) -> dict | None:
        try:
            meta = json.loads((self.dir / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def valid(self) -> bool:
        """Whether the cache is whole and made from this video with these parameters: the
        same size and modification time, or else (a copy, a touched file) the same content
        fingerprint (:func:`annotator.core.project.fingerprint`)."""
        with self._lock:
            if self._meta is not None:
                return True
            meta = self._read_meta()
            if meta is None or meta.get("key") != self.key():
                return False
            try:
                same = (meta.get("file") == self._stat()
                        or meta.get("fingerprint") == self._fingerprint())
            except OSError:
                return False
            if same and all((self.dir / f"{n}.npy").is_file() for n in self._names()):
                self._meta = meta
                return True
            return False

    def _names(self) -> list[str]:
        return [f"env_{b}" for b in ENVELOPE_BLOCKS] + [
            "mel", f"mel_{MEL_COARSE}", "energy", "flux", "onsets"]

    def _array(self, name: str) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None:
            a = np.load(self.dir / f"{name}.npy", mmap_mode="r")
            self._arrays[name] = a
        return a

    # -- building -------------------------------------------------------------------------
    def write(self, chunks: Iterable[np.ndarray], progress: Callable[[float], None] | None,
              cancel: threading.Event | None) -> bool:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "meta.json").unlink(missing_ok=True)
        with self._lock:
            self._meta = None
            self._arrays.clear()
        file = self._stat()  # before decoding: a file changed meanwhile is not taken for it
        tag = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        writers: dict[str, _NpyWriter] = {}

        def new(name: str, shape: tuple[int, ...], dtype) -> _NpyWriter:
            writers[name] = _NpyWriter(self.dir / f"{name}{tag}.npy", shape, dtype)
            return writers[name]

        try:
            envs = [new(f"env_{b}", (-(-max(self.n_samples, 1) // b), 2), np.float32)
                    for b in ENVELOPE_BLOCKS]
            coarse = _CoarseMax(new(f"mel_{MEL_COARSE}",
                                    (-(-self.n_frames // MEL_COARSE), N_MELS), np.float16))
            mel = _Tee(new("mel", (self.n_frames, N_MELS), np.float16), coarse)
            energy = new("energy", (self.n_frames,), np.float32)
            flux = new("flux", (self.n_frames,), np.float32)
            pyramid = EnvelopePyramid(envs)  # type: ignore[arg-type]
            frames = SpectralFrames(RATE, mel, energy, flux)  # type: ignore[arg-type]
            done = 0
            total = self.n_samples
            for chunk in _padded(chunks, total):
                if cancel is not None and cancel.is_set():
                    return False
                pyramid.add(chunk)
                frames.add(chunk)
                done += len(chunk)
                if progress:
                    progress(0.95 * done / max(total, 1))
            if cancel is not None and cancel.is_set():
                return False
            pyramid.finish()
            frames.finish()
            coarse.finish()
            for w in writers.values():
                w.close()
            ons = frames.onsets.finish()
            new("onsets", (len(ons),), np.float64)[0:len(ons)] = ons * self.hop_s
            writers["onsets"].close()
            for name, w in writers.items():
                os.replace(w.path, self.dir / f"{name}.npy")
            writers.clear()
            top = mel.top if np.isfinite(mel.top) else 0.0
            meta = {"key": self.key(), "file": file, "fingerprint": self._fingerprint(),
                    "max_db": top, "n_frames": self.n_frames,
                    "n_samples": self.n_samples}
            part = self.dir / f"meta{tag}.json"
            part.write_text(json.dumps(meta, indent=1))
            os.replace(part, self.dir / "meta.json")
            if progress:
                progress(1.0)
            return True
        finally:
            for w in writers.values():
                w.discard()

    # -- readers --------------------------------------------------------------------------
    def envelope(self, t0: float, t1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        spc = (t1 - t0) * RATE / columns  # samples per column
        level = 0
        for i, b in enumerate(ENVELOPE_BLOCKS):
            if b <= spc:
                level = i
        b = ENVELOPE_BLOCKS[level]
        env = self._array(f"env_{b}")
        lo_i, hi_i, inside = _column_ranges(t0, t1, columns, RATE / b, len(env), self.n_samples
                                            / RATE)
        lo = np.zeros(columns, np.float32)
        hi = np.zeros(columns, np.float32)
        if inside.any():
            a, z = int(lo_i[inside].min()), int(hi_i[inside].max())
            part = np.asarray(env[a:z])
            starts = lo_i[inside] - a
            lo[inside] = np.minimum.reduceat(part[:, 0], starts)
            hi[inside] = np.maximum.reduceat(part[:, 1], starts)
        return lo, hi

    def spectrogram(self, t0: float, t1: float, columns: int) -> np.ndarray:
        fpc = (t1 - t0) / self.hop_s / columns  # hops per column
        name, per = ("mel", 1) if fpc < MEL_COARSE else (f"mel_{MEL_COARSE}", MEL_COARSE)
        mel = self._array(name)
        step = self.hop_s * per
        # frame k covers [(k - 0.5) step, (k + 0.5) step): shift by half a frame
        lo_i, hi_i, inside = _column_ranges(t0 + step / 2, t1 + step / 2, columns, 1 / step,
                                            len(mel), self.n_samples / RATE + step / 2)
        out = np.zeros((columns, N_MELS), np.float32)
        if inside.any():
            a, z = int(lo_i[inside].min()), int(hi_i[inside].max())
            part = np.asarray(mel[a:z], np.float32)
            out[inside] = np.maximum.reduceat(part, lo_i[inside] - a, axis=0)
        top = float(self._meta["max_db"]) if self._meta else 0.0
        out = np.clip((out - (top - RANGE_DB)) / RANGE_DB, 0.0, 1.0)
        out[~inside] = 0.0
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def onsets(self) -> np.ndarray:
        return np.array(self._array("onsets"), np.float64)

    def features(self) -> tuple[float, np.ndarray, np.ndarray]:
        return self.hop_s, self._array("energy"), self._array("flux")


def _padded(chunks: Iterable[np.ndarray], total: int, step: int = 160000):
    """The chunks cut at ``total`` samples, then zeros up to ``total`` (a short track)."""
    done = 0
    for c in chunks:
        if done >= total:
            break
        c = c[: total - done]
        done += len(c)
        yield c
    while done < total:
        n = min(step, total - done)
        done += n
        yield np.zeros(n, np.float32)


class _NpyWriter:
    """A ``.npy`` file of a known shape written front to back (``w[k:k + n] = rows`` with k
    the rows so far), zeros after the last row written. Plain writes: unlike a memory map,
    nothing stays resident, whatever the length of the track."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype) -> None:
        self.path, self.shape, self.dtype = path, shape, np.dtype(dtype)
        self.rows = 0
        self._f = open(path, "wb")
        np.lib.format.write_array_header_1_0(self._f, {
            "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
            "shape": shape})

    def __len__(self) -> int:
        return self.shape[0]

    def __setitem__(self, where: slice, rows) -> None:
        if where.start != self.rows:
            raise ValueError(f"{self.path.name}: rows must be written in order")
        a = np.ascontiguousarray(rows, self.dtype)
        self._f.write(a.tobytes())
        self.rows += len(a)

    def close(self) -> None:
        if self._f.closed:
            return
        row = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        left = (self.shape[0] - self.rows) * row
        while left > 0:
            n = min(left, 1 << 20)
            self._f.write(bytes(n))
            left -= n
        self._f.close()

    def discard(self) -> None:
        self._f.close()
        self.path.unlink(missing_ok=True)


class _CoarseMax:
    """Rows in, the max over every MEL_COARSE rows out (to a writer)."""

    def __init__(self, out: _NpyWriter) -> None:
        self.out = out
        self.carry = np.zeros((0, N_MELS), np.float32)
        self.pos = 0

    def add(self, rows: np.ndarray) -> None:
        buf = np.concatenate([self.carry, np.asarray(rows, np.float32)])
        k = len(buf) // MEL_COARSE * MEL_COARSE
        if k:
            self._put(buf[:k].reshape(-1, MEL_COARSE, N_MELS).max(1))
        self.carry = buf[k:]

    def finish(self) -> None:
        if len(self.carry):
            self._put(self.carry.max(0, keepdims=True))
            self.carry = self.carry[:0]

    def _put(self, rows: np.ndarray) -> None:
        n = min(len(rows), len(self.out) - self.pos)
        self.out[self.pos:self.pos + n] = rows[:n]
        self.pos += n


class _Tee:
    """The log-mel rows: to their file, to the coarse copy, and their maximum (dB)."""

    def __init__(self, out: _NpyWriter, coarse: _CoarseMax) -> None:
        self.out, self.coarse = out, coarse
        self.top = -np.inf

    def __len__(self) -> int:
        return len(self.out)

    def __setitem__(self, where: slice, rows: np.ndarray) -> None:
        self.out[where] = rows
        self.coarse.add(rows)
        if len(rows):
            self.top = max(self.top, float(np.max(rows)))


def _column_ranges(t0: float, t1: float, columns: int, per_s: float, n: int,
                   end_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each column of [t0, t1): the first and one-past-last element of an array with
    ``per_s`` elements a second (at least one; the ranges tile the array, so ``reduceat`` over
    the starts reduces exactly them), and whether the column is inside the track [0, end_s)."""
    edges = t0 + (t1 - t0) * np.arange(columns + 1) / columns
    inside = (edges[1:] > 0) & (edges[:-1] < end_s) & (n > 0)
    lo = np.clip(np.floor(edges[:-1] * per_s), 0, max(n - 1, 0)).astype(np.int64)
    hi = np.clip(np.floor(edges[1:] * per_s), 0, n).astype(np.int64)
    hi = np.maximum(hi, lo + 1)
    return lo, hi, inside
