"""Device choice for the models: CUDA, then MPS, then CPU, with an override.

The override comes from the caller (``--device``), else ``$AVS_ANNOTATOR_DEVICE``, else the
``device`` setting, else ``auto``. ``threads`` sets torch's CPU threads (0 = torch's default).

Precision (``--precision``, else ``$AVS_ANNOTATOR_PRECISION``, else the ``precision`` setting,
else ``auto``): ``fp32`` | ``bf16`` | ``fp16`` | ``auto``. ``auto`` is fp16 on CUDA (SAM's image
encoder in fp16, its mask decoder in fp32, see ``sam.py``), bf16 on a CPU whose instruction set
has bf16 arithmetic (AVX512-BF16 or AMX-BF16 on x86, the BF16 extension on Arm: read from the
CPU's flags, see :func:`bf16_support`) *and* measured faster than fp32 there (flags say
what the CPU can do, not how fast: :mod:`annotator.engines.bf16_probe`), fp32 elsewhere (MPS, and CPUs that would only emulate
bf16, which is slower than fp32). bf16 is an autocast over the parts of each model listed in
:data:`SAM_BF16_PARTS` / :data:`XMEM_BF16_PARTS`, the parts whose bf16 outputs keep the fidelity
gates (bench/precision_bench.py, tests/engines/test_precision.py); the rest stays fp32. The old
``half`` setting (``auto`` | ``true`` | ``false``) still turns fp16 on CUDA off or on when no
precision is given.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from annotator import settings
from annotator.errors import UserError

if TYPE_CHECKING:  # torch is imported where a device is really chosen: a weight-free run
    import torch  # (the fallback engines) never pays for it

DEVICE_ENV = "AVS_ANNOTATOR_DEVICE"
THREADS_ENV = "AVS_ANNOTATOR_THREADS"
PRECISION_ENV = "AVS_ANNOTATOR_PRECISION"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# The parts that run under bf16 autocast when the precision is bf16 (measured per part with
# bench/precision_bench.py; a part left out stays fp32 because bf16 broke a gate there or
# bought nothing). SAM: the image encoder (the 13 s); its prompt encoder and mask decoder cost
# milliseconds and stay fp32. XMem (xmem.InferenceCore's ``bf16_parts``, in its order): the key
# encoder (ResNet-50), the decoder and the value encoder, whose convolutions compute in bf16
# while what stays float32 inside them is what the gates found sensitive: the residual streams
# (each block's sum) and the decoder's last convolution, to the logits (it costs nothing). The
# key projection and the memory read-out with its top-k stay fp32: they decide which memory a
# pixel reads. On golden B (golden weights, harsher than real ones), 2026-12-02: in bf16 alone
# the read-out changes 1 confident pixel (max |Δp| 0.035), so it stays fp32; with bf16 sums
# the key encoder alone changed 3 (0.028), with float32 sums none (0.021, the nearest keeps its
# label by 0.013); the chosen three together: none (0.022; golden A 0.027; DAVIS frames with
# random weights 0.0004). bench/precision_bench.py --parts; tests/xmem/test_bf16_gates.py.
SAM_BF16_PARTS: tuple[str, ...] = ("image_encoder",)
XMEM_BF16_PARTS: tuple[str, ...] = ("key", "decoder", "value")


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    half: bool  # fp16 weights for SAM's image encoder (CUDA)
    threads: int
    reason: str  # why this device, for ``annotator doctor`` and the status bar
    precision: str | None = None  # fp32 | bf16 | fp16 (None: from ``half``)
    precision_reason: str = ""  # why this precision, for ``annotator doctor``

    def __post_init__(self) -> None:
        if self.precision is None:
            object.__setattr__(self, "precision", "fp16" if self.half else "fp32")

    @property
    def dtype(self) -> torch.dtype:
        import torch

        return torch.float16 if self.half else torch.float32

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    def describe(self) -> str:
        extra = f", {self.threads} CPU threads" if self.device.type == "cpu" else ""
        why = f"; {self.precision_reason}" if self.precision_reason else ""
        return f"{self.device} ({self.precision}{extra}; {self.reason}{why})"


def cpu_flags() -> set[str]:
    """The CPU's feature flags as the operating system reports them (lower case): Linux's
    /proc/cpuinfo ``flags`` (x86) or ``Features`` (Arm) line, macOS's ``hw.optional.arm.FEAT_*``
    (as ``bf16`` etc.); empty where neither can be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return set(value.lower().split())
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(["sysctl", "hw.optional.arm"], capture_output=True, text=True,
                                 timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return set()
        return {k.split("FEAT_")[-1].strip().lower() for k, _, v in
                (ln.partition(":") for ln in out.splitlines()) if "FEAT_" in k and v.strip() == "1"}
    return set()


@dataclass(frozen=True)
class Cpu:
    """A CPU as detected: its architecture (``platform.machine()``, lower case) and flags."""

    machine: str
    flags: frozenset[str]


def detect_cpu() -> Cpu:
    """This machine's CPU. Every precision decision reads the CPU through here (and its
    measured speed through :func:`bf16_speedup`): the tests patch these two to play other
    machines."""
    return Cpu(platform.machine().lower(), frozenset(cpu_flags()))


def bf16_support(flags: set[str] | None = None, machine: str | None = None) -> tuple[bool, str]:
    """Whether this CPU computes bf16 natively, and why we think so (from its flags, never
    guessed): x86 needs ``avx512_bf16`` or ``amx_bf16``; Arm (aarch64/arm64) ``bf16``.
    ``flags`` / ``machine`` default to :func:`detect_cpu`'s."""
    if flags is None or machine is None:
        cpu = detect_cpu()
        flags = cpu.flags if flags is None else flags
        machine = cpu.machine if machine is None else machine
    machine = machine.lower()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        have = sorted(f for f in ("avx512_bf16", "amx_bf16") if f in flags)
        if have:
            return True, f"the CPU has {' and '.join(have)}"
        return False, "the CPU has neither avx512_bf16 nor amx_bf16, so bf16 is emulated"
    if machine in ("aarch64", "arm64") or machine.startswith("arm"):
        if "bf16" in flags:
            return True, "the Arm CPU has the BF16 extension"
        return False, "the Arm CPU lacks the BF16 extension, so bf16 is emulated"
    return False, f"no known bf16 instructions on a {machine or 'unknown'} CPU"


def mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def automatic_device() -> str:
    """What ``auto`` picks on this machine: ``cuda``, else ``mps``, else ``cpu``."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "mps" if mps_available() else "cpu"


def machine_devices() -> dict[str, str | None]:
    """Every device name a person may choose, with None where this machine has it, else the
    reason it cannot be used (for the Preferences' device list)."""
    import torch

    out: dict[str, str | None] = {"auto": None, "cpu": None}
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    out["cuda"] = None if n else "no CUDA device on this machine"
    for i in range(n if n > 1 else 0):
        out[f"cuda:{i}"] = None
    out["mps"] = None if mps_available() else "no Apple MPS device on this machine"
    return out


def _parse_bool(value: object, what: str) -> bool | None:
    if value is None or value == "auto":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UserError(f"{what} must be auto, true or false, not {value!r}")


BF16_PAYS = 1.2  # the speed-up bf16_probe must measure for auto to use bf16


def bf16_speedup() -> float:
    """bf16's measured speed-up over fp32 on this CPU (``bf16_probe``: cached per machine)."""
    from annotator.engines import bf16_probe

    return bf16_probe.speedup(set(detect_cpu().flags))


@dataclass(frozen=True)
class CpuBf16:
    """What ``auto`` knows about bf16 on this CPU: native or not (from the flags, ``why``),
    and where native, the probe's measured speed-up (None: not measured)."""

    native: bool
    why: str
    speedup: float | None = None

    @property
    def pays(self) -> bool:
        """Whether ``auto`` runs bf16 on this CPU: native *and* measured fast enough."""
        return self.native and self.speedup is not None and self.speedup >= BF16_PAYS

    @property
    def auto(self) -> str:
        return "bf16" if self.pays else "fp32"

    def reason(self) -> str:
        """Why ``auto`` picks :attr:`auto` on this CPU, in words."""
        if not self.native:
            return f"auto: fp32 because {self.why}"
        if self.speedup is None:
            return f"auto: fp32 although {self.why}: bf16's speed was not measured"
        if self.pays:
            return f"auto: bf16 because {self.why} and it measured {self.speedup:.2f}× fp32's speed"
        return (f"auto: fp32 although {self.why}: bf16 measured {self.speedup:.2f}× fp32's speed "
                f"here (needs {BF16_PAYS}×)")


def cpu_bf16(measure: bool = True) -> CpuBf16:
    """bf16 on this CPU: the flags, then (``measure``, and only where native) the speed probe."""
    native, why = bf16_support()
    return CpuBf16(native, why, bf16_speedup() if native and measure else None)


def choose_precision(dev: torch.device, precision: str | None = None,
                     half: bool | str | None = None) -> tuple[str, str]:
    """The precision the models run in on ``dev`` and why (see the module docstring)."""
    if precision and precision != "auto":
        asked, source = precision, f"precision {precision} asked for"
    elif os.environ.get(PRECISION_ENV):
        asked, source = os.environ[PRECISION_ENV], f"${PRECISION_ENV}"
    else:
        asked = str(settings.get("precision"))
        source = f"setting precision={asked}"
    asked = asked.strip().lower()
    if asked not in PRECISIONS:
        raise UserError(f"unknown precision {asked!r} ({source}): use auto, fp32, bf16 or fp16")
    if asked == "auto":
        want_half = _parse_bool(half if half is not None else settings.get("half"),
                                "half")
        if dev.type == "cuda":
            if want_half is False:
                return "fp32", "half=false"
            return "fp16", "auto: fp16 on CUDA"
        if dev.type == "cpu":
            cpu = cpu_bf16()
            return cpu.auto, cpu.reason()
        return "fp32", f"auto: fp32 on {dev.type}"
    if asked == "fp16" and dev.type != "cuda":
        raise UserError(f"precision fp16 ({source}) runs on CUDA only, not on {dev.type}: "
                        "use --precision bf16 or fp32 (or auto)")
    if asked == "bf16" and dev.type == "mps":
        raise UserError(f"precision bf16 ({source}) is not supported on mps: use fp32 or auto")
    if asked == "bf16" and dev.type == "cpu":
        native, why = bf16_support()
        if not native:
            return "bf16", f"{source}, although {why}: slower than fp32 here"
        return "bf16", f"{source}; {why}"
    return asked, source


def choose_device(
    override: str | None = None,
    half: bool | str | None = None,
    threads: int | None = None,
    precision: str | None = None,
) -> DeviceChoice:
    """Pick the device. ``override`` (``cuda``, ``cuda:1``, ``mps``, ``cpu``, ``auto``) wins over
    the environment and settings; asking for a device that is not there is a ``UserError``.
    ``precision`` (``auto``, ``fp32``, ``bf16``, ``fp16``): see :func:`choose_precision`."""
    import torch

    if override and override != "auto":
        requested, source = override, "requested"
    elif os.environ.get(DEVICE_ENV):
        requested, source = os.environ[DEVICE_ENV], f"${DEVICE_ENV}"
    else:
        requested, source = str(settings.get("device")), "settings"
        if requested != "auto":
            source = f"setting device={requested}"

    requested = requested.strip().lower()
    if requested == "auto":
        if torch.cuda.is_available():
            dev, reason = torch.device("cuda"), "CUDA is available"
        elif mps_available():
            dev, reason = torch.device("mps"), "Apple MPS is available"
        else:
            dev, reason = torch.device("cpu"), "no CUDA or MPS device"
    else:
        try:
            dev = torch.device(requested)
        except RuntimeError as exc:
            raise UserError(
                f"unknown device {requested!r} ({source}): use auto, cuda, cuda:N, mps or cpu"
            ) from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise UserError(
                f"device {requested!r} ({source}) was asked for but CUDA is not available: "
                "use --device cpu or set device to auto"
            )
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(
                f"device {requested!r} ({source}): only {torch.cuda.device_count()} CUDA device(s)"
            )
        if dev.type == "mps" and not mps_available():
            raise UserError(f"device 'mps' ({source}) was asked for but MPS is not available: "
                            "use --device cpu or set device to auto")
        if dev.type not in ("cuda", "mps", "cpu"):
            raise UserError(f"device {requested!r} ({source}) is not supported: use cuda, mps or cpu")
        reason = source

    prec, prec_reason = choose_precision(dev, precision, half)

    if threads is None:
        env = os.environ.get(THREADS_ENV)
        threads = int(env) if env else int(settings.get("threads"))
    if threads < 0:
        raise UserError(f"threads must be 0 (default) or a positive number, not {threads}")
    return DeviceChoice(device=dev, half=prec == "fp16", threads=threads or torch.get_num_threads(),
                        reason=reason, precision=prec, precision_reason=prec_reason)


def apply_threads(choice: DeviceChoice) -> None:
    """Set torch's CPU thread count from the choice (a process-wide setting)."""
    import torch

    if choice.threads and choice.threads != torch.get_num_threads():
        torch.set_num_threads(choice.threads)
