"""Fixtures for the batch-on-Ray tests: one local Ray instance (``num_cpus=2``) for the whole
folder, and small real projects on the shared DAVIS sequences with a first-frame anchor."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from annotator.core.project import Project
from annotator.pipeline.queue import propagate_projects

SEQUENCES = ["dog-agility", "boat", "bus", "car-turn", "kite-walk", "tennis"]
FRAMES = 20  # one audible segment, frames 0..19: 19 masks to propagate


def make_projects(root, shared, seqs=SEQUENCES, frames: int = FRAMES) -> list:
    """A project per DAVIS sequence under ``root``: object ``x``, one segment of ``frames``
    frames, the ground truth of frame 0 as its manual anchor."""
    out = []
    for seq in seqs:
        folder = shared("data", "davis2016", seq)
        with Project.create(root / seq, folder / "JPEGImages") as project:
            store = project.store
            oid = store.add_object("x")
            store.add_segment(oid, 0, frames - 1)
            gt = np.array(Image.open(folder / "Annotations" / "00000.png")) > 0
            store.put_mask(oid, 0, gt, source="manual", op=store.new_op("test", "anchor"))
        out.append(root / seq)
    return out


def masks_of(dirs) -> dict[str, dict]:
    """Every current mask of each project as (object, frame) -> RLE counts."""
    out = {}
    for d in dirs:
        with Project.open(d, readonly=True) as project:
            out[d.name] = {(m.object_id, m.frame): (m.source, m.rle["counts"])
                           for m in project.store.iter_masks()}
    return out


@pytest.fixture(scope="session")
def local_masks(tmp_path_factory):
    """What the local queue (one process, the fallback engine) makes of the projects."""
    from tests.conftest import shared_path

    def run(seqs=tuple(SEQUENCES), frames: int = FRAMES) -> dict[str, dict]:
        key = (tuple(seqs), frames)
        if key not in cache:
            root = tmp_path_factory.mktemp("local")
            dirs = make_projects(root, shared_path, seqs, frames)
            propagate_projects(dirs, engine="fallback", refine="off")
            cache[key] = masks_of(dirs)
        return cache[key]

    cache: dict = {}
    return run


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance with 2 CPUs for every test here (its start costs ~15 s)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
