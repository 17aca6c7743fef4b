"""The status bar names the device the loaded models really run on, not the machine's best."""

from __future__ import annotations

import pytest
import torch

xmem = pytest.importorskip("xmem")


def test_status_bar_device_is_asked_of_the_loaded_models(tmp_path, monkeypatch):
    """``torch.cuda.is_available`` is PATCHED to say yes (this machine has no GPU): the label
    must still say where the loaded XMem really is — the CPU it was started on."""
    from annotator.engines import registry
    from annotator.gui.engines import device_label, summary

    torch.manual_seed(0)
    path = tmp_path / "xmem.pth"
    torch.save(xmem.XMem().state_dict(), path)
    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(path))
    reg = registry.start("cpu", keep_freed_memory=False)
    try:
        assert device_label() == "cpu (no model loaded)"
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        reg.propagator("xmem", size=64)
        from annotator.engines.devices import XMEM_BF16_PARTS

        assert reg.precisions()["XMem"] in ("fp32", "bf16 " + "+".join(XMEM_BF16_PARTS))
        assert device_label() == f"cpu · {reg.precisions()['XMem'].split()[0]}"
        short, full = summary(None)
        assert "XMem cpu" in full
    finally:
        registry.reset_for_tests()
