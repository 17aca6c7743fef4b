"""Streaming audio features with NumPy: peak envelopes, log-mel frames, energy, flux, onsets.

Everything here consumes the track chunk by chunk (carrying only a few hundred samples from
one chunk to the next), so an hour of sound is analysed in bounded memory; the results are
written by the caller into preallocated arrays (memory-mapped files of the cache).
"""

from __future__ import annotations

import numpy as np

ENVELOPE_BLOCKS = (64, 512, 4096, 32768)  # samples per (min, max) pair, level by level
N_FFT = 512  # 32 ms at 16 kHz
HOP = 160  # 10 ms at 16 kHz
N_MELS = 64
FMIN, FMAX = 30.0, 8000.0
FLOOR_DB = -100.0  # log-mel and energy are clipped here (digital silence)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(rate: int, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = FMIN,
                   fmax: float = FMAX) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1), each of unit area (Slaney
    normalisation), row 0 = the lowest band."""
    fmax = min(fmax, rate / 2)
    freqs = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    fb = np.maximum(0.0, np.minimum(lower, upper))
    fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb.astype(np.float32)


class EnvelopePyramid:
    """(min, max) per block of each level in :data:`ENVELOPE_BLOCKS`, streamed: level 0 from
    the samples, each next level from the previous one's pairs."""

    def __init__(self, outputs: list[np.ndarray], blocks: tuple[int, ...] = ENVELOPE_BLOCKS):
        self.blocks = blocks
        self.out = outputs  # one (n_blocks, 2) float32 array per level
        self.pos = [0] * len(blocks)
        self.carry: list[np.ndarray] = [np.zeros((0, 2), np.float32) for _ in blocks]
        self.carry0 = np.zeros(0, np.float32)

    def _push(self, level: int, pairs: np.ndarray, final: bool) -> None:
        out = self.out[level]
        n = min(len(pairs), len(out) - self.pos[level])
        out[self.pos[level]:self.pos[level] + n] = pairs[:n]
        self.pos[level] += n
        if level + 1 < len(self.blocks):
            f = self.blocks[level + 1] // self.blocks[level]
            buf = np.concatenate([self.carry[level + 1], pairs])
            k = len(buf) // f * f
            if final and k < len(buf):
                k = len(buf)
                up = _reduce_pairs(buf, f)
            else:
                up = _reduce_pairs(buf[:k], f) if k else np.zeros((0, 2), np.float32)
            self.carry[level + 1] = buf[k:]
            self._push(level + 1, up, final)

    def add(self, samples: np.ndarray) -> None:
        b = self.blocks[0]
        buf = np.concatenate([self.carry0, samples]) if len(self.carry0) else samples
        k = len(buf) // b * b
        if k:
            blocks = buf[:k].reshape(-1, b)
            self._push(0, np.stack([blocks.min(1), blocks.max(1)], 1), False)
        self.carry0 = np.array(buf[k:], np.float32)

    def finish(self) -> None:
        pairs = np.zeros((0, 2), np.float32)
        if len(self.carry0):
            pairs = np.array([[self.carry0.min(), self.carry0.max()]], np.float32)
            self.carry0 = np.zeros(0, np.float32)
        self._push(0, pairs, True)


def _reduce_pairs(pairs: np.ndarray, f: int) -> np.ndarray:
    if len(pairs) == 0:
        return np.zeros((0, 2), np.float32)
    idx = np.arange(0, len(pairs), f)
    return np.stack([np.minimum.reduceat(pairs[:, 0], idx),
                     np.maximum.reduceat(pairs[:, 1], idx)], 1).astype(np.float32)


class SpectralFrames:
    """Short-time analysis, streamed: frame k is centred on sample k × HOP (the track is
    padded with N_FFT/2 zeros at both ends). For every frame it writes the log-mel bands (dB),
    the energy (dBFS: the mean square of the windowed frame, corrected for the window) and the
    spectral flux (the mean over bands of the positive rise in dB from the previous frame)."""

    def __init__(self, rate: int, mel_out: np.ndarray, energy_out: np.ndarray,
                 flux_out: np.ndarray):
        self.window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
        self.win_power = float(np.mean(self.window ** 2))
        self.fb = mel_filterbank(rate)
        self.mel_out, self.energy_out, self.flux_out = mel_out, energy_out, flux_out
        self.buf = np.zeros(N_FFT // 2, np.float32)  # centred frames: zeros before sample 0
        self.pos = 0  # the next frame to write
        self.prev: np.ndarray | None = None  # the last frame's log-mel (for the flux)
        self.onsets = OnsetPicker(HOP / rate)

    def add(self, samples: np.ndarray) -> None:
        buf = np.concatenate([self.buf, samples]) if len(samples) else self.buf
        n = (len(buf) - N_FFT) // HOP + 1 if len(buf) >= N_FFT else 0
        n = min(n, len(self.mel_out) - self.pos)
        if n > 0:
            frames = np.lib.stride_tricks.sliding_window_view(buf, N_FFT)[: n * HOP: HOP]
            self._write(frames)
            buf = buf[n * HOP:]
        self.buf = np.array(buf, np.float32)

    def finish(self) -> None:
        self.add(np.zeros(N_FFT // 2, np.float32))

    def _write(self, frames: np.ndarray) -> None:
        w = frames * self.window
        power = np.abs(np.fft.rfft(w, axis=1)) ** 2 / (N_FFT * N_FFT)
        mel_db = 10.0 * np.log10(power @ self.fb.T * N_FFT + 1e-12)
        np.maximum(mel_db, FLOOR_DB, out=mel_db)
        energy = np.mean(w.astype(np.float64) ** 2, axis=1) / self.win_power
        energy_db = np.maximum(10.0 * np.log10(energy + 1e-12), FLOOR_DB)
        prev = mel_db[:1] if self.prev is None else self.prev[None, :]
        rise = np.diff(np.concatenate([prev, mel_db]), axis=0)
        flux = np.mean(np.maximum(rise, 0.0), axis=1)
        k, n = self.pos, len(frames)
        self.mel_out[k:k + n] = mel_db
        self.energy_out[k:k + n] = energy_db
        self.flux_out[k:k + n] = flux
        self.onsets.add(flux, energy_db)
        self.prev = mel_db[-1].copy()
        self.pos += n


def moving_average(x: np.ndarray, half: int) -> np.ndarray:
    """The mean of x over [i - half, i + half] (shorter at the ends)."""
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    i = np.arange(len(x))
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, len(x))
    return (c[hi] - c[lo]) / (hi - lo)


class OnsetPicker:
    """Onsets where the spectral flux peaks, streamed: a frame is an onset when its flux is
    the maximum over ±``max_s``, at least ``delta`` dB above its mean over ±``avg_s``, the
    sound is louder than ``min_db`` dBFS there, and ``wait_s`` have passed since the previous
    onset. A frame is decided once the frames ``avg_s`` after it have come (windows are cut
    at the ends of the track); only that much is carried from chunk to chunk."""

    def __init__(self, hop_s: float, *, delta: float = 1.0, wait_s: float = 0.05,
                 avg_s: float = 0.2, max_s: float = 0.03, min_db: float = -70.0) -> None:
        self.m = max(1, int(round(max_s / hop_s)))
        self.h = max(1, int(round(avg_s / hop_s)))
        self.ctx = max(self.m, self.h)
        self.wait = max(1, int(round(wait_s / hop_s)))
        self.delta, self.min_db = delta, min_db
        self.flux = np.zeros(0)
        self.energy = np.zeros(0)
        self.base = 0  # the global index of flux[0]
        self.done = 0  # frames before this are decided
        self.last = -(1 << 62)  # the last onset
        self.found: list[int] = []

    def add(self, flux: np.ndarray, energy_db: np.ndarray, final: bool = False) -> None:
        self.flux = np.concatenate([self.flux, np.asarray(flux, np.float64)])
        self.energy = np.concatenate([self.energy, np.asarray(energy_db, np.float64)])
        end = self.base + len(self.flux)
        upto = end if final else end - self.ctx  # decide frames [done, upto)
        if upto > self.done:
            self._decide(upto, final)
        keep = max(0, self.done - self.ctx - self.base)
        self.flux, self.energy = self.flux[keep:], self.energy[keep:]
        self.base += keep

    def finish(self) -> np.ndarray:
        """Every onset frame index, sorted."""
        self.add(np.zeros(0), np.zeros(0), final=True)
        return np.asarray(self.found, np.int64)

    def _decide(self, upto: int, final: bool) -> None:
        f, n, m = self.flux, len(self.flux), self.m
        left = f[:1].repeat(m) if self.base == 0 else np.zeros(0)  # edges: repeat the end
        right = f[-1:].repeat(m) if final else np.zeros(0)
        padded = np.concatenate([left, f, right])  # f[k] is padded[k + len(left)]
        j = np.arange(self.done, upto) - self.base  # the frames to decide, in f
        # (at least ctx >= m frames precede each, or the left edge was padded; as many follow)
        win = np.lib.stride_tricks.sliding_window_view(padded, 2 * m + 1)
        local_max = win[j + len(left) - m].max(1)
        c = np.concatenate([[0.0], np.cumsum(f)])
        lo, hi = np.maximum(j - self.h, 0), np.minimum(j + self.h + 1, n)
        avg = (c[hi] - c[lo]) / (hi - lo)
        ok = (f[j] >= local_max) & (f[j] >= avg + self.delta) & (self.energy[j] > self.min_db)
        for i in (j[ok] + self.base).tolist():
            if i - self.last >= self.wait:
                self.found.append(i)
                self.last = i
        self.done = upto


def pick_onsets(flux: np.ndarray, energy_db: np.ndarray, hop_s: float,
                **params: float) -> np.ndarray:
    """:class:`OnsetPicker` on whole arrays: onset frame indices."""
    picker = OnsetPicker(hop_s, **params)
    picker.add(flux, energy_db)
    return picker.finish()
