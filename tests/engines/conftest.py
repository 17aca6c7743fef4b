"""The kinds of CPU the precision choice tells apart, PATCHED into the detection
(``devices.detect_cpu`` and the speed probe's ``devices.bf16_speedup``), so every branch runs
on whatever machine the suite runs on."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from annotator.engines import devices


@dataclass(frozen=True)
class PlayedCpu:
    """A CPU a test plays: what the detection sees and what the probe would measure."""

    kind: str
    cpu: devices.Cpu
    speedup: float | None  # None: the probe must not run (flags say bf16 is emulated)

    @property
    def native(self) -> bool:
        return self.speedup is not None

    @property
    def auto(self) -> str:
        """What ``auto`` should pick on this CPU (derived from the played figures)."""
        return "bf16" if self.native and self.speedup >= devices.BF16_PAYS else "fp32"


CPUS = {
    # Zen 4 / Cooper Lake: avx512_bf16, and the probe measures it well past BF16_PAYS
    "native-fast": PlayedCpu("native-fast", devices.Cpu("x86_64", frozenset(
        {"avx2", "avx512f", "avx512_bf16"})), 1.9),
    # a laptop, Zen 2/3, Skylake: AVX2 only, bf16 emulated (the probe is never asked)
    "not-native": PlayedCpu("not-native", devices.Cpu("x86_64", frozenset({"avx2", "fma"})),
                            None),
    # a Xeon VM whose avx512_bf16 issues at half rate: native, but slower than fp32
    "native-slow": PlayedCpu("native-slow", devices.Cpu("x86_64", frozenset(
        {"avx2", "avx512f", "avx512_bf16"})), 0.6),
}


def play_cpu(monkeypatch: pytest.MonkeyPatch, played: PlayedCpu) -> PlayedCpu:
    """PATCHED: the detected CPU and the probe's measured speed-up."""

    def probe() -> float:
        if played.speedup is None:
            raise AssertionError("the bf16 speed probe ran on a CPU without native bf16")
        return played.speedup

    monkeypatch.setattr(devices, "detect_cpu", lambda: played.cpu)
    monkeypatch.setattr(devices, "bf16_speedup", probe)
    return played


@pytest.fixture(params=list(CPUS))
def cpu_kind(request, monkeypatch) -> PlayedCpu:
    """Each kind of CPU in turn (native and fast, not native, native but slow), PATCHED."""
    return play_cpu(monkeypatch, CPUS[request.param])
