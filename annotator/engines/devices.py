"""Device choice for the models: CUDA, then MPS, then CPU, with an override.

The override comes from the caller (``--device``), else ``$AVS_ANNOTATOR_DEVICE``, else the
``device`` setting, else ``auto``. Half precision (``float16``) is used on CUDA only, where it
keeps SAM's results (the image encoder runs in fp16, the mask decoder in fp32, see
``sam.py``); ``half`` = ``auto`` | ``true`` | ``false`` overrides it. ``threads`` sets torch's CPU
threads (0 = torch's default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from annotator import settings
from annotator.errors import UserError

DEVICE_ENV = "AVS_ANNOTATOR_DEVICE"
THREADS_ENV = "AVS_ANNOTATOR_THREADS"


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    half: bool
    threads: int
    reason: str  # why this device, for ``annotator doctor`` and the status bar

    @property
    def dtype(self) -> torch.dtype:
        return torch.float16 if self.half else torch.float32

    def describe(self) -> str:
        prec = "fp16" if self.half else "fp32"
        extra = f", {self.threads} CPU threads" if self.device.type == "cpu" else ""
        return f"{self.device} ({prec}{extra}; {self.reason})"


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def automatic_device() -> str:
    """What ``auto`` picks on this machine: ``cuda``, else ``mps``, else ``cpu``."""
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if mps_available() else "cpu"


def machine_devices() -> dict[str, str | None]:
    """Every device name a person may choose, with None where this machine has it, else the
    reason it cannot be used (for the Preferences' device list)."""
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


def choose_device(
    override: str | None = None,
    half: bool | str | None = None,
    threads: int | None = None,
) -> DeviceChoice:
    """Pick the device. ``override`` (``cuda``, ``cuda:1``, ``mps``, ``cpu``, ``auto``) wins over
    the environment and settings; asking for a device that is not there is a ``UserError``."""
    if override and override != "auto":
        requested, source = override, "requested"
    elif os.environ.get(DEVICE_ENV):
        requested, source = os.environ[DEVICE_ENV], f"${DEVICE_ENV}"
    else:
        requested, source = str(settings.get("device", "auto") or "auto"), "settings"
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

    want_half = _parse_bool(half if half is not None else settings.get("half", "auto"), "half")
    use_half = dev.type == "cuda" if want_half is None else (want_half and dev.type == "cuda")

    if threads is None:
        env = os.environ.get(THREADS_ENV)
        threads = int(env) if env else int(settings.get("threads", 0) or 0)
    if threads < 0:
        raise UserError(f"threads must be 0 (default) or a positive number, not {threads}")
    return DeviceChoice(device=dev, half=use_half, threads=threads or torch.get_num_threads(),
                        reason=reason)


def apply_threads(choice: DeviceChoice) -> None:
    """Set torch's CPU thread count from the choice (a process-wide setting)."""
    if choice.threads and choice.threads != torch.get_num_threads():
        torch.set_num_threads(choice.threads)
