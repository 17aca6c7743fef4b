"""Fixtures for the pipeline tests: small real projects on DAVIS and judo frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from annotator.core.project import Project
from annotator.core.store import Store


def gt_mask(folder, frame: int) -> np.ndarray:
    return np.array(Image.open(folder / "Annotations" / f"{frame:05d}.png")) > 0


def davis_frame(shared, seq: str, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """A DAVIS-2016 frame (RGB) and its ground-truth mask."""
    root = shared("data", "davis2016", seq)
    image = np.array(Image.open(root / "JPEGImages" / f"{frame:05d}.jpg").convert("RGB"))
    return image, gt_mask(root, frame)


def judo_frame(shared, frame: int, object_id: int | None = None):
    """A judo frame (RGB); with ``object_id`` also that player's mask (on the frames that have
    one; one of the masks is 853 px wide: padded to the frame)."""
    root = shared("data", "multi", "judo")
    image = np.array(Image.open(root / "JPEGImages" / f"{frame:05d}.jpg").convert("RGB"))
    if object_id is None:
        return image
    ann = np.array(Image.open(root / "Annotations" / f"{frame:05d}.png"))
    mask = np.zeros(image.shape[:2], bool)
    mask[:, :ann.shape[1]] = ann == object_id
    return image, mask


def run_tracker(anchor_image, anchor_mask, frames) -> dict[str, float]:
    """The failure signals' tracker features after measuring ``frames`` ((image, mask) in
    order) against one anchor."""
    from annotator.pipeline.failure import SignalTracker

    tracker = SignalTracker()
    tracker.anchor(1, anchor_image, anchor_mask)
    prev, values = anchor_mask, {}
    for image, mask in frames:
        values = tracker.measure(1, image, mask, prev)
        prev = mask
    return values


def all_masks(store: Store) -> dict[tuple[int, int], str]:
    """Every current mask as (object, frame) -> RLE counts (for exact comparisons)."""
    return {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()}


@pytest.fixture
def make_project(tmp_path, shared):
    """``make_project(seq, anchors=(0,), segments=None, name=None)``: a project on a DAVIS
    sequence with the ground truth of ``anchors`` as manual masks of one object ``dog``
    (``segments``: list of (start, end) audible segments of it)."""
    opened = []

    def make(seq: str = "dog-agility", anchors=(0,), segments=None, name: str = "p") -> Project:
        folder = shared("data", "davis2016", seq)
        project = Project.create(tmp_path / name, folder / "JPEGImages")
        opened.append(project)
        store = project.store
        oid = store.add_object("dog")
        for start, end in segments or ():
            store.add_segment(oid, start, end)
        op = store.new_op("test", "anchors")
        for f in anchors:
            store.put_mask(oid, f, gt_mask(folder, f), source="manual", op=op)
        return project

    yield make
    for p in opened:
        try:
            p.close()
        except Exception:  # noqa: BLE001 - already closed by the test
            pass
