"""Memory manager (SPEC §4.4, §5, §6): sensory, working and long-term memory.

A plain object with clear bounds: working memory (WM) holds between ``T_min`` and ``T_max``
memory frames (plus frame 0's, which never leaves); when it reaches ``T_max`` frames, all but the
first and the last ``T_min − 1`` frames are consolidated into at most ``num_prototypes``
long-term (LT) prototypes; before that, LT is pruned to ``max_long_term_elements − P``.
So the memory held is bounded for any video length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .affinity import TopK, full_softmax, similarity, topk_softmax
from .config import XMemConfig
from .store import MemoryStore


@dataclass
class GroupRead:
    """What one group's memory read produced (kept for the memory vote)."""

    objects: list[int]
    topk: TopK
    labels: torch.Tensor  # n × M, the memorised mask shares of the M elements read
    is_long_term: torch.Tensor  # M bool


class MemoryManager:
    def __init__(self, config: XMemConfig) -> None:
        self.config = config
        self.hidden: torch.Tensor | None = None  # N × C_h × h × w
        self.work = MemoryStore(count_usage=config.enable_long_term)
        self.long = MemoryStore(count_usage=config.enable_long_term_count_usage)
        self.hw = 0
        self.min_work = 0
        self.max_work = 0
        self._reset_config = True
        self.consolidations = 0
        self.in_place = True  # False: the reference's allocations (InferenceCore, benchmarks)

    # ----------------------------------------------------------------- config
    def update_config(self, config: XMemConfig) -> None:
        """New bounds take effect at the next ``add_memory`` (as in the reference)."""
        self.config = config
        # counting can start only while LT is empty (its elements need counters from birth)
        if self.long.size == 0:
            self.long.count_usage = config.enable_long_term_count_usage
        else:
            self.long.count_usage = config.enable_long_term_count_usage and self.long.use is not None
        self._reset_config = True

    # ----------------------------------------------------------------- sizes
    @property
    def objects(self) -> list[int]:
        return self.work.objects

    def nbytes(self) -> int:
        h = 0 if self.hidden is None else self.hidden.numel() * self.hidden.element_size()
        return self.work.nbytes() + self.long.nbytes() + h

    # ----------------------------------------------------------------- read
    def match_memory(
        self, query_key: torch.Tensor, selection: torch.Tensor | None, keep_reads: bool = False
    ) -> tuple[torch.Tensor, list[GroupRead]]:
        """Readout ``N_mem × C_v × h × w`` for the objects in memory, in group order."""
        cfg = self.config
        h, w = query_key.shape[-2:]
        qk = query_key.flatten(2)
        qe = None if selection is None else selection.flatten(2)
        wm, lt = self.work, self.long
        use_lt = cfg.enable_long_term and lt.size > 0
        n_lt = lt.size if use_lt else 0

        if use_lt:
            keys = torch.cat([lt.key, wm.key], -1)  # type: ignore[list-item]
            shrink = torch.cat([lt.shrinkage, wm.shrinkage], -1)  # type: ignore[list-item]
        else:
            keys, shrink = wm.key, wm.shrinkage
        sim = similarity(keys, shrink, qk, qe, self.in_place)  # type: ignore[arg-type]

        outs: list[torch.Tensor] = []
        reads: list[GroupRead] = []
        for gi, g in enumerate(wm.groups):
            lt_g = lt.groups[gi] if use_lt and gi < len(lt.groups) else None
            rows = g.cols + n_lt
            if lt_g is not None:
                rows = torch.cat([lt_g.cols, rows])
            full = rows.numel() == sim.shape[1]  # group 0: every element, in order
            s = sim if full else sim[:, rows]
            top = topk_softmax(s, cfg.top_k)
            if lt_g is not None:
                values = torch.cat([lt_g.values, g.values], -1)
                labels = torch.cat([lt_g.labels, g.labels], -1)
            else:
                values, labels = g.values, g.labels
            outs.append(top.readout(values))
            if gi == 0 and cfg.enable_long_term:
                usage = top.usage()
                if not full:  # only when group 0 lacks LT elements (cannot happen in practice)
                    usage = torch.zeros(sim.shape[1], dtype=usage.dtype, device=usage.device).index_add_(0, rows, usage)
                wm.update_usage(usage[n_lt:])
                if use_lt:
                    lt.update_usage(usage[:n_lt])
            if keep_reads:
                is_lt = rows < n_lt
                reads.append(GroupRead(list(g.objects), top, labels, is_lt))
        readout = torch.cat(outs, 0)
        return readout.view(readout.shape[0], readout.shape[1], h, w), reads

    # ----------------------------------------------------------------- write
    def add_memory(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        value: torch.Tensor,
        objects: list[int],
        selection: torch.Tensor | None,
        labels: torch.Tensor,
    ) -> None:
        """key 1×C_k×h×w, shrinkage 1×1×h×w, value N×C_v×h×w, labels N×h×w (mask shares)."""
        cfg = self.config
        if self._reset_config:
            self._reset_config = False
            self.hw = key.shape[-2] * key.shape[-1]
            self.min_work = cfg.t_min * self.hw
            self.max_work = cfg.max_mid_term_frames * self.hw
        sel = selection.flatten(2) if (selection is not None and cfg.enable_long_term) else None
        self.work.add_frame(
            key.flatten(2), shrinkage.flatten(2), sel, value.flatten(2), labels.flatten(1), objects
        )
        if cfg.enable_long_term and self.work.size >= self.max_work:
            prune_to = cfg.max_long_term_elements - cfg.num_prototypes
            if self.long.size >= prune_to:
                self.long.remove_obsolete(max(prune_to, 0))
            self._consolidate()

    def create_hidden_state(self, n: int, like: torch.Tensor) -> None:
        """Zeros for objects that have no hidden state yet (like: 1×C×h×w, for device/size)."""
        ch = self.config.hidden_dim
        if ch <= 0:
            return
        h, w = like.shape[-2:]
        have = 0 if self.hidden is None else self.hidden.shape[0]
        if n > have:
            zeros = torch.zeros(n - have, ch, h, w, dtype=like.dtype, device=like.device)
            self.hidden = zeros if self.hidden is None else torch.cat([self.hidden, zeros], 0)

    # ----------------------------------------------------------------- long-term
    def _consolidate(self) -> None:
        """SPEC §6.1–6.3 with every group aligned to its own keys."""
        wm = self.work
        a, b = self.hw, wm.size - self.min_work + self.hw
        if b <= a:
            return
        cand_key = wm.key[:, :, a:b]  # type: ignore[index]
        cand_shrink = wm.shrinkage[:, :, a:b]  # type: ignore[index]
        cand_sel = wm.selection[:, :, a:b]  # type: ignore[index]
        usage = wm.usage()[a:b]
        n_c = b - a
        k = min(self.config.num_prototypes, n_c)
        idx = torch.topk(usage[None], k=k, dim=-1, sorted=True).indices[0]
        proto_key = cand_key[:, :, idx]
        proto_sel = cand_sel[:, :, idx]
        sim = similarity(cand_key, cand_shrink, proto_key, proto_sel, self.in_place)  # 1 × N_c × k

        per_group: list[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor] | None] = []
        proto_shrink = None
        for g in wm.groups:
            inside = (g.cols >= a) & (g.cols < b)
            pos = g.cols[inside] - a  # candidate rows of this group
            if pos.numel() == 0:
                per_group.append(None)
                continue
            valid = torch.isin(idx, pos)
            if not bool(valid.any()):
                per_group.append(None)
                continue
            vpos = torch.nonzero(valid)[:, 0]
            sub = sim[:, pos][:, :, vpos]
            aff = full_softmax(sub)  # 1 × len × #valid
            values = g.values[:, :, inside] @ aff
            labels = (g.labels[:, inside][None] @ aff)[0]
            per_group.append((list(g.objects), values, labels, vpos))
            if proto_shrink is None:
                proto_shrink = cand_shrink[:, :, pos] @ aff if pos.numel() < n_c else cand_shrink @ aff
        wm.remove_range(a, b)
        if proto_shrink is None:
            return
        self.long.add_prototypes(proto_key, proto_shrink, per_group)
        self.consolidations += 1
