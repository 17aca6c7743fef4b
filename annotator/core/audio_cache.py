"""The files of the audio analysis under ``<cache_dir>/audio/`` (safe to delete).

::

    meta.json        the video's fingerprint, the parameters and the array shapes; the cache
                     is valid only when it matches (else it is rebuilt)
    env_<B>.npy      (n, 2) float32: the (min, max) of each block of B samples at 16 kHz
    mel.npy          (frames, 64) float16: log-mel in dB, one row per 10 ms hop
    mel_32.npy       (frames / 32, 64) float16: the max over 32 hops (zoomed-out views)
    energy.npy       (frames,) float32: short-time energy, dBFS
    flux.npy         (frames,) float32: spectral flux, dB
    onsets.npy       (k,) float64: onset times, seconds

Arrays are preallocated from the duration (``np.lib.format.open_memmap``) and filled chunk by
chunk, under temporary names; each is renamed into place when complete, ``meta.json`` last,
after the old one was removed first, so a cache is either whole and matching or rebuilt.
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
    pick_onsets,
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
        self._key: dict | None = None
        self._arrays: dict[str, np.ndarray] = {}
        self._meta: dict | None = None
        self._lock = threading.Lock()

    # -- validity -------------------------------------------------------------------------
    def key(self) -> dict:
        if self._key is None:
            from annotator.core.project import fingerprint

            self._key = {
                "version": VERSION,
                "fingerprint": fingerprint(self.video_path),
                "t0": self.t0, "duration_s": self.duration_s, "rate": RATE,
                "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS,
                "blocks": list(ENVELOPE_BLOCKS), "mel_coarse": MEL_COARSE,
            }
        return self._key

    def _read_meta(self) -> dict | None:
        try:
            meta = json.loads((self.dir / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def valid(self) -> bool:
        with self._lock:
            if self._meta is not None:
                return True
            meta = self._read_meta()
            try:
                ok = meta is not None and meta.get("key") == self.key()
            except OSError:
                return False
            if ok and all((self.dir / f"{n}.npy").is_file() for n in self._names()):
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
        tag = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp: dict[str, Path] = {}

        def new(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
            tmp[name] = self.dir / f"{name}{tag}.npy"
            return np.lib.format.open_memmap(tmp[name], mode="w+", dtype=dtype, shape=shape)

        try:
            envs = [new(f"env_{b}", (-(-max(self.n_samples, 1) // b), 2), np.float32)
                    for b in ENVELOPE_BLOCKS]
            mel = new("mel", (self.n_frames, N_MELS), np.float16)
            energy = new("energy", (self.n_frames,), np.float32)
            flux = new("flux", (self.n_frames,), np.float32)
            pyramid = EnvelopePyramid(envs)
            frames = SpectralFrames(RATE, mel, energy, flux)
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
            coarse = new(f"mel_{MEL_COARSE}", (-(-self.n_frames // MEL_COARSE), N_MELS),
                         np.float16)
            top = _coarsen(mel, coarse)
            ons = pick_onsets(np.asarray(flux), np.asarray(energy), self.hop_s)
            onsets = new("onsets", (len(ons),), np.float64)
            onsets[:] = ons * self.hop_s
            arrays = [*envs, mel, energy, flux, coarse, onsets]
            for a in arrays:
                a.flush()
            del arrays, envs, mel, energy, flux, coarse, onsets, pyramid, frames
            for name, path in tmp.items():
                os.replace(path, self.dir / f"{name}.npy")
            tmp.clear()
            meta = {"key": self.key(), "max_db": top, "n_frames": self.n_frames,
                    "n_samples": self.n_samples}
            part = self.dir / f"meta{tag}.json"
            part.write_text(json.dumps(meta, indent=1))
            os.replace(part, self.dir / "meta.json")
            if progress:
                progress(1.0)
            return True
        finally:
            for path in tmp.values():
                path.unlink(missing_ok=True)

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


def _coarsen(mel: np.ndarray, coarse: np.ndarray, rows: int = 32 * 4096) -> float:
    """Fill ``coarse`` with the max over every MEL_COARSE rows of ``mel``; returns the
    largest value (the track's loudest band, dB)."""
    top = -np.inf
    for a in range(0, len(mel), rows):
        part = np.asarray(mel[a:a + rows], np.float32)
        if not len(part):
            break
        top = max(top, float(part.max()))
        idx = np.arange(0, len(part), MEL_COARSE)
        coarse[a // MEL_COARSE: a // MEL_COARSE + len(idx)] = np.maximum.reduceat(part, idx, 0)
    return top if np.isfinite(top) else 0.0


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
