"""Device choice: CUDA, then MPS, then CPU, with overrides from the caller, env and settings.

This machine has neither CUDA nor MPS, so the preference order is tested by replacing
``torch.cuda.is_available`` / ``mps_available`` (the test is about the choice logic)."""

from __future__ import annotations

import pytest
import torch

from annotator import settings
from annotator.engines import devices
from annotator.errors import UserError


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv(devices.DEVICE_ENV, raising=False)
    monkeypatch.delenv(devices.THREADS_ENV, raising=False)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.choose_device().device.type == "cuda"
    assert devices.choose_device().half is True  # fp16 encoder on CUDA by default
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: True)
    c = devices.choose_device()
    assert c.device.type == "mps" and c.half is False
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    c = devices.choose_device()
    assert c.device.type == "cpu" and c.half is False and c.dtype == torch.float32


def test_override_order_argument_env_setting(monkeypatch):
    settings.set("device", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            devices.choose_device()
    monkeypatch.setenv(devices.DEVICE_ENV, "cpu")
    assert devices.choose_device().reason == f"${devices.DEVICE_ENV}"
    assert devices.choose_device("cpu").reason == "requested"


def test_a_device_that_is_not_there_or_unknown():
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="--device cpu"):
            devices.choose_device("cuda")
    with pytest.raises(UserError, match="unknown device 'gpu0'"):
        devices.choose_device("gpu0")


def test_half_never_on_cpu_and_can_be_turned_off(monkeypatch):
    assert devices.choose_device("cpu", half=True).half is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    settings.set("half", "false")
    assert devices.choose_device().half is False
    with pytest.raises(UserError, match="half must be auto, true or false"):
        devices.choose_device(half="maybe")


def test_threads_from_setting_env_and_argument(monkeypatch):
    settings.set("threads", 3)
    assert devices.choose_device("cpu").threads == 3
    monkeypatch.setenv(devices.THREADS_ENV, "1")
    assert devices.choose_device("cpu").threads == 1
    assert devices.choose_device("cpu", threads=2).threads == 2
    with pytest.raises(UserError):
        devices.choose_device("cpu", threads=-1)
    assert "CPU threads" in devices.choose_device("cpu", threads=2).describe()
