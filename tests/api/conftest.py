"""Fixtures for the API tests: private settings, no model files (the real weight-free engines,
as in a fresh install), the demo video and project, and a DAVIS project with flagged clips."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from annotator import api


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    """Never the person's own settings, models or data folders; the engine registry the API
    starts is forgotten after each test."""
    from annotator.engines import registry

    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("AVS_ANNOTATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AVS_ANNOTATOR_LOG_DIR", str(tmp_path / "logs"))
    yield
    registry.reset_for_tests()



@pytest.fixture
def demo_video(_demo_master, tmp_path):
    """The demo's video (a bell and a drum with their sounds), in a folder of the test's."""
    dst = tmp_path / "video"
    dst.mkdir()
    return shutil.copy2(_demo_master / "demo.mp4", dst / "demo.mp4")



SEQ = "breakdance-flare"
SEGMENTS = ((0, 30), (35, 70))


def gt(shared, frame: int) -> np.ndarray:
    root = shared("data", "davis2016", SEQ)
    return np.array(Image.open(root / "Annotations" / f"{frame:05d}.png")) > 0


@pytest.fixture
def flagged(shared, tmp_path):
    """A project on DAVIS breakdance-flare: one object, two audible segments, the ground truth
    of each segment's first frame as its anchor (written through the store, as an import
    writes it: it stands in for a person's accepted mask), propagated with the weight-free
    engine, which loses the dancer in places: the project has flagged clips."""
    frames = shared("data", "davis2016", SEQ, "JPEGImages")
    project = api.create(frames, tmp_path / "flagged.avsproj")
    oid = project.add_object("dancer", category="person")
    op = project.store.new_op("import_masks", "ground truth anchors")
    for start, end in SEGMENTS:
        project.add_segment(oid, start, end)
        project.store.put_mask(oid, start, gt(shared, start), source="imported", op=op)
    project.propagate(engine="fallback", refine="off")
    yield project, oid
    try:
        project.close()
    except Exception:  # noqa: BLE001 - closed by the test
        pass
