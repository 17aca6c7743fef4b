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


OPEN_AND_WATCH = r"""
import sys, threading, time
class Watch:  # notes which thread imports torch first
    thread = None
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and Watch.thread is None:
            Watch.thread = threading.current_thread().name
        return None
sys.meta_path.insert(0, Watch())
from annotator.gui.app import application
from annotator.gui.main_window import MainWindow
assert "torch" not in sys.modules, "the window's modules import torch"
app = application()
win = MainWindow()
win.show()
win.open_path(sys.argv[1])
t0 = time.monotonic()
while time.monotonic() - t0 < 60 and "cpu" not in win.status.engines_label.toolTip() + \
        win.status.engines_label.text():
    app.processEvents()
    time.sleep(0.01)
print(Watch.thread, "|", win.status.engines_label.text())
win.close_project(ask=False)
"""


def test_opening_a_project_does_not_import_torch_on_the_gui_thread(demo_dir):
    """Opening the first project asks which device the models use: that imports torch and
    chooses the device (1.4 s on the development machine), and it ran on the GUI thread — the
    window froze after Open. It runs on a worker now; checked in a fresh interpreter, where
    torch is not imported yet."""
    import os
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", OPEN_AND_WATCH, str(demo_dir)],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-2000:]
    thread, label = r.stdout.strip().splitlines()[-1].split(" | ")
    assert thread not in ("None", "MainThread"), (thread, label)


def test_the_short_label_names_the_propagator_chosen_in_preferences(tmp_path, monkeypatch):
    """XMem installed (random weights, a real file): the label said ``xmem`` whatever the
    Propagator preference was. It names the chosen engine now, and one that cannot run here
    says so; ``auto`` is still the best installed one."""
    from annotator import settings
    from annotator.engines import registry
    from annotator.gui.engines import summary

    torch.manual_seed(0)
    path = tmp_path / "xmem.pth"
    torch.save(xmem.XMem().state_dict(), path)
    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(path))
    settings.reload()
    registry.start("cpu", keep_freed_memory=False)
    try:
        assert summary(None)[0].startswith("xmem + ")  # auto: the best installed
        settings.update({"engines.propagator": "fallback"})
        short, full = summary(None)
        assert short.startswith("fallback propagator + "), short
        assert full.startswith("propagator: fallback (weight-free fallback)"), full
        settings.update({"engines.propagator": "flow-warp"})
        assert summary(None)[1].startswith("propagator: flow-warp"), summary(None)
        monkeypatch.setattr("annotator.engines.sam2_models.installed", lambda: False)
        settings.update({"engines.propagator": "sam2"})
        assert summary(None)[0].startswith("sam2 (cannot run here) + "), summary(None)
    finally:
        registry.reset_for_tests()
        settings.reload()
