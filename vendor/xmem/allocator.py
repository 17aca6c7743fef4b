"""Keep freed tensor memory in the process instead of giving it back to the kernel at once.

A frame at 854×480 allocates and frees dozens of tensors of 20–60 MB (the decoder's stride-4
features of two objects are 53 MB each). glibc serves every block over its mmap threshold
(at most 32 MB) with a fresh ``mmap`` and returns it with ``munmap`` when PyTorch frees it, so
each such tensor is page-faulted in again on first touch. On a virtual machine a fault is
expensive: on the 2-core development machine a ReLU over a 53 MB tensor took 20 ms into a new
tensor and 2 ms into a reused one, and the whole step 1.6–1.8 s instead of 1.2–1.3 s
(``bench/xmem_bench.py``). Same numbers either way: only where the memory comes from changes.

:func:`keep_freed_memory` makes glibc serve large blocks from the heap and keep up to
``keep_bytes`` of freed memory there for reuse, so the second frame onwards reuses the first
frame's pages. The heap then holds the step's peak working set (about 1.5 GB at 480p, 2 objects)
until :func:`release_freed_memory` (``malloc_trim``) hands the free pages back: call it when a
run ends. Both are no-ops where the C library is not glibc (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4

_lock = threading.Lock()
_state = {"kept": False}


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (absent outside glibc)
        return libc
    except (OSError, AttributeError):
        return None


def keep_freed_memory(keep_bytes: int = 2 << 30) -> bool:
    """Serve large allocations from the heap and keep up to ``keep_bytes`` of freed memory at
    its top (process-wide; idempotent). True where it took effect (glibc)."""
    libc = _glibc()
    if libc is None:
        return False
    with _lock:
        if not _state["kept"]:
            ok = libc.mallopt(M_MMAP_MAX, 0) == 1
            ok = libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int(min(keep_bytes, 2**31 - 1))) == 1 and ok
            _state["kept"] = ok
        return _state["kept"]


def release_freed_memory() -> bool:
    """Give the heap's free pages back to the kernel (``malloc_trim(0)``); True if any were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def keeping() -> bool:
    """Whether :func:`keep_freed_memory` has taken effect in this process."""
    return _state["kept"]
