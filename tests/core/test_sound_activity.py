"""The sound-activity detector against videos whose sound is known: the demo, and a generated
40-second track of tones and noise bursts over low background noise."""

import numpy as np
import pytest

from annotator.core.audio import AudioAnalysis
from annotator.core.sound_activity import (
    DEFAULTS,
    Span,
    detect,
    detect_features,
    temporal_iou,
    to_frames,
)
from annotator.core.video_open import open_video
from annotator.demo import SOUNDS, write_demo_video
from tests.core.audio_synth import EVENTS, events_audio, write_video


def union(spans):
    out = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [tuple(x) for x in out]


def check_against(found, known, slack=0.1):
    """IoU >= 0.8 with the known spans, and no proposal in the silent parts."""
    got = [(sp.start_s, sp.end_s) for sp in found]
    assert temporal_iou(got, known) >= 0.8, (got, known)
    for s, e in got:
        assert any(a - slack <= s and e <= b + slack for a, b in union(known)), (s, e)


def test_demo_proposals_cover_the_known_sounds(tmp_path):
    video = write_demo_video(tmp_path / "demo.mp4")
    known = [span for _cat, spans in SOUNDS.values() for span in spans]
    an = AudioAnalysis(video, tmp_path / "cache")
    found = detect(an)  # builds the cache first
    assert an.ready and found
    check_against(found, known)
    assert all(sp.score > DEFAULTS["on_db"] for sp in found)


def test_generated_tones_and_noise_bursts_are_found_one_by_one(tmp_path):
    path = write_video(tmp_path / "gen.mp4", events_audio())
    known = [(s, e) for _kind, s, e, _p in EVENTS]
    with open_video(path) as video:
        an = AudioAnalysis(video, tmp_path / "cache")
        found = detect(an)
        check_against(found, known)
        # every event is one proposal of its own (they are seconds apart), edges within 50 ms
        assert len(found) == len(known)
        for sp, (s, e) in zip(found, known):
            assert abs(sp.start_s - s) < 0.05 and abs(sp.end_s - e) < 0.05
        # 10 fps: frame i shows [i/10, (i+1)/10); 2–5 s is frames 20–49, 8–9.5 s 80–94
        frames = to_frames(found, video.times)
        assert [(a, b) for a, b, _ in frames][:2] == [(20, 49), (80, 94)]
        # only sounds louder than -20 dBFS: the 440 Hz tone (-17 dBFS) alone
        loud = detect(an, min_level_db=-20.0)
        assert [(round(sp.start_s), round(sp.end_s)) for sp in loud] == [(2, 5)]


def test_hysteresis_minimum_duration_and_merging_on_features():
    hop = 0.01
    energy = np.full(1000, -60.0)  # 10 s of background at -60 dBFS
    energy[100:300] = -30.0  # a sound: 30 dB over the floor
    energy[300:310] = -52.0  # its tail: 8 dB (between off and on): still the same span
    energy[500:550] = -50.0  # 10 dB: never reaches on_db
    energy[700:705] = -20.0  # 50 ms: too short
    energy[800:850] = -25.0
    energy[870:900] = -25.0  # 200 ms after the previous one: merged
    flux = np.zeros(1000)
    spans = detect_features(hop, energy, flux, smooth_s=0.0)
    assert [(round(s.start_s, 3), round(s.end_s, 3)) for s in spans] == [
        (0.995, 3.095), (7.995, 8.995)]
    assert spans[0].score == pytest.approx((200 * 30 + 10 * 8) / 210)
    # a flux rise adds to the activation: the 10 dB sound with onsets becomes a span
    flux[500:550] = 10.0
    assert len(detect_features(hop, energy, flux, smooth_s=0.0)) == 3
    quiet_left_out = detect_features(hop, energy, flux, min_level_db=-28.0, smooth_s=0.0)
    assert [round(sp.start_s, 3) for sp in quiet_left_out] == [7.995]
    with pytest.raises(TypeError, match="unknown detector parameter"):
        detect_features(hop, energy, flux, threshold=3)
    assert detect_features(hop, np.zeros(0), np.zeros(0)) == []


def test_adaptive_floor_follows_a_slowly_rising_background():
    hop = 0.01
    t = np.arange(12000) * hop  # 120 s
    energy = -70.0 + 20.0 * t / 120  # the background rises 20 dB (a fan speeding up)
    energy[6000:6300] += 25.0  # one sound at 60 s
    spans = detect_features(hop, energy, np.zeros_like(energy))
    assert [(round(s.start_s), round(s.end_s)) for s in spans] == [(60, 63)]
    # a floor that cannot adapt (the whole-track percentile) takes the late background for
    # sound
    flat = detect_features(hop, energy, np.zeros_like(energy), max_floor_rise_db=0.0)
    assert flat[-1].end_s == pytest.approx(120.0, abs=0.1)


def test_temporal_iou_and_frames():
    assert temporal_iou([(0, 1), (2, 3)], [(0, 1), (2, 3)]) == 1.0
    assert temporal_iou([(0, 2)], [(1, 3)]) == pytest.approx(1 / 3)
    times = np.arange(10) / 2.0  # 2 fps
    # frames whose middle is in the span (frame i shows [i/2, i/2 + 0.5))
    assert to_frames([Span(0.9, 2.1, 5.0)], times) == [(2, 3, 5.0)]
    assert to_frames([Span(1.2, 2.3, 5.0)], times) == [(2, 4, 5.0)]
    assert to_frames([Span(4.6, 9.0, 1.0)], times) == [(9, 9, 1.0)]
    assert to_frames([Span(1.05, 1.2, 1.0)], times) == [(2, 2, 1.0)]  # inside one frame
