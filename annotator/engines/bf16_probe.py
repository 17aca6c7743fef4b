"""Does bf16 pay on this CPU? A short measurement, once per machine and torch build.

A CPU's flags say whether it has bf16 instructions (``devices.bf16_support``), not whether they
are faster than fp32: on some processors the bf16 dot product issues at half the rate of the
fp32 FMA, so bf16 has the same peak as fp32 and the conversions make the models slower (an Intel
Xeon VM with AVX512-BF16, 2026-12-02: 0.6× on SAM's and XMem's layers), on others it is twice
as fast (an AMD EPYC VM with AVX512-BF16, 2026-12-02: 1.9×). ``auto`` uses bf16 only where the
flags say native *and* this probe measures it faster.

The probe times the two kinds of layer the models spend their time in — a 3×3 convolution in
channels-last (XMem's encoders and decoder) and a linear layer (SAM's ViT) — in fp32 and under
bf16 autocast, alternating, in a child process on one torch thread (so this process's thread
count, a start-up setting, is never touched, whichever thread asks), and compares the *CPU
time* of that thread, best of each: on a busy machine the wall clock counts the time other processes hold
the core (on a 2-core machine at load 10 the wall-clock ratio of such a probe ranged 0.5–2.5
from one run to the next), the thread's CPU time does not (1.87–2.03 there). About 0.6 s
of CPU, plus the child's start (importing torch, once per machine). Where the thread clock is coarse (Windows: 15.6 ms) it falls back to the wall clock.
The result is kept in the user's cache folder (:func:`cache_file`), keyed by the CPU's model
name, its flags, the torch version and the probe's method, so later processes read it instead
of measuring. torch is imported only to measure or to key a figure.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from annotator import settings

METHOD = "thread-cpu-min-v2"  # a new method measures again instead of reading old figures


def cache_file() -> Path:
    """Where the measured figures are kept (the test suite points it at a folder of its own)."""
    return settings.user_cache_dir() / "bf16-probe.json"


def _cpu_key(flags: set[str]) -> str:
    import torch

    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f
                          if ln.lower().startswith("model name")), "")
    except OSError:
        pass
    raw = f"{model}|{' '.join(sorted(flags))}|{torch.__version__}|{METHOD}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _clock():  # noqa: ANN202
    """The calling thread's CPU-time clock where it is fine-grained, else the wall clock."""
    try:
        if time.get_clock_info("thread_time").resolution <= 1e-4:
            return time.thread_time
    except (AttributeError, ValueError, OSError):
        pass
    return time.perf_counter


def rounds(repeats: int = 7, clock=None) -> float:  # noqa: ANN001
    """bf16 autocast speed-up over fp32 on the models' two kinds of layer, here, with torch's
    current threads: the best fp32 time over the best bf16 time of ``repeats`` alternating
    rounds (``clock``: the thread's CPU time when torch runs on one thread, else the wall
    clock)."""
    import torch

    conv = torch.nn.Conv2d(128, 128, 3, padding=1).eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, 128, 64, 96).contiguous(memory_format=torch.channels_last)
    lin = torch.nn.Linear(768, 768).eval()
    y = torch.randn(2048, 768)
    if clock is None:
        clock = _clock() if torch.get_num_threads() == 1 else time.perf_counter

    def run(bf16: bool) -> float:
        t0 = clock()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            conv(x)
            lin(y)
        return clock() - t0

    run(False), run(True)  # warm-up: oneDNN builds its kernels
    best = {False: float("inf"), True: float("inf")}
    for i in range(repeats):  # fp32 first, then bf16 first, …: drift hits both alike
        for bf16 in (False, True) if i % 2 == 0 else (True, False):
            best[bf16] = min(best[bf16], run(bf16))
    return best[False] / max(best[True], 1e-9)


_CHILD = ("import sys, torch\n"
          "torch.set_num_threads(1)\n"
          "from annotator.engines.bf16_probe import rounds\n"
          "print(repr(rounds(int(sys.argv[1]))))\n")


def measure(repeats: int = 7, timeout_s: float = 120.0) -> float:
    """The speed-up measured in a child process on one thread, in that thread's CPU time
    (other processes on a busy machine do not inflate it), so this process's thread count — a
    process-wide setting that belongs to start-up — is never touched; where no child can be
    started (a frozen bundle, a failure) here, with the current threads, best of the rounds."""
    import subprocess
    import sys

    if not getattr(sys, "frozen", False):
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        try:
            out = subprocess.run([sys.executable, "-c", _CHILD, str(int(repeats))], env=env,
                                 capture_output=True, text=True, timeout=timeout_s)
            if out.returncode == 0:
                return float(out.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            pass
    return rounds(repeats)


def speedup(flags: set[str]) -> float:
    """The measured speed-up (cached per CPU and torch build in the user's cache folder)."""
    key = _cpu_key(flags)
    path = cache_file()
    if (key, path) in _MEMO:
        return _MEMO[key, path]
    _MEMO[key, path] = value = _read_or_measure(key, path)
    return value


_MEMO: dict[tuple[str, object], float] = {}  # this process's answers (no file read each time)


def _read_or_measure(key: str, path) -> float:  # noqa: ANN001
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    if isinstance(cached, dict) and isinstance(cached.get(key), (int, float)):
        return float(cached[key])
    value = round(measure(), 3)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cached = cached if isinstance(cached, dict) else {}
        cached[key] = value
        path.write_text(json.dumps(cached), encoding="utf-8")
    except OSError:
        pass  # a read-only cache folder: measured again next time
    return value
