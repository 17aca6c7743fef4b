"""The embedded demo: a short generated video with sounding objects, and its project.

The video (H.264 + AAC in MP4, made with PyAV) shows a yellow bell swinging across the frame
and a blue drum pulsing in a corner over a textured background; the audio track rings the
bell (880 Hz) and beats the drum (110 Hz) exactly during their audible segments, which the
project records. Nothing is downloaded: everything is computed here.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import platformdirs

W, H, FPS, SECONDS = 640, 360, 25, 8
AUDIO_RATE = 44100
# object name, category, audible (start_s, end_s) intervals
SOUNDS = {
    "bell": ("bell", [(0.4, 2.6), (4.8, 7.2)]),
    "drum": ("drum", [(2.0, 5.6)]),
}


def default_dir() -> Path:
    return Path(platformdirs.user_data_dir("avs-annotator", appauthor=False)) / "demo"


def _background(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    base = np.stack([60 + 40 * np.sin(xx / 57.0), 90 + 30 * np.cos(yy / 41.0),
                     70 + 25 * np.sin((xx + yy) / 83.0)], axis=-1)
    noise = rng.normal(0, 6, (H // 8, W // 8, 3)).repeat(8, 0).repeat(8, 1)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _bell_center(t: float) -> tuple[float, float]:
    return W * (0.25 + 0.45 * (0.5 + 0.5 * np.sin(t * 1.3))), H * (0.35 + 0.1 * np.cos(t * 2.1))


def _drum_radius(t: float) -> float:
    loud = any(s <= t <= e for s, e in SOUNDS["drum"][1])
    return 38 + (8 * abs(np.sin(t * 2 * np.pi * 2)) if loud else 0)


def render_frame(i: int, bg: np.ndarray) -> np.ndarray:
    t = i / FPS
    frame = bg.copy()
    yy, xx = np.mgrid[:H, :W]
    cx, cy = _bell_center(t)
    bell = ((xx - cx) / 42) ** 2 + ((yy - cy) / 50) ** 2 <= 1
    frame[bell] = (235, 200, 40)
    frame[bell & (yy > cy + 30)] = (180, 140, 20)
    r = _drum_radius(t)
    drum = (np.abs(xx - W * 0.8) <= r) & (np.abs(yy - H * 0.72) <= r * 0.7)
    frame[drum] = (40, 70, 200)
    return frame


def _audio(n_samples: int) -> np.ndarray:
    t = np.arange(n_samples) / AUDIO_RATE
    out = np.zeros(n_samples, np.float32)
    for s, e in SOUNDS["bell"][1]:
        on = (t >= s) & (t <= e)
        out[on] += 0.3 * np.sin(2 * np.pi * 880 * t[on]) * np.exp(-((t[on] - s) % 0.5) * 4)
    for s, e in SOUNDS["drum"][1]:
        on = (t >= s) & (t <= e)
        out[on] += 0.5 * np.sin(2 * np.pi * 110 * t[on]) * np.exp(-((t[on] - s) % 0.25) * 18)
    return out


def write_demo_video(path: Path) -> Path:
    """Encode the demo video to ``path`` (H.264 + AAC in MP4)."""
    rng = np.random.default_rng(7)
    bg = _background(rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast", "g": "50"}
        ast = out.add_stream("aac", rate=AUDIO_RATE)
        ast.layout = "mono"
        for i in range(FPS * SECONDS):
            frame = av.VideoFrame.from_ndarray(render_frame(i, bg), format="rgb24")
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        audio = _audio(AUDIO_RATE * SECONDS)
        chunk = 1024
        for k in range(0, len(audio), chunk):
            af = av.AudioFrame.from_ndarray(audio[None, k:k + chunk], format="flt", layout="mono")
            af.sample_rate = AUDIO_RATE
            af.pts = k
            af.time_base = Fraction(1, AUDIO_RATE)
            for pkt in ast.encode(af):
                out.mux(pkt)
        for pkt in ast.encode():
            out.mux(pkt)
    tmp.replace(path)
    return path


def make_demo(directory: str | Path | None = None, *, fresh: bool = False):
    """Create (or reopen) the demo project; returns the open :class:`Project`."""
    import shutil

    from annotator.core.project import Project, is_project

    directory = Path(directory) if directory else default_dir()
    project_dir = directory / "demo.avsproj"
    video = directory / "demo.mp4"
    if fresh and directory.exists():
        shutil.rmtree(project_dir, ignore_errors=True)
        video.unlink(missing_ok=True)
    if is_project(project_dir) and video.exists():
        return Project.open(project_dir)
    shutil.rmtree(project_dir, ignore_errors=True)
    write_demo_video(video)
    project = Project.create(project_dir, video)
    store = project.store
    with project.open_video() as v:
        with store.transaction():
            op = store.new_op("demo", "Demo objects and audible segments")
            for name, (category, spans) in SOUNDS.items():
                oid = store.add_object(name, category, op=op)
                for s, e in spans:
                    store.add_segment(oid, v.index_at(s), v.index_at(e), op=op)
    return project
