"""Sub-commands of the ``annotator`` CLI: one module per group, each with ``register(sub)``.

``register(sub)`` adds its parsers to the ``argparse`` sub-parsers object and sets
``func=handler`` on each; a handler takes the parsed args and returns an exit status.
"""

from __future__ import annotations

import importlib

# Order is the order of ``annotator --help``.
MODULES = ["gui", "project", "status", "dataset", "check", "salvage", "pipeline", "evaluate",
           "audio", "models", "doctor", "desktop"]


def register_all(sub) -> None:
    for name in MODULES:
        importlib.import_module(f"annotator.commands.{name}").register(sub)


def add_device_option(parser) -> None:
    """``--device`` and ``--precision`` for a command that runs a model; ``annotator.cli.main``
    starts the process's engine registry on them (a device the machine lacks: one line,
    exit 2)."""
    parser.add_argument("--device", default=None, metavar="auto|cpu|cuda[:N]|mps",
                        help="where the models run (default: $AVS_ANNOTATOR_DEVICE, else the "
                             "device setting, else auto: CUDA, then MPS, then the CPU)")
    parser.add_argument("--precision", default=None, choices=["auto", "fp32", "bf16", "fp16"],
                        help="what the models compute in (default: $AVS_ANNOTATOR_PRECISION, "
                             "else the precision setting, else auto: fp16 on CUDA, bf16 on a "
                             "CPU with native bf16, fp32 elsewhere; annotator doctor says which)")
    from annotator.engines.sam2_models import SEGMENTERS  # no torch: the CLI starts fast

    parser.add_argument("--segmenter", default=None, choices=SEGMENTERS,
                        help="what clicks and refinement run on (default: "
                             "$AVS_ANNOTATOR_SEGMENTER, else the engines.segmenter setting, "
                             "else auto: SAM, else SAM 2.1, else the weight-free fallback); "
                             "sam2: the largest SAM 2.1 file present, or name one")
    parser.set_defaults(runs_models=True)
