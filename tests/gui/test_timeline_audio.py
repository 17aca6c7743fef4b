"""The timeline's sound rows in the real window: the demo's waveform and spectrogram drawn where
its generated sounds are (and nothing where it is silent), at every zoom; proposals found from
the audio by the menu command, assigned to an object with A and rejected with Shift+R, each
undone with Ctrl+Z; a video without an audio track says so in the rows and its segments are
still drawn by dragging."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from annotator.core.project import Project
from annotator.demo import FPS, SOUNDS
from annotator.gui.timeline import LABEL_W, ROW_H
from annotator.gui.timeline_sound import CLIP_COLOR, gain_label

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier


def _ready(ui, qtbot):
    tl = ui.win.timeline
    qtbot.waitUntil(lambda: len(tl.objects) == 2 and tl.audio.state == "ready", timeout=30000)
    ui.idle()
    return tl


def _images(tl, qtbot):
    """The waveform and spectrogram images of the view on screen, once they are drawn."""
    tl.repaint()
    qtbot.waitUntil(lambda: tl.audio.images is not None
                    and tl.audio.images[0][:3] == (tl.geom.v0, tl.geom.v1, tl.geom.plot_w),
                    timeout=10000)
    return tl.audio.images[1].copy(), tl.audio.images[2].copy()


def _wheel(widget, pos: QPointF) -> None:
    """One step of the mouse wheel, up, at ``pos`` (delivered like the platform's)."""
    QApplication.sendEvent(widget, QWheelEvent(
        pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))


def _column(img, tl, frame: int) -> np.ndarray:
    """The image's pixel column in the middle of ``frame`` (RGB, top to bottom)."""
    x = int(tl._x(frame + 0.5) - LABEL_W)
    return np.array([img.pixelColor(x, y).getRgb()[:3] for y in range(img.height())])


def _lit(col: np.ndarray) -> int:
    return int((col.sum(axis=1) > 150).sum())


def _clipped(img) -> bool:
    """Any column tipped in orange (louder than the row)?"""
    tips = [img.pixelColor(x, y).getRgb()[:3] for x in range(img.width())
            for y in (0, img.height() - 1)]
    return CLIP_COLOR in tips


def test_waveform_and_spectrogram_show_the_sounds_where_they_are_at_every_zoom(ui, qtbot):
    tl = _ready(ui, qtbot)
    assert tl.audio.gain == 1.0  # the demo is loud already: no gain, nothing clipped
    bell = SOUNDS["bell"][1][0]  # the bell rings from 0.4 s: frame 10
    silent, ringing = int(0.2 * FPS), int(bell[0] * FPS) + 1
    for zoom in (0, 4):  # the whole video, then zoomed in (wheel up at its start)
        for _ in range(zoom):
            _wheel(tl, QPointF(tl._x(0) + 1, 30))
        assert tl.geom.v0 <= silent and ringing < tl.geom.v1
        wave, spec = _images(tl, qtbot)
        assert wave.width() == tl.geom.plot_w == tl.width() - LABEL_W - 4
        # silence: the centre line only; the bell's strike: a tall trace
        assert _lit(_column(wave, tl, silent)) <= 2, zoom
        assert _lit(_column(wave, tl, ringing)) >= wave.height() // 4, zoom
        assert not _clipped(wave), zoom
        # the spectrogram is dark in silence, bright somewhere (the 880 Hz band) at the strike
        assert _column(spec, tl, silent).max() < 60, zoom
        assert _column(spec, tl, ringing).max() > 150, zoom
    assert tl.geom.v1 - tl.geom.v0 < tl.geom.n  # it did zoom in


@pytest.fixture
def proposals(demo_dir):
    """The demo with two sound proposals in its store, in free parts of the bell's row, as the
    detector leaves them (the detector itself runs in the next test and in tests/core)."""
    with Project.open(demo_dir) as project:
        project.store.set_proposals([(70, 100, 9.0), (185, 195, 12.0)])
    return demo_dir


def _states(store) -> dict[tuple[int, int], str]:
    return {(r.start, r.end): r.state for r in store.proposals()}


def _sound_row(tl) -> int:
    return int(tl.geom.sound_top + 5)


def test_a_assigns_the_proposal_to_the_object_and_shift_r_rejects_one(proposals, ui, qtbot):
    tl = _ready(ui, qtbot)
    qtbot.waitUntil(lambda: len(tl.audio.proposals) == 2, timeout=10000)
    ui.key(Qt.Key.Key_1)  # the bell
    bell = ui.store.object_by_name("bell").id
    assert ui.win.state.object_id == bell
    # click the proposal on the sound row: it is selected and the playhead goes there
    qtbot.mouseClick(tl, LEFT, pos=QPoint(round(tl._x(190.5)), _sound_row(tl)))
    assert ui.win.state.frame == 190 and tl.audio.selected is not None
    ui.key(Qt.Key.Key_A)
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(bell)] == [(10, 65), (120, 180),
                                                                   (185, 195)]
    assert _states(ui.store)[(185, 195)] == "accepted"
    ui.key(Qt.Key.Key_Z, CTRL)
    ui.idle()
    assert [(s.start, s.end) for s in ui.store.segments(bell)] == [(10, 65), (120, 180)]
    assert _states(ui.store)[(185, 195)] == "open"
    # the other one, under the playhead (no click on it): rejected, then undone
    ui.win.state.set_frame(85)
    ui.key(Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    ui.idle()
    assert _states(ui.store) == {(70, 100): "rejected", (185, 195): "open"}
    qtbot.waitUntil(lambda: [r.state for r in tl.audio.proposals] == ["rejected", "open"],
                    timeout=5000)
    ui.key(Qt.Key.Key_Z, CTRL)
    ui.idle()
    assert _states(ui.store) == {(70, 100): "open", (185, 195): "open"}
    assert [(s.start, s.end) for s in ui.store.segments(bell)] == [(10, 65), (120, 180)]


def test_assigning_over_an_objects_segment_says_why_and_changes_nothing(proposals, ui, qtbot):
    tl = _ready(ui, qtbot)
    qtbot.waitUntil(lambda: len(tl.audio.proposals) == 2, timeout=10000)
    ui.key(Qt.Key.Key_2)  # the drum: 50–140 lies over the proposal 70–100
    ui.win.state.set_frame(80)
    steps = ui.win.session.history.count()
    ui.key(Qt.Key.Key_A)
    ui.idle()
    assert "overlap" in ui.win.status.currentMessage()
    assert _states(ui.store)[(70, 100)] == "open"
    assert ui.win.session.history.count() == steps


def test_propose_from_audio_fills_the_sound_row_and_undo_empties_it(ui, qtbot):
    tl = _ready(ui, qtbot)
    assert ui.store.proposals() == []
    ui.trigger("propose")  # Review ▸ Propose segments from audio
    qtbot.waitUntil(lambda: len(tl.audio.proposals) > 0, timeout=20000)
    ui.idle()
    spans = [(r.start, r.end) for r in ui.store.proposals("open")]
    assert spans and "sound proposal" in ui.win.status.currentMessage()
    # every proposal lies on the demo's sounds (the first sound starts at 0.4 s: frame 10)
    first = min(s for segs in SOUNDS.values() for s, _e in segs[1])
    assert min(s for s, _e in spans) >= int(first * FPS) - 2
    ui.key(Qt.Key.Key_Z, CTRL)
    ui.idle()
    assert ui.store.proposals("open") == []
    qtbot.waitUntil(lambda: not tl.audio.proposals, timeout=5000)


def _mute_video(path):
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(60):
            fr = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 4, np.uint8), format="rgb24")
            fr.pts, fr.time_base = i, Fraction(1, FPS)
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def test_a_video_without_audio_says_so_and_segments_are_still_drawn(ui, qtbot, tmp_path):
    win = ui.win
    video = _mute_video(tmp_path / "mute.mp4")
    with Project.create(tmp_path / "mute.avsproj", video) as project:
        project.store.add_object("dog")
    win.open_path(tmp_path / "mute.avsproj")
    qtbot.waitUntil(lambda: win.session is not None and win.session.video.path == video,
                    timeout=30000)
    tl = win.timeline
    qtbot.waitUntil(lambda: tl.audio.state == "none" and len(tl.objects) == 1, timeout=10000)
    assert tl.audio.text == "no audio track"
    tl.grab()  # it paints
    ui.trigger("propose")
    assert "no audio track" in win.status.currentMessage()
    y = int(tl.geom.row_top(tl.objects[0].id) + ROW_H // 2)
    qtbot.mousePress(tl, LEFT, pos=QPoint(round(tl._x(10)), y))
    qtbot.mouseMove(tl, QPoint(round(tl._x(20)), y))
    qtbot.mouseMove(tl, QPoint(round(tl._x(30)), y))
    qtbot.mouseRelease(tl, LEFT, pos=QPoint(round(tl._x(30)), y))
    ui.idle()
    assert [(s.start, s.end) for s in win.session.store.segments()] == [(10, 29)]


@pytest.fixture
def slow_build(monkeypatch):
    """The real ``AudioAnalysis.build``, held at 40 % until ``go`` is set (at most 60 s): a fake
    delay standing in for an hour-long track, so the test sees the window while it builds."""
    import threading

    from annotator.core.audio import AudioAnalysis

    reached, go = threading.Event(), threading.Event()
    real = AudioAnalysis.build

    def held(self, progress=None, cancel=None):
        if progress:
            progress(0.4)
        reached.set()
        go.wait(60)
        return real(self, progress, cancel)

    monkeypatch.setattr(AudioAnalysis, "build", held)
    yield reached, go
    go.set()


def test_the_rows_say_how_far_the_analysis_got_and_the_window_works_meanwhile(slow_build, ui,
                                                                              qtbot):
    reached, go = slow_build
    tl = ui.win.timeline
    try:
        qtbot.waitUntil(reached.is_set, timeout=30000)
        qtbot.waitUntil(lambda: tl.audio.text == "analysing the sound… 40%", timeout=5000)
        tl.grab()  # it paints the text meanwhile
        # the window goes on working: a segment drawn while the sound is analysed
        qtbot.waitUntil(lambda: len(tl.objects) == 2, timeout=10000)
        y = int(tl.geom.row_top(tl.objects[1].id) + ROW_H // 2)
        qtbot.mousePress(tl, LEFT, pos=QPoint(round(tl._x(150)), y))
        qtbot.mouseMove(tl, QPoint(round(tl._x(160)), y))
        qtbot.mouseRelease(tl, LEFT, pos=QPoint(round(tl._x(170)), y))
        ui.idle()
        assert [(s.start, s.end) for s in ui.store.segments(tl.objects[1].id)] == [(50, 140),
                                                                                    (150, 169)]
        assert tl.audio.state == "building"
        go.set()
        qtbot.waitUntil(lambda: tl.audio.state == "ready", timeout=30000)
        assert tl.audio.text == ""
    finally:
        go.set()  # before the window closes (closing waits for the build)


def test_an_unreadable_audio_track_says_so_in_the_rows_and_the_window_goes_on(ui, qtbot,
                                                                             tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "audio_synth", Path(__file__).parents[1] / "core" / "audio_synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    win = ui.win
    src = win.session.video.path  # the demo's video: H.264 + AAC
    video = synth.garble_audio(src, tmp_path / "garbled.mp4")  # every audio packet random
    with Project.create(tmp_path / "garbled.avsproj", video) as project:
        project.store.add_object("bell")
    win.open_path(tmp_path / "garbled.avsproj")
    qtbot.waitUntil(lambda: win.session is not None and win.session.video.path == video,
                    timeout=30000)
    tl = win.timeline
    qtbot.waitUntil(lambda: tl.audio.state == "failed", timeout=30000)
    assert tl.audio.text.startswith("sound not shown:") and "garbled.mp4" in tl.audio.text
    assert "cannot be shown" in win.status.currentMessage()
    tl.grab()
    ui.win.state.set_frame(30)
    ui.idle()
    assert win.canvas.view.index == 30  # the frames still show


def _quiet_51_video(path, amp: float = 0.02, seconds: float = 8.0):
    """A tiny H.264 picture with a quiet 5.1 AAC track, as a film's often is: a "voice" (220 Hz)
    on the centre channel one second in every two, at ``amp``; faint noise on the front pair;
    a loud 40 Hz rumble on the LFE channel (which a mixdown to mono leaves out)."""
    rate, fps = 48000, 10
    n = int(seconds * rate)
    t = np.arange(n) / rate
    ch = np.zeros((6, n), np.float32)  # FL FR FC LFE BL BR
    voice = ((t % 2.0) >= 0.5) & ((t % 2.0) < 1.5)
    ch[2] = amp * np.sin(2 * np.pi * 220 * t) * voice
    noise = np.random.default_rng(1).normal(0, 0.06 * amp, n)
    ch[0] = ch[1] = noise
    ch[3] = 0.5 * np.sin(2 * np.pi * 40 * t)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        ast = out.add_stream("aac", rate=rate)
        ast.layout = "5.1"
        img = np.full((48, 64, 3), 90, np.uint8)
        for _ in range(int(seconds * fps)):
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        for k in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(ch[:, k:k + 1024]),
                                            format="fltp", layout="5.1")
            af.sample_rate, af.pts, af.time_base = rate, k, Fraction(1, rate)
            for pkt in ast.encode(af):
                out.mux(pkt)
        for pkt in ast.encode():
            out.mux(pkt)
    return path


def test_a_quiet_5_1_track_is_drawn_with_a_gain_its_row_names(ui, qtbot, tmp_path):
    win = ui.win
    video = _quiet_51_video(tmp_path / "quiet51.mp4")
    with av.open(str(video)) as c:
        assert c.streams.audio[0].codec_context.channels == 6
    with Project.create(tmp_path / "quiet51.avsproj", video) as project:
        project.store.add_object("voice")
    win.open_path(tmp_path / "quiet51.avsproj")
    qtbot.waitUntil(lambda: win.session is not None and win.session.video.path == video,
                    timeout=30000)
    tl = win.timeline
    qtbot.waitUntil(lambda: tl.audio.state == "ready" and len(tl.objects) == 1, timeout=30000)
    # the voice peaks near 0.02 in the mono mixdown (the centre channel at full weight, the
    # LFE's rumble left out): a gain of some 40 brings it to most of the row
    assert 20 <= tl.audio.gain <= 60
    assert tl.audio.gain == int(tl.audio.gain)  # two figures: the label says what is drawn
    wave, _spec = _images(tl, qtbot)
    fps = win.session.fps
    voice, pause = int(1.0 * fps), int(1.75 * fps)  # mid-voice; mid-pause
    assert _lit(_column(wave, tl, voice)) >= wave.height() // 2  # not a flat line
    assert _lit(_column(wave, tl, pause)) <= wave.height() // 4  # the pause: faint noise
    assert not _clipped(wave)
    # the row's name says the gain: "waveform ×39", drawn beside "waveform"
    assert gain_label(tl.audio.gain) == f"×{int(tl.audio.gain)}"

    def name_column():
        return tl.grab().toImage().copy(0, tl.geom.wave_top, LABEL_W, tl.geom.wave_h)

    named = name_column()
    gain, tl.audio.gain = tl.audio.gain, 1.0  # the same row without a gain, for comparison
    try:
        assert name_column() != named
    finally:
        tl.audio.gain = gain
