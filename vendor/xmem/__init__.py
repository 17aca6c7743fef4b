"""Our own XMem inference implementation (see ../shared/xmem/SPEC.md)."""
