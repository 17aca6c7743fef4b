"""Playback with sound: the audio is the clock, the frame shown follows it.

A worker thread decodes the sound ahead (:class:`~annotator.gui.audio_feed.AudioFeed`, a few
short chunks at most) and the GUI thread hands it to the sound card every few milliseconds
(:class:`~annotator.gui.audio_output.AudioOutput`, never blocking). What the card has played
is the clock: the frame shown is ``video.index_at(t0 + played_s * speed)``, set on the view
state as a playing frame (frames decode off the GUI thread; while one is loading only the newest
wanted frame waits, so frames are dropped, never queued).

Speeds 0.5×, 1× and 2× resample the sound to ``rate / speed`` and play it at ``rate``, as a
tape played faster: the pitch goes up at 2× and down at 0.5×. Looping plays the audible
segment under the playhead without a gap (the next turn's sound follows the last sample of the
segment). A playhead dragged or stepped while paused plays a short snippet of the sound there.

Without a sound device (a server, CI, the offscreen platform, ``AVS_ANNOTATOR_AUDIO=none``)
or for a video without audio, the same playback runs silent on a wall clock and says so once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer

from annotator.gui.audio_feed import AudioFeed
from annotator.gui.audio_output import AudioOutput, WallClock, open_output
from annotator.gui.status_bar import StatusBar
from annotator.gui.view_state import ViewState, current_segment
from annotator.gui.workers import TaskRunner

SPEEDS = (0.5, 1.0, 2.0)
SNIPPET_S = 0.08  # sound played where the playhead lands while paused
TICK_MS = 10
AHEAD_S = 0.5  # a loop's next turn starts decoding this long before it is needed
SEEK_MS = 60  # a playhead dragged while playing plays on once it rests this long
STALL_S = 2.5  # a sound card holding sound that plays none this long: go on silent


@dataclass
class _Anchor:
    """From clock time ``at`` on, media time ``t0`` plays at ``speed`` up to ``end``."""

    at: float
    t0: float
    speed: float
    end: float

    def media(self, now: float) -> float:
        return min(self.end, self.t0 + max(0.0, now - self.at) * self.speed)

    def stop_at(self) -> float:
        return self.at + (self.end - self.t0) / self.speed


class Playback(QObject):
    """Play / pause, speed, loop and mute for one window (see the module docstring)."""

    def __init__(self, state: ViewState, status: StatusBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.status = status
        self.session: Any = None
        self.speed = 1.0
        self.loop = False
        self.muted = False
        self.playing = False
        self.snippets = 0  # snippets handed to the sound card (scrubbing)
        self.out: AudioOutput | None = None
        self.out_reason = ""
        self._out_tried = False
        self._audio = False  # this run is clocked by the sound card (else the wall clock)
        self._wall = WallClock()
        self._anchors: list[_Anchor] = []
        self._range = (0, 0)  # frames played (inclusive)
        self._feed: AudioFeed | None = None
        self._next_feed: AudioFeed | None = None
        self._left = 0  # samples of the current turn not yet handed to the card
        self._pending = np.zeros(0, np.float32)
        self._stall = (0.0, 0.0)  # (the card's played position, when it last moved)
        self._said: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._seek = QTimer(self)
        self._seek.setSingleShot(True)
        self._seek.setInterval(SEEK_MS)
        self._seek.timeout.connect(self._seek_now)
        self._seek_frame = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._snips = TaskRunner(self._pool, self)
        self._snip_want: float | None = None
        self._snip_busy = False
        self._quiet = False
        state.frame_changed.connect(self._state_moved)

    # -- the project ---------------------------------------------------------------------------
    def attach(self, session: Any) -> None:
        self.session = session
        if session.video.has_audio:
            self.output()  # a sink's first start is slow (PulseAudio: up to 2 s): start it now

    def detach(self) -> None:
        self._halt()
        self.session = None
        self._snip_want = None

    def shut(self) -> None:
        """The window closes: give the sound card's stream back (a sound server mixes every
        open stream, playing or not) and open none again."""
        self.detach()
        self._out_tried = True
        if self.out is not None:
            self.out.close()
            self.out = None

    def output(self) -> AudioOutput | None:
        """The sound card, opened the first time it is needed (None: there is none)."""
        if not self._out_tried:
            self._out_tried = True
            self.out, self.out_reason = open_output()
            if self.out is not None:
                self.out.set_volume(0.0 if self.muted else 1.0)
        if self.out is not None and not self.out.ok:
            self.out_reason = f"{self.out.name} stopped working"
            self.out = None
        return self.out

    # -- commands ------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        s = self.session
        if s is None or self.playing:
            return
        video = s.video
        out = self.output() if video.has_audio else None
        if not video.has_audio:
            self._say_once("noaudio", "This video has no audio track: playing silent")
        elif out is None:
            self._say_once("nodevice", f"no audio output: playing silent ({self.out_reason})")
        self._audio = out is not None
        self.playing = True
        self._start(self.state.frame, restart_at_end=True)
        self._timer.start()

    def pause(self) -> None:
        if not self.playing:
            return
        self._halt()
        with self.quiet():
            self.state.settle()  # the paused frame becomes the one to click on

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)
        self.status.say(f"Playback speed {self.speed:g}×"
                          + (" (the pitch follows the speed)" if self.speed != 1 else ""))
        if self.playing:
            self._start(self.state.frame)

    def change_speed(self, step: int) -> None:
        k = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
        self.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, k + step))])

    def set_loop(self, on: bool) -> None:
        self.loop = bool(on)
        first, last = self._play_range()
        if not self.loop:
            self.status.say("Loop off")
        elif (first, last) == (0, self.session.frame_count - 1 if self.session else 0):
            self.status.say("Loop: the whole video (no audible segment here)")
        else:
            self.status.say(f"Loop: frames {first}–{last}")
        if self.playing:
            self._start(self.state.frame)

    def set_muted(self, on: bool) -> None:
        self.muted = bool(on)
        if self.out is not None:
            self.out.set_volume(0.0 if self.muted else 1.0)
        self.status.say("Sound muted" if self.muted else "Sound on")

    def _state_moved(self, frame: int, playing: bool) -> None:
        if not playing and self.session is not None:
            self.moved(frame, True)

    def moved(self, frame: int, changed: bool) -> None:
        """The person moved the playhead: playing on from there, or a snippet of its sound."""
        if self.playing:  # hold there, and play on once the playhead rests
            self._close_feeds()
            self._anchors = [_Anchor(math.inf, self.session.video.time_of(frame), self.speed,
                                     math.inf)]
            self._seek_frame = frame
            self._seek.start()
        elif changed and not self._quiet:
            self._snippet(frame)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Moves of the playhead inside this block play no snippet."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _seek_now(self) -> None:
        if self.playing and self.session is not None:
            self._start(self._seek_frame)

    def media_time(self) -> float:
        """Seconds of video time playing now (the clock)."""
        now = self._now()
        a = self._current(now)
        return a.media(now) if a is not None else 0.0

    # -- running -------------------------------------------------------------------------------
    def _now(self) -> float:
        return self.out.played_s() if self._audio and self.out is not None else \
            self._wall.played_s()

    def _current(self, now: float) -> _Anchor | None:
        while len(self._anchors) > 1 and self._anchors[1].at <= now:
            self._anchors.pop(0)
        return self._anchors[0] if self._anchors else None

    def _play_range(self) -> tuple[int, int]:
        n = self.session.frame_count if self.session is not None else 1
        seg = current_segment(self.session, self.state) if self.loop else None
        return (seg.start, seg.end) if seg is not None else (0, n - 1)

    def _span(self) -> tuple[float, float]:
        video, (first, last) = self.session.video, self._range
        end = video.time_of(last + 1) if last + 1 < len(video) else video.duration
        return video.time_of(first), end

    def _start(self, frame: int, restart_at_end: bool = False) -> None:
        """Play from ``frame`` (the first of the range when outside it) at the current speed."""
        self._range = first, last = self._play_range()
        if not first <= frame <= last or (restart_at_end and frame >= last):
            frame = first
        start_t, end_t = self._span()
        t = max(start_t, self.session.video.time_of(frame))
        self._close_feeds()
        if self._audio:
            out = self.out
            at = out.written_s()
            self._feed = AudioFeed(self.session.video, t, self._decode_rate())
            self._left = self._samples(end_t - t)
            self._stall = (out.played_s(), time.monotonic())
        else:
            self._wall.start()
            at = self._wall.played_s()
        self._anchors = [_Anchor(at, t, self.speed, end_t)]

    def _decode_rate(self) -> int:
        return max(1000, int(round(self.out.rate / self.speed)))

    def _samples(self, media_s: float) -> int:
        return max(0, int(round(media_s * self.out.rate / self.speed)))

    def _tick(self) -> None:
        if not self.playing or self.session is None:
            self._halt()
            return
        if self._audio:
            if self.output() is None:  # the device went away: carry on silent from here
                t = self.media_time()
                self._say_once("lost", f"no audio output: playing silent ({self.out_reason})")
                self._audio = False
                self._start(self.session.video.index_at(t))
            else:
                self._fill()
        now = self._now()
        a = self._current(now)
        if a is None or math.isinf(a.at):  # none yet, or held where the person put it
            return
        if self._audio and self._stalled(now):  # a card that takes sound but plays none
            self._say_once("stalled", "the audio output does not play: playing silent")
            self._audio = False
            self._start(self.session.video.index_at(a.media(now)))
            return
        if not self._audio and self.loop:
            while now >= a.stop_at():
                a = _Anchor(a.stop_at(), self._span()[0], self.speed, a.end)
                self._anchors = [a]
        first, last = self._range
        if a.media(now) >= a.end and not self.loop:
            self._halt()
            with self.quiet():  # the end of the range: no snippet there
                self.state.set_frame(last, playing=True)
                self.state.settle()
            return
        frame = min(last, max(first, self.session.video.index_at(a.media(now))))
        if frame != self.state.frame:
            self.state.set_frame(frame, playing=True)

    def _stalled(self, played: float) -> bool:
        """The card has held sound for :data:`STALL_S` without playing any of it (a sound
        server that hangs): the frames must not wait for it."""
        if played != self._stall[0] or self.out.buffered() <= 0:
            self._stall = (played, time.monotonic())
            return False
        return time.monotonic() - self._stall[1] > STALL_S

    def _fill(self) -> None:
        """Hand the card what it takes now, without waiting for the decoder."""
        out = self.out
        while out.free() > 0:
            if not len(self._pending):
                nxt = self._next_audio(out.free())
                if nxt is None:
                    return
                self._pending = nxt
            n = out.write(self._pending)
            self._pending = self._pending[n:]
            if n == 0:
                return

    def _next_audio(self, free: int) -> np.ndarray | None:
        out = self.out
        if self._feed is None:
            return None
        if self._left <= 0:
            if not self.loop:  # silence after the end, until the clock gets there
                return np.zeros(free, np.float32)
            start_t, end_t = self._span()  # the next turn, gapless
            self._anchors.append(_Anchor(out.written_s(), start_t, self.speed, end_t))
            if self._feed is not None:
                self._feed.close()
            self._feed, self._next_feed = self._next_feed, None
            if self._feed is None:
                self._feed = AudioFeed(self.session.video, start_t, self._decode_rate())
            self._left = self._samples(end_t - start_t)
        chunk = self._feed.take()
        if chunk is None:
            if not self._feed.finished:
                return None  # the decoder is behind: the card runs dry and the frames wait
            if self._feed.error is not None:
                self._say_once("decode", f"The audio cannot be decoded ({self._feed.error}); "
                               "playing on without it")
            chunk = np.zeros(min(self._left, free), np.float32)  # the track ended early
        chunk = chunk[:self._left]
        self._left -= len(chunk)
        if self.loop and self._next_feed is None and self._left < out.rate * AHEAD_S:
            self._next_feed = AudioFeed(self.session.video, self._span()[0],
                                        self._decode_rate())
        return chunk

    def _halt(self) -> None:
        self.playing = False
        self._timer.stop()
        self._seek.stop()
        self._wall.stop()
        self._close_feeds()
        self._anchors = []

    def _close_feeds(self) -> None:
        for f in (self._feed, self._next_feed):
            if f is not None:
                f.close()
        self._feed = self._next_feed = None
        self._pending = np.zeros(0, np.float32)
        self._left = 0

    def _say_once(self, key: str, text: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self.status.say(text)

    # -- scrubbing -----------------------------------------------------------------------------
    def _snippet(self, frame: int) -> None:
        s = self.session
        if s is None or self.muted or not s.video.has_audio or self.output() is None:
            return
        self._snip_want = s.video.time_of(frame)
        if not self._snip_busy:
            self._decode_snippet()

    def _decode_snippet(self) -> None:
        t, self._snip_want = self._snip_want, None
        video, out, session = self.session.video, self.out, self.session
        self._snip_busy = True

        def work() -> np.ndarray:
            from annotator.core.audio import iter_audio

            gen = iter_audio(video.path, t, rate=out.rate, chunk_s=SNIPPET_S,
                             t0=getattr(video, "_t0", None))
            try:
                return next(gen, np.zeros(0, np.float32))
            finally:
                gen.close()

        def done(a: np.ndarray) -> None:
            if session is not self.session:
                self._snip_busy = False
                return
            k = min(len(a) // 2, int(out.rate * 0.005))  # 5 ms fades: no clicks
            if k:
                ramp = np.linspace(0.0, 1.0, k, dtype=np.float32)
                a = a.copy()
                a[:k] *= ramp
                a[-k:] *= ramp[::-1]
            self._write_snippet(out, a, tries=10)

        def failed(_exc: BaseException) -> None:
            self._snip_busy = False  # a snippet that cannot be decoded is simply not heard

        self._snips.submit(work, done, failed)

    def _write_snippet(self, out: AudioOutput, a: np.ndarray, tries: int) -> None:
        """Whole, once the card has room (the tail of what played last drains first); a
        newer position wanted meanwhile replaces it: never a backlog of old snippets."""
        if self._snip_want is None and out.free() < len(a) and tries > 0 and not self.playing:
            QTimer.singleShot(20, self, lambda: self._write_snippet(out, a, tries - 1))
            return
        self._snip_busy = False
        if (self._snip_want is None and not self.playing and not self.muted
                and self.session is not None and out is self.out and out.write(a)):
            self.snippets += 1
        if self._snip_want is not None and self.session is not None:
            self._decode_snippet()
