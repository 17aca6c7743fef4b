"""Project folder: creation, the stored frame index, a moved or replaced video, the lock."""

import shutil

import numpy as np
import pytest
from PIL import Image

from annotator.core.lock import ProjectLockedError
from annotator.core.project import Project, VideoMissingError
from annotator.core.records import StoreError


def test_create_reopen_reuses_frame_index(shared, tmp_path):
    src = shared("data", "videos", "bikes.mp4")
    video = tmp_path / "bikes.mp4"
    shutil.copy(src, video)
    with Project.create(tmp_path / "proj", video) as p:
        rec = p.video_record()
        assert rec.frame_count == 250 and (rec.width, rec.height) == (640, 272)
        assert rec.rel_path == "../bikes.mp4" and rec.frame_index
        first = p.open_video()[0].copy()
    with Project.open(tmp_path / "proj") as p:
        v = p.open_video()
        assert v.index_reused and np.array_equal(v[0], first)
        v.close()


def test_moved_video_detected_and_relinked(shared, tmp_path):
    video = tmp_path / "a" / "bikes.mp4"
    video.parent.mkdir()
    shutil.copy(shared("data", "videos", "bikes.mp4"), video)
    with Project.create(tmp_path / "proj", video) as p:
        oid = p.store.add_object("bike")
        p.store.put_mask(oid, 3, np.ones((272, 640), bool), source="manual")
    moved = tmp_path / "b" / "bikes.mp4"
    moved.parent.mkdir()
    video.rename(moved)
    with Project.open(tmp_path / "proj") as p:
        with pytest.raises(VideoMissingError, match="annotator relink"):
            p.video_path()
        assert p.store.mask_count() == 1  # masks are there regardless
        p.relink(moved)
        assert p.video_path() == moved.resolve()
        other = tmp_path / "other.mp4"
        shutil.copy(shared("data", "videos", "bedroom.mp4"), other)
        with pytest.raises(VideoMissingError, match="different video"):
            p.relink(other)


def test_replaced_video_content_detected(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(np.full((8, 8, 3), i * 10, np.uint8)).save(folder / f"{i:05d}.png")
    Project.create(tmp_path / "p", folder).close()
    Image.fromarray(np.full((8, 8, 3), 255, np.uint8)).save(folder / "00000.png")
    with Project.open(tmp_path / "p") as p, pytest.raises(VideoMissingError, match="changed"):
        p.video_path()


def test_second_open_for_writing_is_refused_read_only_allowed(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "00000.png")
    with Project.create(tmp_path / "p", folder):
        with pytest.raises(ProjectLockedError, match="is open in process"):
            Project.open(tmp_path / "p")
        with Project.open(tmp_path / "p", readonly=True) as ro:
            assert ro.summary()["frames"] == 1
    Project.open(tmp_path / "p").close()  # released on close


def test_not_a_project_and_existing_project(tmp_path):
    with pytest.raises(StoreError, match="not an AVS Annotator project"):
        Project.open(tmp_path)
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "00000.png")
    Project.create(tmp_path / "p", folder).close()
    with pytest.raises(StoreError, match="already holds a project"):
        Project.create(tmp_path / "p", folder)


def test_a_project_in_an_existing_folder_is_built_inside_it(tmp_path):
    """An existing folder (maybe a mount point, which no rename can replace) gets the project
    built in a hidden folder of its own; what a killed run left there is removed next time."""
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "00000.png")
    target = tmp_path / "p"
    (target / ".project.avs.creating-999999999").mkdir(parents=True)  # a killed run's
    (target / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="creation was interrupted"):
        Project.open(target)
    notes: list[str] = []
    Project.create(target, folder, notes=notes).close()
    assert any(".project.avs.creating-999999999" in n for n in notes)
    assert sorted(p.name for p in target.iterdir()) == [".lock", "notes.txt", "project.avs"]
    assert not list(tmp_path.glob(".p.creating-*"))
    with Project.open(target) as p:
        assert p.summary()["frames"] == 1


def test_open_video_honours_the_frame_cache_bound(shared, tmp_path):
    with Project.create(tmp_path / "p", shared("data", "davis2016", "dog-agility")) as p:
        with p.open_video(cache_bytes=3 * 854 * 480 * 3, readahead=0) as v:
            for i in range(10):
                v[i]
            assert v.cache_max_bytes == 3 * 854 * 480 * 3
            assert len(v.cached_indices()) <= 3
