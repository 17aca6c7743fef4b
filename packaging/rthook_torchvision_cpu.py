"""PyInstaller run-time hook for the CPU bundle (build.py without --cuda).

PyPI's Linux torchvision wheels are built against the CUDA torch; beside the CPU torch their
compiled ops (``torchvision/_C.so``, linked to libcudart and libtorch_cuda) cannot load, so the
CPU bundle leaves that file out. torchvision then still imports its pure-Python parts (the
image transforms SAM uses), except that ``torchvision._meta_registrations`` registers fake
kernels for ``torchvision::nms`` and ``torchvision::qnms`` without checking that the ops exist.
This declares those two schemas (no kernel: calling them raises, and nothing in the app does)
when the compiled ops are absent. On Windows and macOS PyPI's torchvision is a CPU build whose
ops load, and this hook does nothing.
"""

import importlib.util
import os

_spec = importlib.util.find_spec("torchvision")
_pkg = os.path.dirname(_spec.origin) if _spec and _spec.origin else ""
_compiled = [n for n in (os.listdir(_pkg) if _pkg else []) if n.startswith("_C.")]
if _spec is not None and not _compiled:
    import torch

    _lib = torch.library.Library("torchvision", "DEF")  # noqa: RUF100 - kept alive below
    for _name in ("nms", "qnms"):
        _lib.define(f"{_name}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    torch._avs_torchvision_schemas = _lib  # the library object must outlive this hook
