"""annotator.core.video on the real footage in ../shared/data.

Every shared video and DAVIS frame folder opens, and 50 reads in a seeded random order equal
a plain sequential decode (PyAV's ``container.decode`` for files, the images in name order read
with OpenCV for folders). bikes.mp4 and the folders are read with no cache and no read-ahead,
so every read really seeks or decodes forward. bedroom.mp4 (one keyframe in 200 frames) and
vtest.avi (four in 795) cost a decode from the keyframe per uncached read, so they run with
the frame cache on (read-ahead off): each read is either a seek-and-decode or a frame that an
earlier seek decoded on its way, and both must be the right frame.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from annotator.core.video import FrameIndex, VideoError
from annotator.core.video_open import open_video

CACHE = {"bikes.mp4": 0, "bedroom.mp4": 128 * 2**20, "vtest.avi": 128 * 2**20}
VIDEOS = {
    # name: (frames, (w, h), fps, codec)
    "bedroom.mp4": (200, (960, 540), 30.0, "h264"),
    "bikes.mp4": (250, (640, 272), 25.0, "h264"),
    "vtest.avi": (795, (768, 576), 10.0, "msmpeg4"),
}
FOLDERS = {
    ("davis2016", "boat"): 75,
    ("davis2016", "bmx-bumps"): 90,
    ("davis2016", "dog-agility"): 25,
    ("davis2016", "hockey"): 75,
    ("davis2016", "stroller"): 91,
    ("davis2016", "tennis"): 70,
    ("multi", "judo"): 16,
}


def _digest(a: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).hexdigest()


def sequential_digests(path: Path) -> list[str]:
    """Digest of every frame of a plain sequential PyAV decode (memory stays small)."""
    with av.open(str(path)) as c:
        return [_digest(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def random_reads(n: int, seed: int, reads: int = 50) -> list[int]:
    return np.random.default_rng(seed).integers(0, n, reads).tolist()


@pytest.mark.parametrize(
    "name",
    [
        "bikes.mp4",
        # a decode from the keyframe per uncached read: a few seconds each on a quiet machine
        pytest.param("bedroom.mp4", marks=pytest.mark.slow),
        pytest.param("vtest.avi", marks=pytest.mark.slow),
    ],
)
def test_shared_video_random_reads_equal_sequential_decode(shared, name):
    path = shared("data", "videos", name)
    frames, size, fps, codec = VIDEOS[name]
    ref = sequential_digests(path)
    assert len(ref) == frames
    with open_video(path, cache_bytes=CACHE[name], readahead=0) as v:
        assert len(v) == frames
        assert v.size == size
        assert v.fps == pytest.approx(fps)
        assert v.frame_index.stream["codec"] == codec
        assert v.duration == pytest.approx(frames / fps)
        assert v.time_of(frames - 1) == pytest.approx((frames - 1) / fps)
        assert v.index_at(v.time_of(123)) == 123
        assert v.has_audio is False
        for i in random_reads(frames, seed=frames):
            a = v[i]
            assert a.shape == (size[1], size[0], 3) and a.dtype == np.uint8
            assert _digest(a) == ref[i], f"{name}: frame {i} differs from the sequential decode"


@pytest.mark.parametrize("parts", sorted(FOLDERS), ids=lambda p: "/".join(p))
def test_shared_frame_folder_random_reads_equal_sequential_read(shared, parts):
    folder = shared("data", *parts, "JPEGImages")
    names = sorted(p.name for p in folder.glob("*.jpg"))
    assert len(names) == FOLDERS[parts]
    reads = random_reads(len(names), seed=len(names))
    ref = {  # the images read in name order (only those the test asks for)
        i: _digest(cv2.cvtColor(cv2.imread(str(folder / names[i])), cv2.COLOR_BGR2RGB))
        for i in sorted(set(reads))
    }
    with open_video(folder, cache_bytes=0, readahead=0) as v:
        assert len(v) == len(names)
        assert v.size == (854, 480)
        assert v.fps == 30.0 and not v.has_audio
        assert v.duration == pytest.approx(len(names) / 30)
        for i in reads:
            assert _digest(v[i]) == ref[i], f"{parts}: frame {i} is not {names[i]}"


def test_davis_sequence_folder_opens_its_jpegimages(shared):
    seq = shared("data", "davis2016", "dog-agility")
    with open_video(seq, fps=24) as v:
        assert v.path == seq / "JPEGImages"
        assert len(v) == 25 and v.fps == 24
        assert v.time_of(24) == pytest.approx(1.0)
        assert v.index_at(0.5) == 12


def test_shared_video_cached_reads_with_readahead(shared):
    """The default configuration (cache + read-ahead) gives the same frames as seeking."""
    path = shared("data", "videos", "bikes.mp4")
    ref = sequential_digests(path)
    with open_video(path, cache_bytes=64 * 2**20, readahead=8) as v:
        for i in [*random_reads(len(v), seed=1), *range(100, 140), *range(60, 40, -1)]:
            assert _digest(v[i]) == ref[i]
        assert 0 < v.cache_nbytes <= 64 * 2**20


def test_shared_video_index_round_trip(shared):
    bikes = shared("data", "videos", "bikes.mp4")
    bedroom = shared("data", "videos", "bedroom.mp4")
    with open_video(bikes) as v:
        idx = v.frame_index
        frame = v[77].copy()
    back = FrameIndex.from_bytes(idx.to_bytes())
    assert back.equals(idx)
    with open_video(bikes, frame_index=back) as v:
        assert v.index_reused and np.array_equal(v[77], frame)
    with open_video(bedroom, frame_index=back) as v:  # someone else's index: rebuilt
        assert not v.index_reused and len(v) == 200


def test_shared_readme_is_not_a_video(shared):
    readme = shared("data", "README.md")
    with pytest.raises(VideoError, match="README.md"):
        open_video(readme)
