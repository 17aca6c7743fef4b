"""The sound card, through QtMultimedia's :class:`QAudioSink` in push mode, and the wall clock
that stands in for it when there is none.

Both clocks answer :meth:`played_s`: seconds of output heard since the clock was made. For the
sink that is what it was given minus what it still holds (so it stops when the decoder lags and
the sink runs dry: the frames wait for the sound); for the wall clock it is the time spent
playing. The sink is started once and then only fed or left to run dry: on PulseAudio a fresh
stream takes up to two seconds before it plays, a drained one resumes at once.

``AVS_ANNOTATOR_AUDIO=none`` turns the sound off (playback then runs silent, as on a machine
without a sound device).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PySide6.QtCore import QElapsedTimer

BUFFER_S = 0.1  # what the sink holds: the most the sound can run ahead of a seek


class WallClock:
    """Seconds spent playing, for silent playback (no device, or a video without audio)."""

    def __init__(self) -> None:
        self._timer = QElapsedTimer()
        self._before = 0.0  # seconds played before the last start
        self.running = False

    def start(self) -> None:
        if not self.running:
            self._timer.start()
            self.running = True

    def stop(self) -> None:
        if self.running:
            self._before += self._timer.nsecsElapsed() / 1e9
            self.running = False

    def played_s(self) -> float:
        return self._before + (self._timer.nsecsElapsed() / 1e9 if self.running else 0.0)


class AudioOutput:
    """Mono samples to the default output device (see :func:`open_output`)."""

    def __init__(self, device: Any, fmt: Any) -> None:
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink

        self.rate = fmt.sampleRate()
        self._float = fmt.sampleFormat() == QAudioFormat.SampleFormat.Float
        self._bytes = 4 if self._float else 2
        self.name = device.description()
        self.sink = QAudioSink(device, fmt)
        self.sink.setBufferSize(int(self.rate * BUFFER_S) * self._bytes)
        self._io = self.sink.start()  # idle until written to
        self._written = 0  # samples handed to the sink since start()
        self.volume = 1.0

    @property
    def ok(self) -> bool:
        return self._io is not None and self.sink.error().name in ("NoError", "UnderrunError")

    def free(self) -> int:
        """Samples the sink takes now without blocking."""
        return self.sink.bytesFree() // self._bytes

    def buffered(self) -> int:
        """Samples given but not yet played."""
        return max(0, self.sink.bufferSize() - self.sink.bytesFree()) // self._bytes

    def write(self, samples: np.ndarray) -> int:
        """Hand over as much of ``samples`` (mono float32) as fits; returns how many went."""
        n = min(len(samples), self.free())
        if n <= 0 or self._io is None:
            return 0
        a = samples[:n]
        data = (a.astype(np.float32, copy=False) if self._float
                else (np.clip(a, -1.0, 1.0) * 32767).astype(np.int16))
        took = int(self._io.write(np.ascontiguousarray(data).tobytes())) // self._bytes
        self._written += took
        return took

    def written_s(self) -> float:
        return self._written / self.rate

    def played_s(self) -> float:
        return (self._written - self.buffered()) / self.rate

    def set_volume(self, v: float) -> None:
        self.volume = v
        self.sink.setVolume(v)

    def close(self) -> None:
        self.sink.stop()
        self._io = None


def open_output() -> tuple[AudioOutput | None, str]:
    """The default output device, or None and why there is none (never raises)."""
    if os.environ.get("AVS_ANNOTATOR_AUDIO", "").lower() in ("none", "off", "0"):
        return None, "sound turned off by AVS_ANNOTATOR_AUDIO"
    try:
        from PySide6.QtMultimedia import QAudioFormat, QMediaDevices
    except ImportError as e:  # e.g. Linux without the PulseAudio client library (libpulse0)
        return None, f"QtMultimedia cannot load: {e}"
    try:
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return None, "no sound device"
        fmt = QAudioFormat()
        fmt.setSampleRate(device.preferredFormat().sampleRate() or 48000)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
        if not device.isFormatSupported(fmt):
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            return None, f"{device.description()} plays neither float nor 16-bit mono"
        out = AudioOutput(device, fmt)
        if not out.ok:
            reason = f"{device.description()} did not start ({out.sink.error().name})"
            out.close()
            return None, reason
        return out, device.description()
    except Exception as e:  # noqa: BLE001 - a sound problem never stops the app
        return None, f"the sound device failed: {e}"
