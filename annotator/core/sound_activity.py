"""A weight-free sound-activity detector: where in the track something sounds.

It reads the per-hop (10 ms) energy and spectral flux of an :class:`AudioAnalysis` and works
in dB over an *adaptive noise floor*:

1. The energy is smoothed over ``smooth_s``; the floor at each moment is the ``percentile``-th
   percentile of the energy within ``window_s`` around it (the background, which adapts to
   slow changes such as a fan starting), but never more than ``max_floor_rise_db`` above the
   same percentile over the whole track (a sound that lasts longer than the window does not
   become background). The flux gets a floor the same way.
2. Activation = energy margin over its floor + ``flux_weight`` × (flux margin over its floor,
   when positive): steady tones count through their energy, onsets of quieter sounds through
   the flux.
3. Hysteresis: a span starts where the activation reaches ``on_db`` and lasts while it stays
   at or above ``off_db``; frames quieter than ``min_level_db`` dBFS never count.
4. Spans closer than ``merge_gap_s`` are merged, then spans shorter than ``min_duration_s``
   dropped.

Each :class:`Span`'s score is its mean energy margin over the floor, in dB. NumPy only.

What it cannot know: a sound that never stops (music under the whole video) is the floor
itself, so nothing is proposed there; proposals are candidates a person accepts or rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annotator.core.audio_features import moving_average

#: the parameters of :func:`detect` and their defaults
DEFAULTS: dict[str, float] = {
    "window_s": 20.0,          # the noise floor's sliding window
    "percentile": 10.0,        # which low percentile of it is the floor
    "max_floor_rise_db": 25.0,  # the floor stays this close to the whole track's
    "smooth_s": 0.05,          # energy and flux are averaged over this
    "flux_weight": 0.5,        # dB of activation per dB of flux above its floor
    "on_db": 12.0,             # a span starts this far above the floor …
    "off_db": 6.0,             # … and ends when it falls below this
    "min_level_db": -65.0,     # nothing quieter than this (dBFS) is a sound
    "min_duration_s": 0.15,    # shorter spans are dropped …
    "merge_gap_s": 0.3,        # … after merging spans closer than this
}


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    score: float  # mean energy margin over the noise floor, dB

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def detect(analysis: Any, **params: float) -> list[Span]:
    """Audible spans of ``analysis`` (an :class:`~annotator.core.audio.AudioAnalysis`),
    building its cache first if needed; [] for a video without audio. ``params`` override
    :data:`DEFAULTS`."""
    if not analysis.has_audio:
        return []
    if not analysis.ready:
        analysis.build()
    hop_s, energy, flux = analysis.features()
    return detect_features(hop_s, np.asarray(energy), np.asarray(flux),
                           duration_s=analysis.duration_s, **params)


def detect_features(hop_s: float, energy_db: np.ndarray, flux: np.ndarray, *,
                    duration_s: float | None = None, **params: float) -> list[Span]:
    """:func:`detect` on the features themselves: energy (dBFS) and flux per hop of
    ``hop_s`` seconds, hop k centred on k × hop_s."""
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown detector parameter(s): {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    n = len(energy_db)
    if n == 0:
        return []
    end_s = duration_s if duration_s is not None else n * hop_s
    half = max(0, int(round(p["smooth_s"] / hop_s / 2)))
    e = moving_average(np.asarray(energy_db, np.float64), half)
    f = moving_average(np.asarray(flux, np.float64), half)
    e_floor = adaptive_floor(e, hop_s, p["window_s"], p["percentile"], p["max_floor_rise_db"])
    f_floor = adaptive_floor(f, hop_s, p["window_s"], 50.0, np.inf)
    margin = e - e_floor
    act = margin + p["flux_weight"] * np.maximum(f - f_floor, 0.0)
    loud = e >= p["min_level_db"]
    runs = hysteresis(act >= p["on_db"], (act >= p["off_db"]) & loud)
    runs = _merge(runs, int(round(p["merge_gap_s"] / hop_s)))
    min_len = p["min_duration_s"] / hop_s
    spans = []
    for a, b in runs:  # frames a..b-1
        if b - a < min_len:
            continue
        s = max(0.0, (a - 0.5) * hop_s)
        t = min(end_s, (b - 0.5) * hop_s)
        if t > s:
            spans.append(Span(round(s, 4), round(t, 4), float(np.mean(margin[a:b]))))
    return spans


def adaptive_floor(x: np.ndarray, hop_s: float, window_s: float, percentile: float,
                   max_rise: float, block_s: float = 0.5, batch: int = 256) -> np.ndarray:
    """The ``percentile``-th percentile of ``x`` over ``window_s`` around each hop, capped at
    ``max_rise`` above the same percentile of all of ``x``. Computed every ``block_s`` and
    interpolated between (memory: ``batch`` windows at a time)."""
    n = len(x)
    step = max(1, int(round(block_s / hop_s)))
    width = max(1, min(n, int(round(window_s / hop_s))))
    centres = np.arange(0, n, step)
    lo = np.clip(centres - width // 2, 0, n - width)
    windows = np.lib.stride_tricks.sliding_window_view(x, width)
    floor_c = np.empty(len(centres))
    for k in range(0, len(centres), batch):
        floor_c[k:k + batch] = np.percentile(windows[lo[k:k + batch]], percentile, axis=1)
    if np.isfinite(max_rise):
        floor_c = np.minimum(floor_c, np.percentile(x, percentile) + max_rise)
    return np.interp(np.arange(n), centres, floor_c)


def hysteresis(on: np.ndarray, keep: np.ndarray) -> list[tuple[int, int]]:
    """Runs [a, b) of ``keep`` that contain at least one ``on`` frame."""
    k = np.concatenate([[False], keep, [False]]).astype(np.int8)
    d = np.diff(k)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if len(starts) == 0:
        return []
    c = np.concatenate([[0], np.cumsum(on & keep)])
    has_on = c[ends] - c[starts] > 0
    return [(int(a), int(b)) for a, b in zip(starts[has_on], ends[has_on])]


def _merge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if out and a - out[-1][1] <= gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def propose(store: Any, video: Any, analysis: Any, **params: float) -> list[Span]:
    """Detect on ``analysis`` (building its cache if needed: a worker thread's job) and store
    the spans as the open proposals of ``store`` (frames by ``video``'s timestamps; decided
    proposals stay, see :meth:`Store.set_proposals`). Returns the spans detected; nothing is
    stored for a video without audio."""
    if not analysis.has_audio:
        return []
    spans = detect(analysis, **params)
    store.set_proposals(to_frames(spans, np.asarray(video.times)),
                        detector={**DEFAULTS, **params})
    return spans


def to_frames(spans: list[Span], times: np.ndarray) -> list[tuple[int, int, float]]:
    """Spans as inclusive frame ranges (start, end, score): the frames whose middle lies in
    the span (a sound that covers half a frame or more of it), by the video's frame start
    times ``times`` (seconds); a span shorter than that gets the frame it is centred in."""
    times = np.asarray(times, np.float64)
    n = len(times)
    if n == 0:
        return []
    last = float(np.median(np.diff(times))) if n > 1 else 1.0
    mids = (times + np.append(times[1:], times[-1] + last)) / 2
    out: list[tuple[int, int, float]] = []
    for sp in spans:
        a = int(np.searchsorted(mids, sp.start_s - 1e-9, side="left"))
        b = int(np.searchsorted(mids, sp.end_s + 1e-9, side="right")) - 1
        if a > b:  # no middle inside: the frame on screen at the span's centre
            c = (sp.start_s + sp.end_s) / 2
            a = b = int(np.searchsorted(times, c + 1e-9, side="right")) - 1
        a, b = min(max(a, 0), n - 1), min(max(b, 0), n - 1)
        out.append((a, b, sp.score))
    return out


def temporal_iou(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Intersection over union of two sets of intervals (each merged first), in time."""
    def merged(xs):
        out: list[list[float]] = []
        for s, e in sorted(xs):
            if out and s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return out

    ma, mb = merged(a), merged(b)
    inter = 0.0
    for s, e in ma:
        for t, u in mb:
            inter += max(0.0, min(e, u) - max(s, t))
    union = sum(e - s for s, e in ma) + sum(e - s for s, e in mb) - inter
    return inter / union if union > 0 else 1.0
