"""Playback with sound, driven by the keys a person presses (Space, L, M, ",", ".").

Silent playback (no sound device: forced with ``AVS_ANNOTATOR_AUDIO=none``, as on a server or
in CI without a sound server) runs on the wall clock; where a sound server answers (a real
card, or PulseAudio's null sink as in .ci/run) the sound card's played position is the clock,
and these tests compare the frame shown with what the sink says it has played.
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from annotator.demo import FPS


@pytest.fixture
def silent(monkeypatch):
    """No sound device, whatever this machine has (set before the window opens the project)."""
    monkeypatch.setenv("AVS_ANNOTATOR_AUDIO", "none")


def _frames_seen(qtbot, win, until, timeout=15000):
    """The frames the window went to, polled while waiting for ``until(seen)``."""
    seen: list[int] = []

    def check() -> None:
        if not seen or seen[-1] != win.state.frame:
            seen.append(win.state.frame)
        assert until(seen)

    qtbot.waitUntil(check, timeout=timeout)
    return seen


def _played_for(ui, ms: int) -> int:
    """Frames advanced by playing ``ms`` from the first frame (Home, Space, wait, Space)."""
    ui.key(Qt.Key.Key_Home)
    assert ui.win.state.frame == 0
    ui.key(Qt.Key.Key_Space)
    ui.qtbot.wait(ms)
    ui.key(Qt.Key.Key_Space)
    assert not ui.win.playback.playing
    return ui.win.state.frame


def test_playback_without_a_sound_device_runs_silent(silent, ui, qtbot):
    win = ui.win
    assert win.playback.out is None
    ui.key(Qt.Key.Key_Space)
    assert win.playback.playing
    assert "no audio output: playing silent" in win.status.currentMessage()
    qtbot.waitUntil(lambda: win.state.frame >= 10, timeout=10000)  # the frames advance
    qtbot.waitUntil(lambda: win.canvas.view.index >= 10, timeout=10000)  # and are shown
    ui.key(Qt.Key.Key_Space)  # pause
    assert not win.playback.playing
    stopped = win.state.frame
    qtbot.wait(400)
    assert win.state.frame == stopped
    ui.idle()
    assert win.canvas.view.index == stopped
    # said once: playing again does not say it again
    win.status.clearMessage()
    ui.key(Qt.Key.Key_Space)
    assert "playing silent" not in win.status.currentMessage()
    qtbot.waitUntil(lambda: win.state.frame > stopped, timeout=10000)
    ui.key(Qt.Key.Key_Space)


def test_playback_stops_at_the_last_frame(silent, ui, qtbot):
    win = ui.win
    ui.key(Qt.Key.Key_End)
    for _ in range(12):
        ui.key(Qt.Key.Key_Left)
    ui.key(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not win.playback.playing, timeout=10000)
    assert win.state.frame == win.session.frame_count - 1
    ui.key(Qt.Key.Key_Space)  # at the end, Space plays from the start again
    assert win.playback.playing
    qtbot.waitUntil(lambda: 0 < win.state.frame < 20, timeout=10000)
    ui.key(Qt.Key.Key_Space)


def test_moving_the_playhead_while_playing_plays_on_from_there(silent, ui, qtbot):
    win = ui.win
    ui.key(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: win.state.frame >= 40, timeout=10000)
    ui.key(Qt.Key.Key_Home)
    seen = _frames_seen(qtbot, win, lambda s: s[-1] >= 8 and min(s) <= 2)
    assert win.playback.playing and min(seen) <= 2 and seen[-1] < 40
    ui.key(Qt.Key.Key_Space)


def test_double_speed_advances_about_twice_as_far(silent, ui, qtbot):
    win = ui.win
    one = _played_for(ui, 1200)
    ui.key(Qt.Key.Key_Period)  # faster: 2×
    assert win.playback.speed == 2.0
    two = _played_for(ui, 1200)
    ui.key(Qt.Key.Key_Comma)
    ui.key(Qt.Key.Key_Comma)  # slower, slower: 0.5×
    assert win.playback.speed == 0.5
    half = _played_for(ui, 1200)
    assert one >= 10
    assert 1.4 * one <= two <= 2.8 * one, (one, two)
    assert 0.3 * one <= half <= 0.7 * one, (one, half)


def test_loop_wraps_to_the_segment_start(silent, ui, qtbot):
    win = ui.win
    _oid, seg = ui.bell()
    win.segments_panel.select(seg.id)
    qtbot.mouseClick(win.segments_panel.go_btn, Qt.MouseButton.LeftButton)
    ui.idle()
    assert win.state.frame == seg.start
    ui.key(Qt.Key.Key_L)
    assert win.actions_["loop"].isChecked()
    ui.key(Qt.Key.Key_Period)  # 2×: a turn of the bell's segment in about a second
    ui.key(Qt.Key.Key_Space)
    seen = _frames_seen(qtbot, win, lambda s: any(b < a for a, b in zip(s, s[1:])))
    ui.key(Qt.Key.Key_Space)
    wrap = next(i for i in range(1, len(seen)) if seen[i] < seen[i - 1])
    assert seen[wrap - 1] >= seg.end - 4  # it got to the end of the segment …
    assert seen[wrap] <= seg.start + 6  # … and went on from its start
    assert all(seg.start <= f <= seg.end for f in seen)


def test_a_video_without_audio_plays_silent(ui, qtbot, tmp_path):
    win = ui.win
    path = tmp_path / "mute.mp4"
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(40):
            img = np.full((48, 64, 3), i * 5, np.uint8)
            fr = av.VideoFrame.from_ndarray(img, format="rgb24")
            fr.pts, fr.time_base = i, Fraction(1, FPS)
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    win.open_path(path)
    qtbot.waitUntil(lambda: win.session is not None and win.session.video.path == path,
                    timeout=30000)
    ui.idle()
    ui.key(Qt.Key.Key_Space)
    assert "no audio track: playing silent" in win.status.currentMessage()
    qtbot.waitUntil(lambda: win.state.frame >= 5, timeout=10000)
    ui.key(Qt.Key.Key_Space)


def test_the_sound_card_is_the_clock(ui, qtbot):
    """Where a sound server answers: the frame shown follows the sink's played position."""
    win = ui.win
    out = win.playback.out
    if out is None:
        pytest.skip(f"no audio output here ({win.playback.out_reason}); .ci/run starts "
                    "PulseAudio with a null sink")
    qtbot.wait(300)  # the sink was started when the project opened: it is idle, drained
    p0 = out.sink.processedUSecs()
    ui.key(Qt.Key.Key_Space)
    video = win.session.video
    moved = 0
    shown_off = []
    played = 0.0
    # sample every 150 ms until the sink has played 0.6 s by its own count (a sink the sound
    # server suspended while idle may start late: the frames must wait for it, not the test)
    deadline = time.monotonic() + 10
    while played < 0.6 and time.monotonic() < deadline:
        qtbot.wait(150)
        played = (out.sink.processedUSecs() - p0) / 1e6  # Qt's own count of what it played
        expected = video.index_at(played)
        assert abs(win.state.frame - expected) <= 1, (win.state.frame, expected, played)
        shown_off.append(expected - win.canvas.view.index)
        moved = max(moved, win.state.frame)
    ui.key(Qt.Key.Key_Space)
    assert played >= 0.6, f"the sink played {played:.2f} s in 10 s"
    assert moved >= 10
    # the picture itself is decoded off the GUI thread (frames are dropped when it lags): never
    # ahead of the sound, and on a busy machine a few frames behind at most
    # (bench/playback_bench.py measures it on a quiet one)
    assert min(shown_off) >= -1 and sorted(shown_off)[len(shown_off) // 2] <= 3, shown_off

    # scrubbing while paused plays a snippet; muted (M) it does not
    before = win.playback.snippets
    ui.key(Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: win.playback.snippets == before + 1, timeout=5000)
    ui.key(Qt.Key.Key_M)
    assert win.actions_["mute"].isChecked() and out.volume == 0.0
    ui.key(Qt.Key.Key_Right)
    qtbot.wait(500)
    assert win.playback.snippets == before + 1


def test_a_looped_segment_wraps_with_the_sound(ui, qtbot):
    """Where a sound server answers: the frames go back to the segment's start when the
    sound card has played one turn of it (the next turn's sound is queued behind the last
    sample of this one)."""
    win = ui.win
    out = win.playback.out
    if out is None:
        pytest.skip(f"no audio output here ({win.playback.out_reason})")
    _oid, seg = ui.bell()
    win.segments_panel.select(seg.id)
    qtbot.mouseClick(win.segments_panel.go_btn, Qt.MouseButton.LeftButton)
    ui.idle()
    ui.key(Qt.Key.Key_L)
    ui.key(Qt.Key.Key_Period)  # 2×
    qtbot.wait(300)
    p0 = out.sink.processedUSecs()
    ui.key(Qt.Key.Key_Space)
    seen = _frames_seen(qtbot, win, lambda s: any(b < a for a, b in zip(s, s[1:])))
    played = (out.sink.processedUSecs() - p0) / 1e6
    ui.key(Qt.Key.Key_Space)
    video = win.session.video
    turn = (video.time_of(seg.end + 1) - video.time_of(seg.start)) / 2.0  # seconds at 2×
    # it wrapped after one turn of sound (the sink never ran dry for long) …
    assert turn - 0.1 <= played <= turn + 0.5, (played, turn)
    wrap = next(i for i in range(1, len(seen)) if seen[i] < seen[i - 1])
    assert seen[wrap - 1] >= seg.end - 4 and seen[wrap] <= seg.start + 6
    assert all(seg.start <= f <= seg.end for f in seen)


def test_reopening_at_the_last_place_plays_no_snippet(ui, qtbot, demo_dir):
    win = ui.win
    if win.playback.out is None:
        pytest.skip(f"no audio output here ({win.playback.out_reason})")
    ui.key(Qt.Key.Key_End)  # a step while paused: a snippet
    qtbot.waitUntil(lambda: win.playback.snippets == 1, timeout=5000)
    ui.key(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)  # close the project
    assert win.session is None
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.session is not None and win.state.frame == win.session.frame_count - 1,
                    timeout=30000)
    ui.idle()
    qtbot.wait(300)
    assert win.playback.snippets == 1


def _record_peak_hz(ui, press_play_for_ms: int) -> float:
    """Play for a while from the current frame while PulseAudio's monitor of the default sink
    is recorded (parec); the loudest frequency of what was heard."""
    import os
    import select
    import signal
    import subprocess
    import time

    rate = 44100
    rec = subprocess.Popen(["parec", "--raw", "--format=float32le", "--channels=1",
                            f"--rate={rate}", "--latency-msec=20", "-d", "@DEFAULT_MONITOR@"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = b""
    try:
        deadline = time.monotonic() + 5
        while len(got) < 8192 and time.monotonic() < deadline:  # the recording has begun
            if select.select([rec.stdout], [], [], 0.05)[0]:
                got += os.read(rec.stdout.fileno(), 1 << 16)
        assert got, "parec recorded nothing"
        out = ui.win.playback.out
        start = out.played_s()
        ui.key(Qt.Key.Key_Space)
        # the sink's own count of what it played, not a fixed wait: a sink that the sound
        # server suspended when idle may take a while to start on a busy machine
        ui.qtbot.waitUntil(lambda: out.played_s() - start >= press_play_for_ms / 1000,
                           timeout=15000)
        ui.key(Qt.Key.Key_Space)
        ui.qtbot.wait(500)
    finally:
        rec.send_signal(signal.SIGINT)  # parec writes out what it holds and ends
        got += rec.communicate(timeout=10)[0]
    data = np.frombuffer(got[:len(got) // 4 * 4], np.float32)
    loud = np.flatnonzero(np.abs(data) > 0.02)
    assert len(loud) and loud[-1] - loud[0] > rate // 4, "hardly anything was heard"
    x = data[loud[0]:loud[-1]][:16384]  # one stretch: cutting out the quiet samples of each
    x = x * np.hanning(len(x))  # cycle would raise the pitch
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.abs(np.fft.rfft(x)).argmax()])


def test_the_sound_heard_is_the_track_and_its_pitch_follows_the_speed(ui, qtbot):
    """Where PulseAudio answers: record its monitor while the demo's bell (880 Hz, alone from
    0.4 s to 2.0 s) plays at 1× and at 2× (the sound is resampled: the pitch doubles)."""
    import shutil

    win = ui.win
    if win.playback.out is None or shutil.which("parec") is None:
        pytest.skip("no PulseAudio output to record here (.ci/run starts one with a null sink)")
    at_bell = QPoint(round(win.timeline._x(15.5)), 8)  # frame 15, 0.6 s: the bell alone
    qtbot.mouseClick(win.timeline, Qt.MouseButton.LeftButton, pos=at_bell)
    ui.idle()
    assert win.state.frame == 15
    assert abs(_record_peak_hz(ui, 700) - 880) < 40
    qtbot.mouseClick(win.timeline, Qt.MouseButton.LeftButton, pos=at_bell)
    ui.idle()
    ui.key(Qt.Key.Key_Period)
    assert abs(_record_peak_hz(ui, 500) - 1760) < 80


def test_a_sound_card_that_plays_nothing_does_not_hold_the_frames(ui, qtbot, monkeypatch):
    """FAKE stall: where a sink exists, its played position is frozen (a sound server that
    hangs: it takes sound and plays none). After a couple of seconds playback goes on silent
    on the wall clock and says so once; the frames advance."""
    win = ui.win
    out = win.playback.out
    if out is None:
        pytest.skip(f"no audio output here ({win.playback.out_reason}); .ci/run starts "
                    "PulseAudio with a null sink")
    frozen = out.played_s()
    monkeypatch.setattr(out, "played_s", lambda: frozen)
    start = win.state.frame
    ui.key(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "does not play: playing silent" in win.status.currentMessage(),
                    timeout=10000)
    qtbot.waitUntil(lambda: win.state.frame >= start + 10, timeout=15000)
    ui.key(Qt.Key.Key_Space)


def test_closing_the_window_gives_the_sound_stream_back(qtbot, demo_dir):
    """Where PulseAudio answers: the window's stream is on the server while the window is open
    and gone once the window is closed (the sound server mixes every open stream, playing or
    not: closed windows that kept theirs left later ones silent, seen in the full suite)."""
    import shutil
    import subprocess

    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    if shutil.which("pactl") is None:
        pytest.skip("no pactl here (.ci/run starts PulseAudio with a null sink)")

    def streams() -> int:
        r = subprocess.run(["pactl", "list", "short", "sink-inputs"], capture_output=True,
                           text=True, timeout=10)
        return len(r.stdout.splitlines()) if r.returncode == 0 else -1

    application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    before = streams()
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    if win.playback.out is None or before < 0:
        pytest.skip(f"no audio output here ({win.playback.out_reason})")
    qtbot.waitUntil(lambda: streams() == before + 1, timeout=10000)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Q
    qtbot.waitUntil(lambda: streams() == before, timeout=10000)
    assert win.playback.out is None
