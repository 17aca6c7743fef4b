"""Audio decoding and the cached analysis on real generated videos (the demo's, and others)."""

import json
import threading

import numpy as np
import pytest

from annotator.core.audio import ANALYSIS_RATE, AudioAnalysis, iter_audio
from annotator.core.video import VideoError
from annotator.core.video_open import open_video
from annotator.demo import write_demo_video
from tests.core.audio_synth import events_audio, garble_audio, write_video

R = ANALYSIS_RATE


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo_video(tmp_path_factory.mktemp("demo") / "demo.mp4")


@pytest.fixture(scope="module")
def demo_samples(demo):
    return np.concatenate(list(iter_audio(demo)))


@pytest.fixture(scope="module")
def silent_video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("mute") / "mute.mp4", None, seconds=3.0)


def test_iter_audio_streams_the_demo_in_chunks(demo, demo_samples):
    chunks = list(iter_audio(demo, chunk_s=0.5))
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    assert {len(c) for c in chunks[:-1]} == {R // 2} and 0 < len(chunks[-1]) <= R // 2
    a = demo_samples
    assert np.array_equal(np.concatenate(chunks), a)
    assert abs(len(a) / R - 8.0) < 0.05  # the demo is 8 s
    t = np.arange(len(a)) / R
    assert np.abs(a[t < 0.38]).max() < 1e-3 and np.abs(a[t > 7.25]).max() < 1e-3
    # the bell rings 880 Hz at 0.4–2.0 s (alone), the drum 110 Hz at 2.7–4.7 s (alone)
    for (s, e), hz in (((0.5, 1.9), 880), ((2.7, 4.7), 110)):
        x = a[(t >= s) & (t < e)]
        spec = np.abs(np.fft.rfft(x))
        assert abs(np.fft.rfftfreq(len(x), 1 / R)[spec.argmax()] - hz) < 5


def test_iter_audio_from_a_time_matches_the_full_decode(demo, demo_samples):
    for start in (1.0, 3.0, 5.5):
        part = np.concatenate(list(iter_audio(demo, start)))
        k = int(start * R)
        assert abs(len(part) - (len(demo_samples) - k)) <= 2
        n = min(len(part), len(demo_samples) - k) - 2
        # the same samples (a seek restarts the codec and resampler: tiny differences)
        assert np.abs(part[:n] - demo_samples[k:k + n]).max() < 0.06
    assert list(iter_audio(demo, 20.0)) == []


def test_iter_audio_stereo_and_errors(tmp_path, silent_video):
    pcm = write_video(tmp_path / "pcm.mkv", events_audio(seconds=4.0, events=[]),
                      seconds=4.0, audio_codec="pcm_s16le")
    chunks = list(iter_audio(pcm, channels=2, chunk_s=1.0))
    assert chunks[0].shape == (R, 2) and np.allclose(chunks[0][:, 0], chunks[0][:, 1])
    with pytest.raises(VideoError, match="has no audio track"):
        list(iter_audio(silent_video))
    aac = write_video(tmp_path / "a.mp4", events_audio(seconds=4.0), seconds=4.0)
    bad = garble_audio(aac, tmp_path / "bad.mkv")
    with pytest.raises(VideoError, match=r"bad\.mkv: its audio track is damaged"):
        list(iter_audio(bad))


def test_analysis_builds_the_cache_once_and_reads_it(demo, demo_samples, tmp_path):
    with open_video(demo) as video:
        an = AudioAnalysis(video, tmp_path)
        assert an.has_audio and an.duration_s == pytest.approx(8.0) and not an.ready
        lo, hi = an.envelope(0, 8, 10)
        assert not lo.any() and not hi.any()  # not built yet: zeros, no decoding
        seen = []
        assert an.build(progress=seen.append)
        assert an.ready and seen[-1] == 1.0 and seen == sorted(seen)
    files = sorted(p.name for p in (tmp_path / "audio").iterdir())
    assert "meta.json" in files and "mel.npy" in files and not [f for f in files if "tmp" in f]
    mtime = (tmp_path / "audio" / "mel.npy").stat().st_mtime_ns
    an = AudioAnalysis(demo, tmp_path)  # a second reader (from the path): the same cache
    assert an.ready and an.build()
    assert (tmp_path / "audio" / "mel.npy").stat().st_mtime_ns == mtime  # not rebuilt

    a = demo_samples[: 8 * R]
    # columns of exactly 4096 samples: the 4096 level, equal to the samples' own min and max
    lo, hi = an.envelope(0.0, 31 * 4096 / R, 31)
    blocks = a[: 31 * 4096].reshape(31, 4096)
    assert lo.dtype == np.float32 and lo.shape == (31,)
    assert np.array_equal(lo, blocks.min(1)) and np.array_equal(hi, blocks.max(1))
    # zoomed in below a block: each column shows the 64-sample block it falls in
    lo, hi = an.envelope(1.0, 1.01, 100)
    k = (np.floor((1.0 + 0.0001 * np.arange(100)) * R / 64)).astype(int)
    assert np.array_equal(hi, a[: len(a) // 64 * 64].reshape(-1, 64).max(1)[k])
    # zoomed out: silence before 0.4 s and after 7.2 s, sound between, nothing past the end
    lo, hi = an.envelope(-2.0, 10.0, 120)
    t = -2.0 + 0.1 * np.arange(120)
    assert not hi[(t < 0.3) | (t > 7.3)].any() and not lo[(t < 0.3) | (t > 7.3)].any()
    assert (hi[(t > 0.5) & (t < 7.0)] > 0.02).all() and (lo <= 0).all() and (hi <= 1).all()


def test_spectrogram_and_onsets(demo, tmp_path):
    an = AudioAnalysis(demo, tmp_path)
    assert an.build()
    spec = an.spectrogram(0.0, 8.0, 160)  # 50 ms columns
    assert spec.shape == (64, 160) and spec.dtype == np.float32
    assert spec.min() >= 0 and spec.max() <= 1 and spec.max() > 0.9
    t = 0.05 * np.arange(160)
    bell = spec[:, (t > 0.5) & (t < 1.8)].mean(1).argmax()
    drum = spec[:, (t > 2.8) & (t < 4.6)].mean(1).argmax()
    assert drum < bell  # row 0 is the lowest band: the drum's 110 Hz below the bell's 880
    assert spec[:, (t < 0.3) | (t > 7.3)].max() < 0.05
    wide = an.spectrogram(-10.0, 30.0, 40)  # a zoomed-out view reads the coarse copy
    assert wide.shape == (64, 40) and not wide[:, :10].any() and not wide[:, 19:].any()
    assert wide[:, 10:18].max() > 0.5
    onsets = an.onsets()
    assert onsets.dtype == np.float64 and np.all(np.diff(onsets) > 0)
    for strike in (0.4, 0.9, 1.4, 4.8, 5.3, 6.3):  # the bell rings again every 0.5 s
        assert np.abs(onsets - strike).min() < 0.03, strike
    assert not ((onsets < 0.35) | (onsets > 7.25)).any()


def test_stale_damaged_or_deleted_cache_is_rebuilt(demo, tmp_path):
    other = write_video(tmp_path / "other.mp4", events_audio(seconds=3.0, events=[]),
                        seconds=3.0)
    assert AudioAnalysis(other, tmp_path).build()
    an = AudioAnalysis(demo, tmp_path)
    assert not an.ready  # the cache is another video's
    assert an.build() and an.ready
    meta = tmp_path / "audio" / "meta.json"
    assert json.loads(meta.read_text())["key"]["duration_s"] == pytest.approx(8.0)
    import os

    os.utime(demo, ns=(1, 1))  # touched (or copied): the same content, still valid
    assert AudioAnalysis(demo, tmp_path).ready
    meta.write_text("{not json")
    assert not AudioAnalysis(demo, tmp_path).ready
    import shutil

    shutil.rmtree(tmp_path / "audio")  # safe to delete
    an = AudioAnalysis(demo, tmp_path)
    assert not an.ready and an.build() and an.ready


def test_build_can_be_cancelled(demo, tmp_path):
    cancel = threading.Event()

    def progress(f):
        if f > 0:
            cancel.set()

    an = AudioAnalysis(demo, tmp_path)
    assert an.build(progress=progress, cancel=cancel) is False
    assert not an.ready and not (tmp_path / "audio" / "meta.json").exists()
    assert [p.name for p in (tmp_path / "audio").iterdir()] == []  # no temp file left
    assert an.build() and an.ready


def test_video_without_audio_gives_empty_results(silent_video, tmp_path):
    from annotator.core.sound_activity import detect

    with open_video(silent_video) as video:
        an = AudioAnalysis(video, tmp_path)
        assert not an.has_audio and not an.ready and an.duration_s == pytest.approx(3.0)
        assert an.build()
        lo, hi = an.envelope(0, 3, 50)
        assert lo.shape == (50,) and not lo.any() and not hi.any()
        assert an.spectrogram(0, 3, 20).shape == (64, 20) and not an.spectrogram(0, 3, 20).any()
        assert an.onsets().size == 0 and detect(an) == []
    assert not (tmp_path / "audio").exists()


def test_onsets_streamed_in_any_chunks_equal_the_whole_array():
    from annotator.core.audio_features import OnsetPicker, pick_onsets

    rng = np.random.default_rng(0)
    flux, energy = np.abs(rng.normal(0, 2, 3000)), rng.normal(-50, 20, 3000)
    whole = pick_onsets(flux, energy, 0.01)
    assert len(whole) > 100 and np.all(np.diff(whole) >= 5)  # wait_s = 50 ms between
    for size in (1, 7, 100, 2999):
        picker = OnsetPicker(0.01)
        for k in range(0, 3000, size):
            picker.add(flux[k:k + size], energy[k:k + size])
        assert np.array_equal(picker.finish(), whole), size


def test_real_video_without_audio(shared, tmp_path):
    """bikes.mp4 (real footage) has no audio stream: nothing is decoded or written."""
    path = shared("data", "videos", "bikes.mp4")
    with open_video(path) as video:
        an = AudioAnalysis(video, tmp_path)
        assert not an.has_audio and an.duration_s == pytest.approx(10.0, abs=0.1)
        assert an.build() and not an.ready and an.onsets().size == 0
        assert not an.envelope(0, 10, 30)[1].any()
    with pytest.raises(VideoError, match="bikes.mp4: has no audio track"):
        next(iter_audio(path))
    assert not (tmp_path / "audio").exists()


def test_lost_packets_become_silence_and_the_rest_stays_in_time(tmp_path):
    tone = [("tone", 0.2, 3.8, {"hz": [440.0], "amp": 0.2})]
    good = write_video(tmp_path / "a.mp4", events_audio(events=tone, seconds=4.0), seconds=4.0)
    clean = garble_audio(good, tmp_path / "clean.mkv", between=(100.0, 101.0))  # remuxed only
    hole = garble_audio(good, tmp_path / "hole.mkv", between=(1.0, 1.5))  # 0.5 s undecodable
    a = np.concatenate(list(iter_audio(clean)))
    b = np.concatenate(list(iter_audio(hole)))
    assert abs(len(a) - len(b)) < 0.002 * R
    assert np.array_equal(a[: R * 9 // 10], b[: R * 9 // 10])
    assert not b[int(1.1 * R):int(1.45 * R)].any()  # the lost packets: silence

    def lag(k):  # the shift (samples) of b against a at k: what best lines them up
        return min(range(-400, 400), key=lambda d: np.abs(a[k + d:k + d + 1600]
                                                          - b[k:k + 1600]).mean())

    # after the hole the tone is where it was (to Matroska's 1 ms timestamps), not 0.5 s early
    assert all(abs(lag(int(s * R))) <= R // 1000 for s in (1.7, 2.5, 3.5))


def test_audio_that_starts_after_the_first_frame_is_placed_in_video_time(tmp_path):
    tone = [("tone", 0.5, 1.5, {"hz": [440.0], "amp": 0.2})]
    path = write_video(tmp_path / "late.mp4", events_audio(events=tone, seconds=2.0,
                                                           background=0.0),
                       seconds=3.0, audio_delay_s=1.0)  # the tone is at 1.5–2.5 s of video
    a = np.concatenate(list(iter_audio(path)))
    loud = np.flatnonzero(np.abs(a) > 0.05) / R
    assert abs(loud[0] - 1.5) < 0.01 and abs(loud[-1] - 2.5) < 0.01
    part = np.concatenate(list(iter_audio(path, 2.0)))  # from the middle of the tone
    assert np.abs(part[: R // 4]).max() > 0.15 and abs(len(part) - (len(a) - 2 * R)) <= 2
