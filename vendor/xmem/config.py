"""Inference configuration (SPEC §8) with the eval.py defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class XMemConfig:
    """Every value of SPEC §8. Defaults are eval.py's; the interactive demo uses mem_every=10.

    * ``mem_every``: a memory frame every r frames after the previous one (a given mask resets it).
    * ``deep_update_every``: −1 = deep hidden update on memory frames (sync); else every n frames.
    * ``top_k``: k of the top-k softmax (clamped to the memory size).
    * ``enable_long_term``: long-term memory (consolidation into prototypes).
    * ``enable_long_term_count_usage``: count long-term usage so the least used elements can be
      removed when it is full. eval.py decides per video from its length; a streaming core does
      not know the length, so the default is on (it changes nothing until pruning is needed).
      When off and long-term memory is full, the oldest elements are removed.
    * ``max_mid_term_frames`` / ``min_mid_term_frames``: working-memory frames that trigger a
      consolidation / stay after it (min is clamped to 1..max−1, as the reference GUI does).
    * ``max_long_term_elements``, ``num_prototypes``: long-term capacity, prototypes per
      consolidation (clamped to the number of candidates).
    * ``key_dim``/``value_dim``/``hidden_dim``: taken from the network (the checkpoint).
    * ``size``: shorter side the front end resizes frames to (−1: keep); see ``preprocess``.
    * ``half``: fp16 autocast on CUDA (eval.py's AMP); ignored on other devices.
    """

    mem_every: int = 5
    deep_update_every: int = -1
    top_k: int = 30
    enable_long_term: bool = True
    enable_long_term_count_usage: bool = True
    max_mid_term_frames: int = 10
    min_mid_term_frames: int = 5
    max_long_term_elements: int = 10000
    num_prototypes: int = 128
    key_dim: int = 64
    value_dim: int = 512
    hidden_dim: int = 64
    size: int = 480
    half: bool = False

    @classmethod
    def from_any(cls, config: XMemConfig | dict[str, Any] | None) -> XMemConfig:
        if config is None:
            return cls()
        if isinstance(config, XMemConfig):
            return cls(**asdict(config))
        return cls().updated(config)

    def updated(self, changes: dict[str, Any]) -> XMemConfig:
        """A copy with ``changes`` applied; unknown keys raise ValueError (and are named)."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown XMem config keys: {', '.join(unknown)}")
        values = asdict(self)
        values.update(changes)
        out = XMemConfig(**values)
        out.validate()
        return out

    def validate(self) -> None:
        for name in ("mem_every", "top_k", "max_mid_term_frames", "num_prototypes", "max_long_term_elements"):
            if getattr(self, name) < 1:
                raise ValueError(f"XMem config {name} must be ≥ 1, got {getattr(self, name)}")
        if self.deep_update_every == 0 or self.deep_update_every < -1:
            raise ValueError("XMem config deep_update_every must be −1 (sync) or ≥ 1")
        if self.max_mid_term_frames < 2:
            raise ValueError("XMem config max_mid_term_frames must be ≥ 2")

    @property
    def t_min(self) -> int:
        """min_mid_term_frames clamped to 1..max_mid_term_frames−1."""
        return max(1, min(self.min_mid_term_frames, self.max_mid_term_frames - 1))
