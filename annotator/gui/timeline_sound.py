"""The images of the timeline's sound rows and the waveform's gain, made on a worker thread.

:func:`render` reads the analysis cache (:class:`annotator.core.audio.AudioAnalysis`) for the
columns of one view — frame ``f`` spans ``[time_of(f), time_of(f + 1))`` — and makes the
waveform and spectrogram ``QImage``s. :func:`track_gain` is the waveform's vertical gain for the
track's own loudness, so that a quiet track (a film's 5.1 mixed down to mono, say) is no flat
line and a loud one no block; columns louder than the row are tipped in orange
(:data:`CLIP_COLOR`). The spectrogram is relative to the track's loudest band already.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

WAVE_COLOR = (102, 204, 255)
CLIP_COLOR = (255, 152, 0)  # the tips of columns louder than the row
GAIN_BLOCK_S = 4096 / 16000  # the loudness is measured over blocks this long (the cache's level)
SILENT = 1e-4  # a block whose peak is below this (-80 dBFS) is silence, not the track's level
LOUD_PERCENTILE = 99.5  # the track's level: this percentile of its blocks' peaks
ROW_FILL = 0.9  # the track's level reaches this fraction of the half row
MAX_GAIN = 1000.0  # +60 dB
#: a magma-like colormap (dark = quiet, yellow = loud), interpolated to 256 entries
_ANCHORS = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                     (245, 125, 21), (250, 193, 39), (252, 255, 164)], np.float64)
LUT = np.stack([np.interp(np.linspace(0, len(_ANCHORS) - 1, 256), np.arange(len(_ANCHORS)),
                          _ANCHORS[:, c]) for c in range(3)], axis=1).astype(np.uint8)


def column_times(edges: np.ndarray, v0: int, v1: int, width: int) -> np.ndarray:
    """Seconds at the ``width + 1`` column edges of the frames [v0, v1), through the frames'
    own times (``edges``: the start of every frame, then the end of the last)."""
    pos = np.linspace(v0, v1, width + 1)
    return np.interp(pos, np.arange(len(edges)), edges)


def track_gain(analysis: Any) -> float:
    """The waveform's vertical gain for this track (worker: reads the cache): its level — a
    high percentile of the peaks of its non-silent blocks of :data:`GAIN_BLOCK_S` — drawn at
    :data:`ROW_FILL` of the half row. 1 for a track that is loud already (a gain under 2 is
    not worth a label), under 1 only for one whose mixdown goes over full scale; rounded
    down to two figures, so that the label says what is drawn."""
    duration = float(getattr(analysis, "duration_s", 0.0))
    blocks = int(duration / GAIN_BLOCK_S)
    if blocks < 1:
        return 1.0
    lo, hi = analysis.envelope(0.0, blocks * GAIN_BLOCK_S, blocks)
    peaks = np.maximum(-lo, hi)
    peaks = peaks[peaks > SILENT]
    if not len(peaks):
        return 1.0
    level = float(np.percentile(peaks, LOUD_PERCENTILE))
    gain = min(MAX_GAIN, ROW_FILL / level)
    if 1.0 <= gain < 2.0 or (gain < 1.0 and level <= 1.0):
        return 1.0
    digits = 1 - math.floor(math.log10(gain))  # two significant figures, rounded down
    return math.floor(gain * 10 ** digits) / 10 ** digits


def gain_label(gain: float) -> str:
    """``×24``, ``×2.5``, ``×0.6``; "" for no gain."""
    return "" if gain == 1.0 else f"×{gain:g}"


def _bins(te: np.ndarray, fine: int) -> np.ndarray:
    """The first fine bin of every column, for ``fine`` bins evenly over [te[0], te[-1])."""
    span = max(1e-9, te[-1] - te[0])
    return np.clip(((te[:-1] - te[0]) / span * fine).astype(np.int64), 0, fine - 1)


def render(analysis: Any, edges: np.ndarray, v0: int, v1: int, width: int, wave_h: int,
           spec_h: int, gain: float = 1.0) -> tuple[QImage, QImage]:
    """The waveform (times ``gain``) and spectrogram images of frames [v0, v1) at ``width``
    columns (worker)."""
    te = column_times(edges, v0, v1, width)
    fine = 4 * width
    lo, hi = analysis.envelope(float(te[0]), float(te[-1]), fine)
    idx = _bins(te, fine)
    cmin, cmax = np.minimum.reduceat(lo, idx) * gain, np.maximum.reduceat(hi, idx) * gain
    rows = np.arange(wave_h, dtype=np.float32)[:, None]
    top = np.floor((1 - np.clip(cmax, -1, 1)) / 2 * (wave_h - 1))
    bot = np.ceil((1 - np.clip(cmin, -1, 1)) / 2 * (wave_h - 1))
    on = (rows >= top[None, :]) & (rows <= bot[None, :])
    wave = np.zeros((wave_h, width, 4), np.uint8)
    wave[on] = (*WAVE_COLOR, 255)
    wave[wave_h // 2, :] = np.maximum(wave[wave_h // 2, :], (70, 90, 110, 255))
    wave[0, cmax > 1] = (*CLIP_COLOR, 255)
    wave[wave_h - 1, cmin < -1] = (*CLIP_COLOR, 255)
    if spec_h <= 0:
        return _qimage(wave), QImage()
    spec_fine = analysis.spectrogram(float(te[0]), float(te[-1]), 2 * width)
    idx2 = _bins(te, 2 * width)
    spec = np.maximum.reduceat(spec_fine, idx2, axis=1) if spec_fine.shape[1] else \
        np.zeros((spec_fine.shape[0], width), np.float32)
    n_mels = max(1, spec.shape[0])
    band = (n_mels - 1) - (np.arange(spec_h) * n_mels // max(1, spec_h))  # top row = high
    values = (np.clip(spec[band, :], 0, 1) * 255).astype(np.uint8)
    spec_rgba = np.empty((spec_h, width, 4), np.uint8)
    spec_rgba[..., :3] = LUT[values]
    spec_rgba[..., 3] = 255
    return _qimage(wave), _qimage(spec_rgba)


def _onset_bounds(analysis: Any, edges: np.ndarray) -> np.ndarray:
    """The frame boundaries nearest the audio onsets (worker: reads the cache)."""
    pos = np.interp(analysis.onsets(), edges, np.arange(len(edges)))
    return np.unique(np.round(pos).astype(np.int64))


def measure(analysis: Any, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """What the rows need of a built cache: the onsets' frame boundaries, the waveform's gain."""
    return _onset_bounds(analysis, edges), track_gain(analysis)


def _qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
