"""``annotator propagate --engine sam2`` and ``annotator doctor`` through the real CLI: a
project on a real DAVIS sequence with a person's anchor, SAM 2.1 (the test Hiera-Tiny, found
through its environment variable like a user's file) propagating it, refinement off by the
SAM 2 policy, every frame written by the engine, the anchor untouched, a second run skipped."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import SKIP_REASON

pytest.importorskip("sam2", reason=SKIP_REASON)
pytestmark = pytest.mark.slow


def test_propagate_with_sam2_through_the_cli(sam2_installed, shared, tmp_path, capsys):
    from PIL import Image

    from annotator.cli import main
    from annotator.core.project import Project

    seq = shared("data", "davis2016", "dog-agility")
    with Project.create(tmp_path / "p", seq / "JPEGImages") as project:
        oid = project.store.add_object("dog")
        project.store.add_segment(oid, 0, 3)
        truth = np.array(Image.open(seq / "Annotations" / "00000.png")) > 0
        project.store.put_mask(oid, 0, truth, source="manual", op=project.store.new_op("t", "a"))
    assert main(["propagate", str(tmp_path / "p"), "--device", "cpu", "--precision", "fp32",
                 "--engine", "sam2"]) == 0
    out = capsys.readouterr().out
    assert "engine SAM 2.1 hiera_tiny (cpu, fp32)," in out, out
    assert "refine off (auto: SAM 2.1's masks come out of a SAM decoder already" in out, out
    assert "devices: SAM 2.1 hiera_tiny on cpu" in out, out
    with Project.open(tmp_path / "p") as project:
        anchor = project.store.mask(oid, 0)
        assert anchor.source == "manual" and np.array_equal(anchor.decode(), truth)
        for f in (1, 2, 3):
            rec = project.store.mask(oid, f)
            assert rec.source == "propagated" and rec.model == "SAM 2.1 hiera_tiny (cpu, fp32)"
            assert rec.decode().any()
    assert main(["propagate", str(tmp_path / "p"), "--device", "cpu", "--precision", "fp32",
                 "--engine", "sam2"]) == 0
    assert "already propagated" in capsys.readouterr().out
    assert main(["doctor", "--device", "cpu", "--precision", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "SAM 2.1 hiera_tiny: loaded from" in out and "runs on cpu in fp32" in out, out
