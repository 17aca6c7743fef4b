"""``annotator doctor``: Python, torch and the device choice, Qt platform, model files."""

from __future__ import annotations

import argparse
import os
import platform
import sys

from annotator.commands import add_device_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="show the environment: Python, torch, device, Qt, model files")
    add_device_option(p)
    p.add_argument("--no-load", action="store_true",
                   help="do not load the installed models to show where they really run")
    p.set_defaults(func=cmd_doctor)


def _qt_line() -> str:
    platform_env = os.environ.get("QT_QPA_PLATFORM") or "(unset: Qt picks the default)"
    try:
        import PySide6  # noqa: PLC0415 - only here, so the CLI starts without Qt
        from PySide6 import QtCore
    except Exception as exc:  # missing, or its libraries cannot be loaded
        return f"PySide6: not usable ({type(exc).__name__}: {exc}); QT_QPA_PLATFORM={platform_env}"
    return (f"PySide6 {PySide6.__version__} (Qt {QtCore.qVersion()}); "
            f"QT_QPA_PLATFORM={platform_env}")


def _loaded_models_lines(args: argparse.Namespace) -> None:
    """Load the installed models through the process's registry and say where each one's
    weights really are (not what the preference asks for)."""
    if getattr(args, "no_load", False):
        print("models: not loaded (--no-load)")
        return
    from annotator.engines import registry
    from annotator.engines.models import xmem_checkpoint

    reg = registry.get()
    for what, load in (("SAM", reg.sam), ("XMem", reg.xmem_network)):
        if what == "XMem" and xmem_checkpoint() is None:
            print("XMem: not installed (propagation uses the weight-free fallback)")
            continue
        try:
            if load() is None:
                print(f"{what}: not installed")
                continue
        except Exception as exc:  # noqa: BLE001 - a broken file is reported, not raised
            print(f"{what}: could not be loaded: {exc}")
            continue
        print(f"{what}: loaded, runs on {reg.devices().get(what, '?')} in "
              f"{reg.precisions().get(what, '?')}")
    _sam2_line(reg)


def _sam2_line(reg) -> None:
    """SAM 2.1: the model this process would use, and where and in what it runs."""
    from annotator.engines import sam2_models

    if not sam2_models.installed():
        print("SAM 2.1: the sam2 package is not installed (pip install 'avs-annotator[sam2]')")
        return
    try:
        loaded = reg.sam2_model()
    except Exception as exc:  # noqa: BLE001 - a broken file is reported, not raised
        print(f"SAM 2.1: could not be loaded: {exc}")
        return
    if loaded is None:
        print("SAM 2.1: no model file (`annotator models download sam2.1_hiera_tiny`)")
        return
    label = f"SAM 2.1 {loaded[1].removeprefix('sam2.1_')}"
    print(f"{label}: loaded from {reg.sam2_file()}, runs on {reg.devices().get(label, '?')} "
          f"in {reg.precisions().get(label, '?')}")


def _cpu_bf16_line(on_cpu: bool) -> str:
    """What the CPU's flags say about bf16 and, where the models run on the CPU, the speed
    probe's figure and what ``auto`` makes of both."""
    from annotator.engines.devices import BF16_PAYS, cpu_bf16

    cpu = cpu_bf16(measure=on_cpu)
    line = (f"CPU bf16: {'native' if cpu.native else 'not native'} "
            f"(from the CPU's flags: {cpu.why})")
    if not on_cpu:
        return line
    if cpu.speedup is not None:
        line += (f"; measured {cpu.speedup:.2f}× fp32's speed on the models' layers "
                 f"(bf16 needs {BF16_PAYS}×)")
    return f"{line}: auto uses {cpu.auto} on the CPU"


def cmd_doctor(args: argparse.Namespace) -> int:
    from annotator import settings
    from annotator.engines import models
    from annotator.engines.devices import choose_device

    print(f"Python {platform.python_version()} ({sys.executable}) on {platform.platform()}")
    try:
        import torch

        cuda = torch.version.cuda or "none"
        print(f"torch {torch.__version__} (CUDA build: {cuda}; "
              f"CUDA available: {torch.cuda.is_available()})")
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                print(f"  cuda:{i}: {torch.cuda.get_device_name(i)}")
    except Exception as exc:  # pragma: no cover - torch is a dependency
        print(f"torch: not usable ({exc})")
    try:
        import segment_anything  # noqa: F401

        print("segment-anything: installed")
    except ImportError:
        print("segment-anything: MISSING (pip install segment-anything)")
    choice = choose_device(args.device, precision=args.precision)
    print(f"device: {choice.describe()}")
    print(_cpu_bf16_line(choice.device.type == "cpu"))
    _loaded_models_lines(args)
    print(f"Qt: {_qt_line()}")
    print(f"settings: {settings.settings_path()}")
    print(f"models folder: {models.models_dir()}")
    for r in models.list_models():
        state = "found" if r.exists else "missing"
        print(f"  {r.model.name:<10} {state:<7} {r.path} [{r.source}]")
    sam = models.find_sam()
    from annotator.engines import registry, sam2_models

    try:
        choice = registry.get().segmenter_choice()
    except Exception as exc:  # noqa: BLE001 - a bad setting is reported, not raised
        choice = f"? ({exc})"
    if choice == "sam2" or choice in sam2_models.SAM2_CONFIGS:
        found = sam2_models.find_sam2(None if choice == "sam2" else choice)
        where = found.path if found is not None else "no SAM 2.1 file present"
        print(f"segmenter: SAM 2.1 ({choice}) from {where}")
    elif choice == "fallback" or sam is None:
        print("segmenter: fallback (watershed + GrabCut, no SAM weights) — "
              "`annotator models download sam_vit_b` gets SAM")
    else:
        print(f"segmenter: SAM from {sam.path}")
    return 0
