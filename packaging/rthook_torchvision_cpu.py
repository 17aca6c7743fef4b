"""PyInstaller run-time hook for the CPU bundle (build.py without --cuda).

PyPI's Linux torchvision wheels are built against the CUDA torch; beside the CPU torch their
compiled ops (``torchvision/_C.so``, linked to libcudart and libtorch_cuda) cannot load, so the
CPU bundle leaves that file out. torchvision then still imports its pure-Python parts (the
image transforms SAM uses), except that ``torchvision._meta_registrations`` registers fake
kernels for ``torchvision::nms`` and ``torchvision::qnms`` without checking that the ops exist.
Just before torchvision is first imported, this declares those two schemas (no kernel: calling
them raises, and nothing in the app does) when the bundle has no compiled ops. Commands that
never import torchvision (``--version``) do not pay for importing torch here.
"""

import os
import sys


class _DeclareTorchvisionOps:
    @staticmethod
    def find_spec(name, path=None, target=None):  # noqa: ARG004 - the finder protocol
        if name != "torchvision":
            return None
        sys.meta_path.remove(_DeclareTorchvisionOps)
        package = os.path.join(getattr(sys, "_MEIPASS", ""), "torchvision")
        if os.path.isdir(package) and not any(n.startswith("_C.") for n in os.listdir(package)):
            import torch

            lib = torch.library.Library("torchvision", "DEF")
            for op in ("nms", "qnms"):
                lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            torch._avs_torchvision_schemas = lib  # the library object must outlive this call
        return None  # the ordinary finders import torchvision


if getattr(sys, "frozen", False):
    sys.meta_path.insert(0, _DeclareTorchvisionOps)
