"""Shared test fixtures.

Real data lives in ``../shared`` beside the project (never copied into it). Tests that need it
skip with a reason when it is absent (a user's clone), but fail when ``CI`` is set: CI always
has it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVS_SHARED_DIR", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skip (or fail under CI) when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        msg = f"{path} is absent: the shared test data lives beside the project in ../shared"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def shared():
    """The ``shared_path`` helper as a fixture: ``shared('data', 'videos', 'bikes.mp4')``."""
    return shared_path


# -- the demo project ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _demo_master(tmp_path_factory):
    """The demo (video with its sound, project with a bell and a drum), made once a session."""
    from annotator.demo import make_demo

    root = tmp_path_factory.mktemp("demo-master")
    make_demo(root).close()
    return root


@pytest.fixture
def demo_dir(_demo_master, tmp_path):
    """A fresh copy of the demo (video + project, objects bell and drum with their audible
    segments): returns the project folder."""
    dst = tmp_path / "demo"
    shutil.copytree(_demo_master, dst)
    return dst / "demo.avsproj"


# -- the machine the suite runs on --------------------------------------------------------------
# Expectations that depend on the CPU are derived from what ``annotator.engines.devices``
# detected (``detect_cpu``, ``bf16_speedup``), never from the machine the suite was written on.
# ``AVS_TEST_CPU=avx2`` plays an AVX2-only x86 CPU (no AVX-512, no AMX: most laptops, many
# cloud VMs) for the whole suite on a machine that has more: torch's kernels are held to AVX2
# (ATen's ATEN_CPU_CAPABILITY=avx2, oneDNN's ONEDNN_MAX_CPU_ISA=AVX2, set here before torch is
# imported and inherited by child processes) and the detection sees the CPU's flags without
# avx512* and amx*, in this process (child processes read the real flags).
CPU_ENV = "AVS_TEST_CPU"
SIMULATED_CPUS = {"avx2": {"aten": "avx2", "onednn": "AVX2", "hide": ("avx512", "amx")}}
_simulation = pytest.MonkeyPatch()


def simulated_cpu() -> str | None:
    """The CPU ``AVS_TEST_CPU`` asks the suite to play, or None (this machine as it is)."""
    return os.environ.get(CPU_ENV, "").strip().lower() or None


def pytest_configure(config: pytest.Config) -> None:
    name = simulated_cpu()
    if name is None:
        return
    if name not in SIMULATED_CPUS:
        raise pytest.UsageError(f"{CPU_ENV}={name!r}: the suite can play {sorted(SIMULATED_CPUS)}")
    sim = SIMULATED_CPUS[name]
    import sys

    if "torch" in sys.modules:  # ATen reads its capability once, when torch loads
        raise pytest.UsageError(f"{CPU_ENV}={name}: torch was imported before the test suite "
                                "could hold its kernels back (a plugin?)")
    _simulation.setenv("ATEN_CPU_CAPABILITY", sim["aten"])
    _simulation.setenv("ONEDNN_MAX_CPU_ISA", sim["onednn"])
    import torch

    got = torch.backends.cpu.get_cpu_capability()
    if got.lower() != sim["aten"]:
        raise pytest.UsageError(f"{CPU_ENV}={name}: torch runs {got} kernels, not {sim['aten']}")
    from annotator.engines import devices

    real = devices.detect_cpu

    def detect() -> devices.Cpu:
        cpu = real()
        return devices.Cpu(cpu.machine, frozenset(f for f in cpu.flags
                                                  if not f.startswith(sim["hide"])))

    _simulation.setattr(devices, "detect_cpu", detect)


def pytest_unconfigure(config: pytest.Config) -> None:
    _simulation.undo()


def pytest_report_header(config: pytest.Config) -> str:
    from annotator.engines import devices

    cpu = devices.detect_cpu()
    native, why = devices.bf16_support()
    played = (f"playing {simulated_cpu()} ({CPU_ENV})" if simulated_cpu()
              else f"as it is (set {CPU_ENV}=avx2 to play an AVX2-only CPU)")
    return f"CPU {cpu.machine} {played}: bf16 {'native' if native else 'not native'}, {why}"


@pytest.fixture(autouse=True, scope="session")
def _fresh_user_cache(tmp_path_factory):
    """The suite's own user cache folder: the bf16 speed probe measures afresh (once a session)
    instead of reading a figure an earlier run, another torch or another machine left in the
    developer's cache; child processes get the folder through XDG_CACHE_HOME."""
    from annotator.engines import bf16_probe

    cache = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bf16_probe, "cache_file", lambda: cache / "avs-annotator" / "bf16-probe.json")
        mp.setenv("XDG_CACHE_HOME", str(cache))
        yield cache
