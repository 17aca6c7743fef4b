"""Small helpers for the words of messages."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``"1 mask"``, ``"0 masks"``, ``"3 masks"``; ``many`` where adding an s is wrong
    (``plural(2, "entry", "entries")``)."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"
