"""Where the timeline draws what: the visible frames, frame ↔ pixel, the rows' tops and heights.

One :class:`TimelineGeometry` per timeline. The timeline is its only writer (the visible range
follows zoom, scroll and the playhead; the sizes follow the widget's size and the objects); its
helpers — the segment editor and the sound rows — read it and never the timeline itself.

Rows from the top: the ruler, the waveform, the spectrogram, the sound proposals, one row per
object, the flags, then the horizontal scroll bar. Frame ``f`` spans ``[x(f), x(f + 1))`` on
the plot, which runs from :data:`LABEL_W` to the right edge less :data:`RIGHT_PAD`.

The sound rows share what height the timeline has beyond its fixed rows:
:data:`WAVE_H` and :data:`SPEC_H` when there is room for both whole; smaller rows in a short
window; at the floor (:meth:`TimelineGeometry.floor_height`) the waveform alone, at
:data:`WAVE_MIN`, and the rows say how to get the spectrogram back (:attr:`sound_hint`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LABEL_W = 96  # the names on the left
RIGHT_PAD = 4
RULER_H = 16
WAVE_H, SPEC_H = 36, 40  # the waveform and spectrogram rows whole
WAVE_SMALL, SPEC_SMALL = 18, 16  # what a short window (< 720 px) gives them
WAVE_MIN, SPEC_MIN = 14, 14  # the waveform's floor; a spectrogram lower than this is not drawn
SOUND_H = 12  # the proposals' row
ROW_H = 20  # an object's row
FLAG_H = 10
MIN_SPAN = 20  # frames visible at the deepest zoom
SPECTROGRAM_HIDDEN = "spectrogram hidden: drag the timeline's top edge up"


@dataclass
class TimelineGeometry:
    """The timeline's visible range ``[v0, v1)`` and its rows (see the module docstring)."""

    n: int  # frames in the video
    v0: int = 0
    v1: int = 0
    plot_w: int = 1  # pixel columns of the plot
    wave_h: int = WAVE_MIN
    spec_h: int = 0
    scroll_h: int = 12  # the scroll bar under the rows
    object_ids: tuple[int, ...] = ()
    label_w: int = LABEL_W

    def __post_init__(self) -> None:
        if self.v1 <= self.v0:
            self.v0, self.v1 = 0, self.n

    # -- the visible range -----------------------------------------------------------------
    @property
    def span(self) -> int:
        return self.v1 - self.v0

    def show(self, v0: float, span: int) -> None:
        """Show ``span`` frames from ``v0`` on, kept inside the video."""
        span = int(max(min(self.n, MIN_SPAN), min(self.n, span)))
        self.v0 = int(max(0, min(self.n - span, round(v0))))
        self.v1 = self.v0 + span

    def pan(self, frames: float) -> None:
        self.show(self.v0 + frames, self.span)

    def zoom(self, at: float, factor: float) -> None:
        """Show ``span / factor`` frames, the position ``at`` staying where it is on screen."""
        span = self.span
        new = int(max(min(self.n, MIN_SPAN), min(self.n, span / factor)))
        frac = (at - self.v0) / max(1, span)
        self.show(at - frac * new, new)

    def follow(self, frame: int) -> bool:
        """Keep ``frame`` in view (centred when it was out of it); True when the view moved."""
        if self.v0 <= frame < self.v1:
            return False
        self.show(frame - self.span // 2, self.span)
        return True

    # -- frames and pixels -----------------------------------------------------------------
    def x(self, frame: float) -> float:
        """The pixel where ``frame`` (a boundary, or fractional) is drawn."""
        return self.label_w + (frame - self.v0) / max(1, self.span) * self.plot_w

    def pos_at(self, x: float) -> float:
        """The (fractional) frame position under pixel ``x``."""
        return self.v0 + (x - self.label_w) / self.plot_w * self.span

    def frame_at(self, x: float) -> int:
        """The frame whose span holds pixel ``x``."""
        return int(min(self.n - 1, max(0, self.pos_at(x) // 1)))

    def boundary_at(self, x: float) -> int:
        """The frame boundary nearest pixel ``x`` (0 … n)."""
        return int(min(self.n, max(0, round(self.pos_at(x)))))

    def columns(self, arr: np.ndarray) -> np.ndarray:
        """The max of a per-frame ``arr`` over the frames under each pixel column of the plot."""
        seg, width = arr[self.v0:self.v1], self.plot_w
        if len(seg) == 0 or width <= 0:
            return np.zeros(0, arr.dtype)
        if len(seg) <= width:
            return seg[np.minimum((np.arange(width) * len(seg)) // width, len(seg) - 1)]
        return np.maximum.reduceat(seg, (np.arange(width) * len(seg)) // width)

    # -- rows ------------------------------------------------------------------------------
    @property
    def wave_top(self) -> int:
        return RULER_H + 1

    @property
    def spec_top(self) -> int:
        return self.wave_top + self.wave_h

    @property
    def sound_top(self) -> int:
        """The top of the proposals' row."""
        return self.spec_top + self.spec_h

    @property
    def rows_top(self) -> int:
        """The top of the first object's row."""
        return self.sound_top + SOUND_H

    @property
    def flags_top(self) -> int:
        return self.rows_top + len(self.object_ids) * ROW_H

    @property
    def scroll_top(self) -> int:
        return self.flags_top + FLAG_H + 2

    def object_at(self, y: float) -> int | None:
        """The object whose row holds pixel ``y`` (None off the object rows)."""
        i = int((y - self.rows_top) // ROW_H)
        return self.object_ids[i] if y >= self.rows_top and i < len(self.object_ids) else None

    def row_top(self, object_id: int) -> int | None:
        ids = self.object_ids
        return self.rows_top + ids.index(object_id) * ROW_H if object_id in ids else None

    # -- heights ---------------------------------------------------------------------------
    def height(self, wave_h: int, spec_h: int, rows: int | None = None) -> int:
        """The timeline's height with sound rows this tall (and ``rows`` object rows)."""
        rows = len(self.object_ids) if rows is None else rows
        return (RULER_H + 1 + wave_h + spec_h + SOUND_H + max(2, rows) * ROW_H + FLAG_H + 2
                + self.scroll_h)

    def floor_height(self) -> int:
        """The lowest the timeline goes: every row, the waveform at its floor, no spectrogram."""
        return self.height(WAVE_MIN, 0)

    def fit_sound(self, height: int) -> None:
        """Share ``height`` beyond the fixed rows between the waveform and the spectrogram: the
        waveform first up to :data:`WAVE_SMALL`, then both, until they are whole."""
        spare = max(0, height - self.floor_height())
        total = WAVE_MIN + spare
        if total < WAVE_SMALL + SPEC_MIN:
            self.wave_h, self.spec_h = min(total, WAVE_SMALL + SPEC_MIN - 1), 0
            return
        total = min(total, WAVE_H + SPEC_H)
        wave = max(WAVE_SMALL, round(total * WAVE_H / (WAVE_H + SPEC_H)))
        self.wave_h, self.spec_h = wave, total - wave

    @property
    def sound_hint(self) -> str:
        """What the rows say when the spectrogram has no room ("" when it is drawn)."""
        return SPECTROGRAM_HIDDEN if self.spec_h == 0 else ""


def runs(xs: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs in sorted integer positions (pixel columns), as (first, last) pairs."""
    if len(xs) == 0:
        return []
    breaks = np.nonzero(np.diff(xs) > 1)[0]
    starts = np.concatenate([[xs[0]], xs[breaks + 1]])
    ends = np.concatenate([xs[breaks], [xs[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))
