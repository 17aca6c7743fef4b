"""The CPU core keeps freed tensor memory for reuse (vendor/xmem/allocator.py): where glibc is
the C library the setting takes effect, only when asked (the default on CPU) and it changes no
output. Each case runs in a fresh interpreter, since the setting is process-wide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "vendor"

SCRIPT = """
import sys, torch
sys.path.insert(0, {vendor!r})
from xmem import InferenceCore, XMem, allocator
torch.manual_seed(0)
net = XMem(key_dim=16, value_dim=32, hidden_dim=8).eval()
x = torch.rand(3, 64, 96)
m = torch.zeros(1, 64, 96); m[0, 16:48, 24:72] = 1
core = InferenceCore(net, keep_freed_memory={keep})
core.set_all_labels([1])
core.step(x, m)
p = core.step(x)
core.release_memory()
print(allocator.keeping(), float(p.sum()), float(p[1].max()))
"""


def _run(keep: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(vendor=str(VENDOR), keep=keep)],
                         capture_output=True, text=True, timeout=300, check=True)
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_kept_only_when_asked_and_outputs_unchanged() -> None:
    off, default = _run("False"), _run("None")
    assert off[0] == "False"
    assert default[0] == "True"  # CPU default: keep freed memory
    assert off[1:] == default[1:]  # the same probabilities, bit for bit
