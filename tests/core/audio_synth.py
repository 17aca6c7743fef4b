"""Generated test videos with sound at known times (written with PyAV; nothing downloaded).

:func:`events_audio` renders tones and band-limited noise bursts over low background noise;
:func:`write_video` muxes a tiny H.264 picture with it (AAC in MP4 by default), or with no
audio at all; :func:`garble_audio` rewrites a file with every audio packet replaced by
random bytes (a damaged audio track the decoder rejects).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

RATE = 44100
# (kind, start_s, end_s, parameters): what sounds when in the 40-second generated track
EVENTS = [
    ("tone", 2.0, 5.0, {"hz": [440.0], "amp": 0.2}),
    ("noise", 8.0, 9.5, {"band": (1000.0, 3000.0), "amp": 0.05}),
    ("tone", 12.0, 16.0, {"hz": [1500.0], "amp": 0.1, "tremolo": 5.0}),
    ("noise", 19.0, 20.0, {"band": (200.0, 600.0), "amp": 0.08}),
    ("tone", 23.0, 28.0, {"hz": [300.0, 450.0], "amp": 0.15}),
    ("noise", 31.0, 31.6, {"band": (4000.0, 6000.0), "amp": 0.03}),
    ("tone", 34.0, 37.5, {"hz": [800.0], "amp": 0.05}),
]
SECONDS = 40.0
BACKGROUND = 0.001  # white noise standard deviation: -60 dBFS


def band_noise(n: int, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spec, n)
    return x / (x.std() + 1e-12)


def events_audio(events=EVENTS, seconds: float = SECONDS, background: float = BACKGROUND,
                 seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out = rng.normal(0, background, n)
    ramp = int(0.005 * RATE)
    for kind, s, e, p in events:
        a, b = int(s * RATE), min(int(e * RATE), n)
        if b - a < 2 * int(0.005 * RATE):
            continue  # past the end of a shorter track
        t = np.arange(b - a) / RATE
        if kind == "tone":
            x = sum(np.sin(2 * np.pi * hz * t) for hz in p["hz"]) / len(p["hz"])
            if "tremolo" in p:
                x = x * (0.6 + 0.4 * np.sin(2 * np.pi * p["tremolo"] * t))
        else:
            x = band_noise(b - a, *p["band"], rng)
        env = np.ones(b - a)
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
        out[a:b] += p["amp"] * x * env
    return out.astype(np.float32)


def write_video(path: Path, audio: np.ndarray | None, seconds: float = SECONDS, fps: int = 10,
                audio_codec: str = "aac", audio_delay_s: float = 0.0) -> Path:
    """A tiny grey H.264 video of ``seconds`` with ``audio`` (mono float32 at RATE), whose
    first sample is ``audio_delay_s`` after the first frame."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        ast = None
        if audio is not None:
            ast = out.add_stream(audio_codec, rate=RATE)
            ast.layout = "mono"
        img = np.full((48, 64, 3), 90, np.uint8)
        for i in range(int(seconds * fps)):
            img[:, :, 0] = i % 256
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if ast is not None:
            fmt = "s16" if audio_codec.startswith("pcm_s16") else "fltp"
            chunk = 1024
            for k in range(0, len(audio), chunk):
                part = audio[None, k:k + chunk]
                if fmt == "s16":
                    part = (np.clip(part, -1, 1) * 32767).astype(np.int16)
                af = av.AudioFrame.from_ndarray(part, format=fmt, layout="mono")
                af.sample_rate = RATE
                af.pts = k + int(round(audio_delay_s * RATE))
                af.time_base = Fraction(1, RATE)
                for pkt in ast.encode(af):
                    out.mux(pkt)
            for pkt in ast.encode():
                out.mux(pkt)
    return path


def garble_audio(src: Path, dst: Path, seed: int = 5,
                 between: tuple[float, float] | None = None) -> Path:
    """``src`` remuxed into ``dst`` with the payload of every audio packet (or of those that
    start ``between`` two times, seconds) replaced by random bytes (the video stream is copied
    as it is)."""
    rng = np.random.default_rng(seed)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vout = out.add_stream_from_template(vin)
        aout = out.add_stream_from_template(ain)
        for pkt in inp.demux(vin, ain):
            if pkt.dts is None:
                continue
            hit = between is None or (pkt.pts is not None and between[0] <= float(
                pkt.pts * pkt.time_base) < between[1])
            if pkt.stream is ain and hit:
                bad = av.Packet(rng.integers(0, 256, max(pkt.size, 8), np.uint8).tobytes())
                bad.pts, bad.dts, bad.time_base = pkt.pts, pkt.dts, pkt.time_base
                bad.stream = aout
                out.mux(bad)
            else:
                pkt.stream = vout if pkt.stream is vin else aout
                out.mux(pkt)
    return dst
