"""SAM 2.1 test weights: the real Hiera-Tiny architecture, built by the ``sam2`` package's own
builder from its config, with random weights, saved to a file and loaded through our registry
the way a user's file is (``$AVS_ANNOTATOR_SAM2_1_HIERA_TINY``).

Random weights make the object-score head say "absent" on every tracked frame (empty masks after
the first), which would make any comparison of propagations trivially true: the test weights
raise that head's output bias (:data:`OBJECT_SCORE_BIAS`) so objects stay "present" and the
masks are real outputs of the memory, attention and decoder.

The test model is fed 256² frames instead of the published 1024² (``++model.image_size=256``,
:data:`TEST_OVERRIDES`, through :data:`annotator.engines.sam2_models.BUILD_OVERRIDES`): the
same network, the same weights and keys (a published file's layout), Hiera's position
embedding interpolated, the memory attention's RoPE and the prompt encoder at that size —
about a sixteenth of the compute a frame, so the CPU tests take minutes, not tens of minutes.
Every build in these tests (ours through the registry, and the package's own predictor in the
equality test) uses it, so both sides run the same model.

Without the ``sam2`` package (the ``[sam2]`` extra) these tests skip, saying so; CI installs it
(``.ci/run``) and sets ``AVS_REQUIRE_SAM2=1``, which turns a skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from annotator.engines import models

OBJECT_SCORE_BIAS = 20.0
TINY = "sam2.1_hiera_tiny"
TEST_SIZE = 256
TEST_OVERRIDES = (f"++model.image_size={TEST_SIZE}",)

SKIP_REASON = ("the sam2 package is not installed: SAM2_BUILD_CUDA=0 pip install "
               "--no-build-isolation 'sam2>=1.1,<2' (the [sam2] extra; .ci/run does this)")
if importlib.util.find_spec("sam2") is None and os.environ.get("AVS_REQUIRE_SAM2"):
    raise RuntimeError(SKIP_REASON)


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory):
    """A SAM 2.1 Hiera-Tiny checkpoint file of random weights (object-score bias raised), in
    the published layout (``{"model": state_dict}``)."""
    import torch

    from annotator.engines import sam2_models

    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sam2_models, "BUILD_OVERRIDES", TEST_OVERRIDES)
        model = sam2_models.build_sam2_model(TINY)
    assert model.image_size == TEST_SIZE
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += OBJECT_SCORE_BIAS
    path = tmp_path_factory.mktemp("sam2") / f"{TINY}.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


@pytest.fixture
def sam2_installed(tiny_file, tmp_path, monkeypatch):
    """A process whose only model file is the test Hiera-Tiny (as a user's file: found through
    its environment variable), built at the test size, with a fresh engine registry and
    settings."""
    from annotator import settings
    from annotator.engines import registry, sam2_models

    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for m in models.REGISTRY.values():
        monkeypatch.delenv(m.env_var, raising=False)
    monkeypatch.delenv(registry.SEGMENTER_ENV, raising=False)
    monkeypatch.setenv(models.REGISTRY[TINY].env_var, str(tiny_file))
    monkeypatch.setattr(sam2_models, "BUILD_OVERRIDES", TEST_OVERRIDES)
    settings.reload()
    registry.reset_for_tests()
    yield tiny_file
    registry.reset_for_tests()
    settings.reload()


def davis_frames(shared, n: int, size=(320, 180), name: str = "bmx-bumps"):
    """The first ``n`` frames of a DAVIS-2016 sequence, downscaled (RGB uint8), and its
    first-frame mask at that size."""
    import numpy as np
    from PIL import Image

    seq = shared("data", "davis2016", name)
    frames = [np.array(Image.open(seq / "JPEGImages" / f"{i:05d}.jpg").convert("RGB")
                       .resize(size, Image.BILINEAR)) for i in range(n)]
    mask = np.array(Image.open(seq / "Annotations" / "00000.png").convert("L")
                    .resize(size, Image.NEAREST)) > 0
    return frames, mask
