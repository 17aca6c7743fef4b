"""Our own XMem inference implementation (see ../shared/xmem/SPEC.md).

Public API::

    from xmem import InferenceCore, XMem, XMemConfig, load_checkpoint, to_tensor
    from xmem import MemoryVote, CheckpointError, allocator
"""

from . import allocator
from .config import XMemConfig
from .inference_core import InferenceCore
from .loading import CheckpointError, load_checkpoint
from .network import XMem, aggregate
from .preprocess import pad_amounts, resize_shorter, to_tensor
from .vote import MemoryVote

__all__ = [
    "CheckpointError",
    "InferenceCore",
    "MemoryVote",
    "XMem",
    "XMemConfig",
    "aggregate",
    "allocator",
    "load_checkpoint",
    "pad_amounts",
    "resize_shorter",
    "to_tensor",
]
