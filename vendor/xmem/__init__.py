"""Our own XMem inference implementation (see ../shared/xmem/SPEC.md).

Public API::

    from xmem import InferenceCore, XMem, XMemConfig, load_checkpoint, build_network, to_tensor
    from xmem import MemoryVote, CheckpointError
"""

from .config import XMemConfig
from .inference_core import InferenceCore
from .network import XMem, aggregate
from .preprocess import pad_amounts, resize_shorter, to_tensor
from .vote import MemoryVote

__all__ = [
    "InferenceCore",
    "MemoryVote",
    "XMem",
    "XMemConfig",
    "aggregate",
    "pad_amounts",
    "resize_shorter",
    "to_tensor",
]
