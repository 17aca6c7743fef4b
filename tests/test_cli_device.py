"""``--device`` on every command that runs a model: a device this machine lacks is one line and
exit 2; the output names the device each loaded model really runs on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from annotator.cli import main
from annotator.engines import devices

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@pytest.fixture(autouse=True)
def _private(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("AVS_ANNOTATOR_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.delenv("AVS_ANNOTATOR_DEVICE", raising=False)
    yield
    from annotator.engines import registry

    registry.reset_for_tests()


@no_cuda
@pytest.mark.parametrize("args", [["propagate", "{dir}"], ["doctor"], ["doctor", "--no-load"]])
def test_a_missing_device_is_one_line_and_exit_2(args, tmp_path, capsys):
    argv = [a.format(dir=tmp_path / "nowhere") for a in args] + ["--device", "cuda"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'cuda'" in err[0] and "--device cpu" in err[0], err


@no_cuda
def test_the_window_refuses_a_missing_device_before_it_opens(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "AVS_ANNOTATOR_SETTINGS": str(tmp_path / "settings.ini")}
    r = subprocess.run([sys.executable, "-m", "annotator.cli", "gui", "--device", "cuda:3"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "cuda:3" in r.stderr


def test_an_unknown_device_name_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["propagate", str(tmp_path), "--device", "gpu0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gpu0" in err[0] and "cpu" in err[0]


def test_propagate_doctor_and_review_name_where_the_models_ran(shared, tmp_path, capsys,
                                                               monkeypatch):
    """Random-weight XMem (the real architecture) on the CPU: ``propagate`` names the device
    its loaded network is on, ``doctor`` loads it and says the same, ``review --json`` gives
    the model and device of each clip's worst mask."""
    xmem = pytest.importorskip("xmem")
    from annotator.core.project import Project

    torch.manual_seed(0)
    xpath = tmp_path / "xmem.pth"
    torch.save(xmem.XMem().state_dict(), xpath)
    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(xpath))
    monkeypatch.setenv("AVS_ANNOTATOR_THREADS", "1")
    seq = shared("data", "davis2016", "dog-agility")
    import numpy as np
    from PIL import Image

    with Project.create(tmp_path / "p", seq / "JPEGImages") as project:
        oid = project.store.add_object("dog")
        project.store.add_segment(oid, 0, 3)
        truth = np.array(Image.open(seq / "Annotations" / "00000.png")) > 0
        project.store.put_mask(oid, 0, truth, source="manual", op=project.store.new_op("t", "a"))
    # what auto runs XMem in on this CPU (its flags and the speed probe, or AVS_TEST_CPU's)
    auto = devices.choose_device("cpu").precision
    xmem_in = "bf16 " + "+".join(devices.XMEM_BF16_PARTS) if auto == "bf16" else "fp32"
    assert main(["propagate", str(tmp_path / "p"), "--device", "cpu", "--engine", "xmem",
                 "--refine", "off"]) == 0
    out = capsys.readouterr().out
    name = "XMem (cpu)" if xmem_in == "fp32" else f"XMem (cpu, {xmem_in})"
    assert f"engine {name}," in out and "devices: XMem on cpu" in out, out
    assert main(["doctor", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"XMem: loaded, runs on cpu in {xmem_in}" in out and "SAM: not installed" in out, out
    with Project.open(tmp_path / "p") as project:  # flag a frame so review lists a clip
        rec = project.store.mask(oid, 2)
        project.store.put_mask(oid, 2, rec.decode(), source="propagated", flags=("lost",),
                               model=rec.model, op=project.store.new_op("t", "flag"))
    assert main(["review", str(tmp_path / "p"), "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    assert clips and clips[0]["model"] == name
    assert clips[0]["devices"] == {"XMem": "cpu"}
