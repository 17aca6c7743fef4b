"""``annotator models …`` and ``annotator doctor`` through the real CLI entry point."""

from __future__ import annotations

import hashlib

import pytest
import torch
from segment_anything import sam_model_registry

from annotator.cli import main
from annotator.engines import models


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(models.BASE_URL_ENV, raising=False)
    for m in models.REGISTRY.values():
        monkeypatch.delenv(m.env_var, raising=False)


def test_list_shows_every_model_and_where(capsys, tmp_path):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for m in models.REGISTRY.values():
        assert m.name in out and m.filename in out
    assert str(tmp_path / "models") in out


def test_path_of_a_missing_model_exits_2_with_one_line(capsys):
    assert main(["models", "path", "sam_vit_b"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "annotator models download sam_vit_b" in err


def test_path_of_a_present_model(capsys, tmp_path):
    f = tmp_path / "models" / "XMem.pth"
    f.parent.mkdir()
    f.write_bytes(b"x")
    assert main(["models", "path", "xmem"]) == 0
    assert capsys.readouterr().out.strip() == str(f)


def test_download_from_an_offline_folder_with_the_wrong_file(capsys, tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    (src / "sam_vit_b_01ec64.pth").write_bytes(b"not the real checkpoint")
    assert main(["models", "download", "sam_vit_b", "--base-url", str(src)]) == 2
    err = capsys.readouterr().err
    assert "serves a different file" in err
    assert not (tmp_path / "models" / "sam_vit_b_01ec64.pth").exists()


def test_download_and_verify_an_entry_without_checksum(capsys, tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    (src / "XMem-s012.pth").write_bytes(b"weights" * 1000)
    assert main(["models", "download", "xmem_s012", "--base-url", src.as_uri()]) == 0
    out = capsys.readouterr().out
    assert "not checked" in out
    assert (tmp_path / "models" / "XMem-s012.pth").read_bytes() == b"weights" * 1000
    assert main(["models", "verify", "xmem_s012"]) == 0
    assert "checksum unknown" in capsys.readouterr().out


def test_verify_an_unregistered_checkpoint_says_what_it_is(capsys, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "my_finetuned_sam.pth"
    torch.save(sam_model_registry["vit_b"]().state_dict(), path)
    assert main(["models", "verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "unregistered" in out and "SAM vit_b" in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() in out


def test_verify_a_damaged_registry_file_exits_2(capsys, tmp_path):
    f = tmp_path / "models" / "sam_vit_h_4b8939.pth"
    f.parent.mkdir()
    f.write_bytes(b"x" * 10)
    assert main(["models", "verify", "sam_vit_h"]) == 2
    assert "truncated" in capsys.readouterr().err


def test_verify_nothing_present(capsys):
    assert main(["models", "verify"]) == 2
    assert "annotator models download" in capsys.readouterr().err


def test_doctor(capsys, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device: cpu" in out
    assert "QT_QPA_PLATFORM=offscreen" in out
    assert "sam_vit_b" in out and "fallback" in out


def test_doctor_with_a_device_that_is_not_there(capsys):
    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    assert main(["doctor", "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
