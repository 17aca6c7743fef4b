"""annotator.core.video on small videos made here with PyAV: the awkward cases real files have.

B-frames (decode order ≠ display order) with open GOPs, variable frame rate, containers whose
frame count is missing (mkv, webm) or wrong (a patched AVI header), truncated and damaged
files, non-video input, the frame cache, read-ahead, thread safety, the frame index round
trip and audio.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from annotator.core.video import FrameDecodeError, FrameIndex, Video, VideoError
from annotator.core.video_open import open_video
from annotator.errors import UserError

W, H = 96, 64
N = 60
X264 = {"preset": "veryfast", "bf": "3", "g": "12", "x264-params": "open-gop=1"}


def frame_image(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A picture that differs from every other index (so off-by-one reads are caught)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = (x * 2 + i * 7) % 256
    img[..., 1] = (y * 3 + i * 13) % 256
    img[..., 2] = (i * 29) % 256
    cx = (i * 5) % (w - 16)
    img[20:36, cx : cx + 16] = 255
    return img


def make_video(
    path: Path,
    n: int = N,
    codec: str = "libx264",
    fps: int = 25,
    pts: list[int] | None = None,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    audio: bool = False,
    pix_fmt: str = "yuv420p",
) -> Path:
    """Encode ``n`` frames of :func:`frame_image`; ``pts`` (ms) makes the frame rate variable."""
    with av.open(str(path), "w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=fps, options=options or {})
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        if pts is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        a = c.add_stream("aac", rate=16000, layout="mono") if audio else None
        for i in range(n):
            f = av.VideoFrame.from_ndarray(frame_image(i), format="rgb24")
            if pts is not None:
                f.pts, f.time_base = pts[i], Fraction(1, 1000)
            c.mux(s.encode(f))
        c.mux(s.encode())
        if a is not None:
            sr = 16000
            total = int(n / fps * sr)
            sig = (0.5 * np.sin(2 * np.pi * 440 * np.arange(total) / sr)).astype(np.float32)
            for k in range(0, total, 1024):
                af = av.AudioFrame.from_ndarray(
                    sig[None, k : k + 1024], format="flt", layout="mono"
                )
                af.sample_rate, af.pts = sr, k
                c.mux(a.encode(af))
            c.mux(a.encode())
    return path


def sequential(path: Path, tolerant: bool = False) -> list[np.ndarray]:
    """A plain sequential decode with PyAV (``tolerant``: skip packets that fail to decode)."""
    out: list[np.ndarray] = []
    with av.open(str(path)) as c:
        if not tolerant:
            return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        for p in c.demux(video=0):
            try:
                out.extend(f.to_ndarray(format="rgb24") for f in p.decode())
            except av.error.FFmpegError:
                pass
    return out


def check_random_access(v: Video, ref: list[np.ndarray], seed: int, reads: int = 50) -> None:
    rng = np.random.default_rng(seed)
    order = rng.integers(0, len(ref), reads).tolist() + rng.permutation(len(ref)).tolist()
    for i in order:
        assert np.array_equal(v[i], ref[i]), f"frame {i} differs from the sequential decode"


@pytest.fixture(scope="module")
def vids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(7)
    vfr = np.cumsum(rng.integers(10, 90, N))
    vfr = (vfr - vfr[0]).tolist()
    out = {
        "bframes.mp4": make_video(d / "bframes.mp4", options=X264),
        "bframes.mkv": make_video(d / "bframes.mkv", options=X264),
        "vp9.webm": make_video(
            d / "vp9.webm",
            codec="libvpx-vp9",
            options={"g": "10", "deadline": "realtime", "cpu-used": "8"},
        ),
        "vfr.mkv": make_video(d / "vfr.mkv", pts=vfr, options={"bf": "2", "g": "10"}),
        "vfr.mp4": make_video(d / "vfr.mp4", pts=vfr, options={"bf": "2", "g": "10"}),
        "mjpeg.avi": make_video(d / "mjpeg.avi", codec="mjpeg", pix_fmt="yuvj420p"),
        "mpeg4.avi": make_video(d / "mpeg4.avi", n=120, codec="mpeg4", options={"g": "12"}),
        "long.mkv": make_video(d / "long.mkv", n=120, options={"g": "12", "bf": "2"}),
        "faststart.mp4": make_video(
            d / "faststart.mp4",
            n=120,
            options={"g": "12", "bf": "2"},
            container_options={"movflags": "faststart"},
        ),
        "audio.mp4": make_video(d / "audio.mp4", audio=True, options={"g": "10"}),
        "bframes.ts": make_video(d / "bframes.ts", options=X264),
    }
    (d / "vfr.json").write_text(json.dumps(vfr))
    return out


# -- frame-accurate random access -----------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["bframes.mp4", "bframes.mkv", "bframes.ts", "vp9.webm", "mjpeg.avi", "mpeg4.avi"]
)
def test_random_access_equals_sequential_decode(vids, name):
    ref = sequential(vids[name])
    with open_video(vids[name], cache_bytes=0, readahead=0) as v:
        assert len(v) == len(ref)
        assert v.size == (W, H)
        assert v[0].shape == (H, W, 3) and v[0].dtype == np.uint8
        check_random_access(v, ref, seed=len(name))


def test_bframes_decode_order_differs_from_display_order(vids):
    with open_video(vids["bframes.mp4"], cache_bytes=0, readahead=0) as v:
        dp = v.frame_index.decode_pos
        assert np.any(np.diff(dp) < 0), "the test video should have B-frames"
        assert len(v.frame_index.key_ts) >= 4  # several GOPs, so seeks really happen
        # frames are in display order, i.e. look like what was encoded (lossy, so roughly)
        for i in (0, 13, 37, N - 1):
            err = np.abs(v[i].astype(int) - frame_image(i).astype(int)).mean()
            other = np.abs(v[i].astype(int) - frame_image(i + 1).astype(int)).mean()
            assert err < other


def test_missing_frame_count_mkv_webm(vids):
    for name in ("bframes.mkv", "vp9.webm"):
        with av.open(str(vids[name])) as c:
            assert c.streams.video[0].frames == 0  # the container does not say
        with open_video(vids[name]) as v:
            assert len(v) == N
            assert v.duration == pytest.approx(N / 25)


def test_wrong_frame_count_in_avi_header(vids, tmp_path):
    data = bytearray(vids["mpeg4.avi"].read_bytes())
    at = data.index(b"strh") + 8 + 32  # AVISTREAMHEADER.dwLength
    data[at : at + 4] = (1000).to_bytes(4, "little")
    p = tmp_path / "wrong_count.avi"
    p.write_bytes(bytes(data))
    with av.open(str(p)) as c:
        assert c.streams.video[0].frames == 1000  # the header lies
    ref = sequential(p)
    assert len(ref) == 120
    with open_video(p, cache_bytes=0, readahead=0) as v:
        assert len(v) == 120
        check_random_access(v, ref, seed=3)


def test_variable_frame_rate_times(vids):
    vfr = json.loads((vids["vfr.mkv"].parent / "vfr.json").read_text())
    for name in ("vfr.mkv", "vfr.mp4"):
        ref = sequential(vids[name])
        with open_video(vids[name], cache_bytes=0, readahead=0) as v:
            assert len(v) == N
            for i in range(N):
                assert v.time_of(i) == pytest.approx(vfr[i] / 1000, abs=1e-6)
                assert v.index_at(v.time_of(i)) == i
                if i + 1 < N:  # halfway to the next frame, frame i is still on screen
                    assert v.index_at((vfr[i] + vfr[i + 1]) / 2000) == i
            assert v.index_at(-5) == 0 and v.index_at(1e6) == N - 1
            assert v.fps == pytest.approx((N - 1) / (vfr[-1] / 1000), rel=2e-3)
            assert v.duration > v.time_of(N - 1)
            check_random_access(v, ref, seed=11)


def test_constant_rate_times(vids):
    with open_video(vids["bframes.mp4"]) as v:
        assert v.fps == 25.0
        assert v.time_of(0) == 0.0
        assert v.time_of(25) == pytest.approx(1.0)
        assert v.index_at(1.0) == 25 and v.index_at(1.039) == 25
        assert v.duration == pytest.approx(N / 25)
        assert not v.has_audio


def test_forward_reads_do_not_seek(vids, monkeypatch):
    """Reading frames in order decodes forward; a jump back seeks."""
    ref = sequential(vids["bframes.mp4"])
    with open_video(vids["bframes.mp4"], cache_bytes=0, readahead=0) as v:
        seeks: list[int] = []
        real_seek = v._seek
        monkeypatch.setattr(v, "_seek", lambda k: (seeks.append(k), real_seek(k)))
        for i in range(5, N):
            assert np.array_equal(v[i], ref[i])
        forward = len(seeks)
        assert np.array_equal(v[3], ref[3])
        assert len(seeks) == forward + 1
    assert forward <= 1


def test_negative_and_out_of_range_indices(vids):
    with open_video(vids["mjpeg.avi"]) as v:
        assert np.array_equal(v[-1], v[N - 1])
        assert np.array_equal(v[np.int64(3)], v[3])
        with pytest.raises(IndexError):
            v[N]
        with pytest.raises(IndexError):
            v[-N - 1]
        with pytest.raises(IndexError):
            v.time_of(N)
        with pytest.raises(ValueError):  # frames are shared with the cache: read-only
            v[2][0, 0, 0] = 1


def cut_without_reencoding(src: Path, dst: Path, skip: int) -> Path:
    """Remux ``src`` leaving out its first ``skip`` packets: the result starts mid-GOP."""
    with av.open(str(src)) as ic, av.open(str(dst), "w") as oc:
        ist = ic.streams.video[0]
        ost = oc.add_stream_from_template(ist)
        for p in [p for p in ic.demux(ist) if p.size][skip:]:
            q = av.Packet(bytes(p))
            q.pts, q.dts = p.pts, p.dts if p.dts is not None else p.pts
            q.is_keyframe, q.time_base, q.stream = p.is_keyframe, ist.time_base, ost
            oc.mux(q)
    return dst


@pytest.mark.parametrize("ext", ["mkv", "ts", "mp4"])
def test_file_starting_mid_gop(vids, tmp_path, ext):
    p = cut_without_reencoding(vids["long.mkv"], tmp_path / f"cut.{ext}", skip=5)
    ref = sequential(p, tolerant=True)
    with open_video(p, cache_bytes=0, readahead=0) as v:
        # the frames before the first keyframe do not decode: left out, as a plain decode does
        assert len(v) == len(ref) < 120 - 5
        assert any("before the first keyframe" in n for n in v.notes)
        check_random_access(v, ref, seed=9, reads=30)


# -- damaged and wrong input ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["long.mkv", "faststart.mp4", "mpeg4.avi"])
@pytest.mark.parametrize("keep", [0.3, 0.6])
def test_truncated_file_keeps_what_decodes(vids, tmp_path, name, keep):
    data = vids[name].read_bytes()
    p = tmp_path / f"cut_{name}"
    p.write_bytes(data[: int(len(data) * keep)])
    ref = sequential(p, tolerant=True)
    with open_video(p, cache_bytes=0, readahead=0) as v:
        n = len(v)
        # what decodes is kept; at most the last, incomplete packet's frame is left out
        assert 0 < n <= len(ref) and n >= len(ref) - 1
        assert n < 120
        if n < len(ref):
            assert any("truncated" in note or "left out" in note for note in v.notes)
        check_random_access(v, ref[:n], seed=n)
        with pytest.raises(IndexError):
            v[n]


def test_truncated_mp4_without_index_is_a_video_error(vids, tmp_path):
    data = vids["bframes.mp4"].read_bytes()  # moov atom at the end: cut off
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4") as e:
        open_video(p)
    assert isinstance(e.value, UserError)


def test_corrupt_frame_mid_file_is_reported_with_its_index(vids, tmp_path):
    src = vids["mjpeg.avi"]
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    data = bytearray(src.read_bytes())
    pos, size = packets[20]
    data[pos : pos + size] = bytes(size)
    p = tmp_path / "damaged.avi"
    p.write_bytes(bytes(data))
    with open_video(p, cache_bytes=0, readahead=0) as v:
        assert len(v) == N
        for i in (25, 20, 19, 21, 20, 0):
            if i == 20:
                with pytest.raises(FrameDecodeError) as e:
                    v[i]
                assert e.value.index == 20 and "frame 20" in str(e.value)
                assert "damaged.avi" in str(e.value)
            else:
                assert np.array_equal(v[i], sequential(src)[i])
        # everything else reads in order through the damage
        good = [i for i in range(N) if i != 20]
        assert all(v[i].shape == (H, W, 3) for i in good)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (
            lambda d: (d / "notes.mp4").write_text("just text\n" * 100) and d / "notes.mp4",
            "cannot be read as a video",
        ),
        (lambda d: (d / "empty.mkv").write_bytes(b"") or d / "empty.mkv", "is empty"),
        (lambda d: (d / "empty_dir").mkdir() or d / "empty_dir", "no frame images"),
        (
            lambda d: (d / "d2").mkdir() or (d / "d2" / "a.txt").write_text("x") and d / "d2",
            "no frame images",
        ),
    ],
)
def test_bad_input_raises_one_video_error_naming_the_file(tmp_path, make, match):
    p = make(tmp_path)
    with pytest.raises(VideoError, match=match) as e:
        open_video(p)
    assert p.name in str(e.value)
    assert e.value.path == str(p)


def test_audio_only_file_is_not_a_video(tmp_path):
    p = tmp_path / "tone.wav"
    with av.open(str(p), "w") as c:
        a = c.add_stream("pcm_s16le", rate=8000, layout="mono")
        f = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.int16), format="s16", layout="mono")
        f.sample_rate = 8000
        c.mux(a.encode(f))
        c.mux(a.encode())
    with pytest.raises(VideoError, match="no video stream"):
        open_video(p)


def test_audio_with_cover_art_is_not_a_video(tmp_path):
    p = tmp_path / "song.m4a.mp4"
    with av.open(str(p), "w") as c:
        a = c.add_stream("aac", rate=16000, layout="mono")
        v = c.add_stream("mjpeg", rate=1)
        v.width, v.height, v.pix_fmt = 64, 64, "yuvj420p"
        v.disposition = av.stream.Disposition.attached_pic
        cover = [*v.encode(av.VideoFrame.from_ndarray(frame_image(0, 64, 64), format="rgb24"))]
        cover += v.encode()
        for k in range(0, 16000, 1024):
            f = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="flt", layout="mono"
            )
            f.sample_rate, f.pts = 16000, k
            c.mux(a.encode(f))
        c.mux(a.encode())
        c.mux(cover)
    with av.open(str(p)) as c:
        assert len(c.streams.video) == 1  # the cover is a video stream, of one picture
    with pytest.raises(VideoError, match="no video stream"):
        open_video(p)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(vids, tmp_path):
    p = tmp_path / "locked.mp4"
    p.write_bytes(vids["bframes.mp4"].read_bytes())
    p.chmod(0)
    with pytest.raises(VideoError, match="permission"):
        open_video(p)


# -- frame folders --------------------------------------------------------------------------
def _folder(d: Path, n: int = 12) -> Path:
    d.mkdir()
    for i in range(n):
        cv2.imwrite(str(d / f"{i:05d}.png"), cv2.cvtColor(frame_image(i), cv2.COLOR_RGB2BGR))
    return d


def test_frame_folder(tmp_path):
    d = _folder(tmp_path / "frames")
    (d / "notes.txt").write_text("not a frame")
    with open_video(d, fps=10) as v:
        assert len(v) == 12 and v.size == (W, H) and v.fps == 10
        assert not v.has_audio
        assert v.time_of(5) == pytest.approx(0.5) and v.index_at(0.55) == 5
        assert v.duration == pytest.approx(1.2)
        for i in np.random.default_rng(1).permutation(12):
            assert np.array_equal(v[i], frame_image(i))  # PNG is lossless
        with pytest.raises(VideoError):
            v.audio_samples()


def test_frame_folder_natural_order_and_bad_frames(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    for i in (1, 2, 10, 11):
        cv2.imwrite(str(d / f"frame{i}.png"), frame_image(i))
    (d / "frame3.png").write_bytes(b"not a png")
    (d / "._frame1.png").write_bytes(b"macOS resource fork")
    cv2.imwrite(str(d / "frame4.png"), np.zeros((10, 10, 3), np.uint8))
    with open_video(d, readahead=0) as v:
        assert v.frame_index.source["names"] == [
            "frame1.png",
            "frame2.png",
            "frame3.png",
            "frame4.png",
            "frame10.png",
            "frame11.png",
        ]
        with pytest.raises(FrameDecodeError, match="frame3.png") as e:
            v[2]
        assert e.value.index == 2
        with pytest.raises(FrameDecodeError, match="10x10") as e:
            v[3]
        assert e.value.index == 3
        assert v[4].shape == (H, W, 3) and v[5].shape == (H, W, 3)


# -- cache, read-ahead, threads, close ------------------------------------------------------
def test_cache_byte_bound(vids):
    fb = W * H * 3
    with open_video(vids["bframes.mp4"], cache_bytes=5 * fb, readahead=0) as v:
        assert v.cache_max_bytes == 5 * fb
        for i in [30, 2, 50, 7, 8, 9, 10, 11, 12, 40, 41]:
            v[i]
            assert v.cache_nbytes <= 5 * fb
        assert len(v.cached_indices()) == 5
        assert v.cached_indices()[-1] == 41  # most recently used last
    with open_video(vids["bframes.mp4"], cache_bytes=0) as v:
        for i in range(10):
            v[i]
        assert v.cached_indices() == [] and v.cache_nbytes == 0


def _wait_for(cond, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_readahead_fills_the_cache_and_stops_on_close(vids):
    ref = sequential(vids["bframes.mp4"])
    v = open_video(vids["bframes.mp4"], readahead=6)
    assert np.array_equal(v[20], ref[20])
    want = set(range(21, 27))
    assert _wait_for(lambda: want <= set(v.cached_indices()))
    assert 27 not in v.cached_indices()
    for i in sorted(want):  # what read-ahead decoded is the right frame
        assert np.array_equal(v._cache.get(i), ref[i])
    thread = v._ra_thread
    assert thread is not None and thread.is_alive()
    v.close()
    assert not thread.is_alive()
    assert v.closed
    with pytest.raises(VideoError, match="closed"):
        v[0]
    v.close()  # idempotent


def test_unclosed_video_is_collected_and_its_thread_ends(vids):
    v = open_video(vids["bframes.mp4"], readahead=4)
    v[5]
    thread = v._ra_thread
    assert thread is not None
    for _ in range(2000):  # read-ahead finished (its thread then waits for the next request)
        if 9 in v.cached_indices():
            break
        time.sleep(0.01)
    del v
    gc.collect()
    assert _wait_for(lambda: not thread.is_alive())


def test_errors_pickle(tmp_path):
    for e in (
        VideoError(tmp_path / "a.mp4", "is odd", "Do this"),
        FrameDecodeError("b.mkv", 7, "bad"),
    ):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)
    assert pickle.loads(pickle.dumps(FrameDecodeError("b.mkv", 7, "bad"))).index == 7


def test_context_manager_closes(vids):
    with open_video(vids["mjpeg.avi"]) as v:
        v[3]
    assert v.closed


def test_concurrent_readers_with_readahead(vids):
    ref = sequential(vids["bframes.mkv"])
    failures: list[str] = []
    with open_video(vids["bframes.mkv"], cache_bytes=8 * W * H * 3, readahead=4) as v:

        def reader(seed: int) -> None:
            rng = np.random.default_rng(seed)
            for i in rng.integers(0, N, 40):
                if not np.array_equal(v[int(i)], ref[int(i)]):
                    failures.append(f"frame {i}")

        threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []


# -- frame index ----------------------------------------------------------------------------
def test_frame_index_round_trip_and_reuse(vids, tmp_path, monkeypatch):
    p = tmp_path / "v.mkv"
    p.write_bytes(vids["bframes.mkv"].read_bytes())
    with open_video(p) as v:
        idx = v.frame_index
        assert not v.index_reused
        ref = [v[i].copy() for i in range(N)]
    blob = idx.to_bytes()
    assert isinstance(blob, bytes) and len(blob) < 4000
    back = FrameIndex.from_bytes(blob)
    assert back.equals(idx) and len(back) == N
    assert FrameIndex.from_dict(json.loads(json.dumps(idx.to_dict()))).equals(idx)
    assert back.matches(p)

    # reused as bytes or object: no packet scan
    import annotator.core.video_media as media_mod

    def no_scan(*a, **k):
        raise AssertionError("the stored index should have been reused")

    monkeypatch.setattr(media_mod, "scan_packets", no_scan)
    for given in (blob, back):
        with open_video(p, frame_index=given, cache_bytes=0, readahead=0) as v:
            assert v.index_reused
            check_random_access(v, ref, seed=5, reads=20)
    monkeypatch.undo()

    # stale: the file changed (another video at the same path) -> rebuilt
    p.write_bytes(vids["vp9.webm"].read_bytes())
    assert not back.matches(p)
    with open_video(p, frame_index=blob) as v:
        assert not v.index_reused
        assert not v.frame_index.equals(back)
        assert np.array_equal(v[7], sequential(p)[7])

    # garbage bytes: ignored, rebuilt
    with open_video(p, frame_index=b"garbage") as v:
        assert not v.index_reused and len(v) == N


def test_frame_index_rejects_malformed_data(vids):
    with open_video(vids["bframes.mp4"]) as v:
        d = v.frame_index.to_dict()
    bad = dict(d, pts=d["pts"][::-1])
    with pytest.raises(ValueError):
        FrameIndex.from_dict(bad)
    with pytest.raises(ValueError):
        FrameIndex.from_dict(dict(d, version=99))
    with pytest.raises(ValueError):
        FrameIndex.from_bytes(b"\x00" * 10)


def test_folder_index_reuse(tmp_path):
    d = _folder(tmp_path / "frames", n=5)
    with open_video(d) as v:
        blob = v.frame_index.to_bytes()
    with open_video(d, frame_index=blob) as v:
        assert v.index_reused and len(v) == 5
    cv2.imwrite(str(d / "00005.png"), frame_image(5))
    with open_video(d, frame_index=blob) as v:
        assert not v.index_reused and len(v) == 6


# -- audio ----------------------------------------------------------------------------------
def test_audio_samples(vids):
    with open_video(vids["audio.mp4"]) as v:
        assert v.has_audio
        a = v.audio_samples()
        assert a.dtype == np.float32 and a.ndim == 1
        assert abs(len(a) - v.duration * 16000) < 0.1 * 16000
        spectrum = np.abs(np.fft.rfft(a[4000:12000]))
        assert np.argmax(spectrum) * 16000 / 8000 == pytest.approx(440, abs=4)
        part = v.audio_samples(1.0, 1.5)
        assert len(part) == 8000
        assert np.sqrt(np.mean(part**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.2)
        assert len(v.audio_samples(1.0, 1.5, rate=8000)) == 4000
        assert len(v.audio_samples(2.0, 1.0)) == 0
    with open_video(vids["bframes.mp4"]) as v, pytest.raises(VideoError, match="no audio"):
        v.audio_samples()
