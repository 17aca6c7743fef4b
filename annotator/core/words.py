"""Small helpers for the words of messages."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``"1 mask"``, ``"0 masks"``, ``"3 masks"``; ``many`` where adding an s is wrong
    (``plural(2, "entry", "entries")``)."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"


def span(seconds: float) -> str:
    """A length of time for people: ``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
