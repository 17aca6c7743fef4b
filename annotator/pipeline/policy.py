"""When to refine a propagated frame with SAM: ``every``, ``k=N``, ``uncertain`` or ``off``.

SAM's image encoder costs about 13 s a frame on a CPU, XMem well under one, so the policy sets
the price of a propagation. ``uncertain`` (the default) refines a frame when the propagator is
unsure of it — low confidence, or a flag (lost, jump, whole frame) on the raw mask — plus every
:data:`UNCERTAIN_EVERY`-th frame of a run so a slow drift is still caught. ``k=N`` refines
every N-th frame of a run, ``every`` all of them (the LU-AVS seed's choice), ``off`` none.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotator.errors import UserError

UNCERTAIN_EVERY = 10
UNCERTAIN_CONFIDENCE = 0.7


@dataclass(frozen=True)
class RefinePolicy:
    mode: str = "uncertain"  # off | every | k | uncertain
    k: int = UNCERTAIN_EVERY

    @classmethod
    def parse(cls, text: str | RefinePolicy | None) -> RefinePolicy:
        """``every``, ``k=N``, ``uncertain``, ``off`` (None: the default)."""
        if isinstance(text, RefinePolicy):
            return text
        if text is None:
            return cls()
        t = text.strip().lower()
        if t in ("off", "every", "uncertain"):
            return cls(t)
        if t.startswith("k="):
            try:
                k = int(t[2:])
            except ValueError:
                k = 0
            if k >= 1:
                return cls("k", k)
        raise UserError(f"--refine {text!r}: expected every, k=N (N ≥ 1), uncertain or off")

    def __str__(self) -> str:
        return f"k={self.k}" if self.mode == "k" else self.mode

    def wants(self, index_in_run: int, confidence: float | None, flags: tuple[str, ...]) -> bool:
        """Refine the ``index_in_run``-th propagated frame (1 = next to the anchor)?"""
        if self.mode == "off":
            return False
        if self.mode == "every":
            return True
        if self.mode == "k":
            return index_in_run % self.k == 0
        if flags or (confidence is not None and confidence < UNCERTAIN_CONFIDENCE):
            return True
        return index_in_run % self.k == 0
