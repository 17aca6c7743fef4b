"""SAM 2.1 model files: the registry's entries, loading a user's file, and ``annotator models
verify`` on a good, a damaged and a wrong file (real package builder, random weights)."""

from __future__ import annotations

import pytest

from annotator.engines import models

from .conftest import SKIP_REASON, TEST_SIZE, TINY

pytest.importorskip("sam2", reason=SKIP_REASON)

from annotator.engines import sam2_models  # noqa: E402


def test_the_four_published_files_are_registered_with_sizes_checksums_and_configs():
    from importlib.resources import files

    for name in sam2_models.SAM2_NAMES:
        m = models.REGISTRY[name]
        assert m.kind == "sam2" and m.filename == f"{name}.pt"
        assert m.url.startswith("https://dl.fbaipublicfiles.com/segment_anything_2/092824/")
        assert m.size and len(m.sha256 or "") == 64 and m.checksum_source
        assert m.env_var == "AVS_ANNOTATOR_" + name.upper().replace(".", "_")
        config = files("sam2").joinpath(sam2_models.SAM2_CONFIGS[name])
        assert config.is_file(), config  # the config ships inside the package


def test_a_users_file_loads_through_the_registry(sam2_installed):
    found = sam2_models.find_sam2()
    assert found is not None and found.path == sam2_installed
    model, name = sam2_models.load_sam2(found.path)
    assert name == TINY and type(model).__name__ == "SAM2VideoPredictor"
    assert model.image_size == TEST_SIZE  # the tests' size (conftest.py)


def test_the_test_file_has_a_published_files_layout(tiny_file):
    """Built at the tests' size, the file still loads into the published 1024² config: the
    input size changes no key and no shape."""
    model, name = sam2_models.load_sam2(tiny_file)
    assert name == TINY and model.image_size == 1024


def _damaged(tiny_file, tmp_path, how):
    import torch

    sd = torch.load(tiny_file, weights_only=True)["model"]
    if how == "missing":
        sd.pop("memory_encoder.fuser.layers.0.dwconv.weight")
    else:
        sd["sam_mask_decoder.iou_token.weight"] = torch.zeros(2, 128)
    path = tmp_path / f"damaged-{how}.pt"
    torch.save({"model": sd}, path)
    return path


@pytest.mark.parametrize("how", ["missing", "shape"])
def test_a_damaged_file_is_one_clear_line(tiny_file, tmp_path, how):
    path = _damaged(tiny_file, tmp_path, how)
    with pytest.raises(models.ModelFileError) as exc:
        sam2_models.load_sam2(path)
    msg = str(exc.value)
    assert len(msg.splitlines()) == 1 and str(path) in msg and "annotator models download" in msg
    assert ("missing" if how == "missing" else "wrong shape") in msg


def test_models_verify_checks_keys_and_shapes(sam2_installed, tmp_path, capsys):
    from annotator.cli import main

    good = tmp_path / "my-tiny.pt"
    good.write_bytes(sam2_installed.read_bytes())
    assert main(["models", "verify", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"{TINY} (" in out and "every key and shape matches" in out
    assert sam2_models.SAM2_CONFIGS[TINY] in out

    bad = _damaged(sam2_installed, tmp_path, "shape")
    assert main(["models", "verify", str(bad)]) == 2
    err = capsys.readouterr().err.replace("\r", "\n").strip()  # after the progress bar:
    errors = [line for line in err.splitlines() if line.startswith("annotator:")]
    assert len(errors) == 1 and str(bad) in errors[0] and "wrong shape" in errors[0]


def test_a_sam_file_chosen_as_sam2_is_refused(tmp_path):
    import torch

    path = tmp_path / "not-sam2.pt"
    torch.save({"key_encoder.conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(models.ModelFileError, match="not a SAM 2 checkpoint.*XMem"):
        sam2_models.load_sam2(path)
