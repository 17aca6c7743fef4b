"""Memory read maths (SPEC §4.1–4.3): anisotropic L2 similarity, top-k softmax, readout."""

from __future__ import annotations

import math

import torch


def similarity(
    mem_key: torch.Tensor,
    mem_shrinkage: torch.Tensor | None,
    query_key: torch.Tensor,
    query_selection: torch.Tensor | None,
) -> torch.Tensor:
    """``S[n, p] = −(s[n]/√C_k)·Σ_c e[c,p]·(m[c,n] − q[c,p])²``.

    mem_key 1×C_k×N, mem_shrinkage 1×1×N (or None), query_key 1×C_k×Q, query_selection
    1×C_k×Q (or None) → 1×N×Q. Evaluated as the reference does (three products, then
    ``(−a + b − c)·s/√C_k``) so that float32 rounding matches.
    """
    ck = mem_key.shape[1]
    mk = mem_key.transpose(1, 2)
    if query_selection is not None:
        a = mk.pow(2) @ query_selection
        b = 2 * (mk @ (query_key * query_selection))
        c = (query_selection * query_key.pow(2)).sum(1, keepdim=True)
        s = -a + b - c
    else:
        a = mk.pow(2).sum(2, keepdim=True)
        b = 2 * (mk @ query_key)
        s = -a + b
    if mem_shrinkage is not None:
        s = s * mem_shrinkage.transpose(1, 2)
    return s / math.sqrt(ck)


class TopK:
    """Result of a top-k softmax along the memory axis (dim 1) of a 1×N×Q similarity."""

    __slots__ = ("affinity", "best_index", "best_weight")

    def __init__(self, affinity: torch.Tensor, best_index: torch.Tensor, best_weight: torch.Tensor) -> None:
        self.affinity = affinity  # 1×N×Q, zero outside each column's top k
        self.best_index = best_index  # Q, the memory row with the largest weight
        self.best_weight = best_weight  # Q, its weight


def topk_softmax(sim: torch.Tensor, top_k: int) -> TopK:
    """Softmax over each query's ``top_k`` largest similarities; 0 elsewhere.

    The maximum is subtracted before ``exp`` (allowed by README: removes the NaN of quirk 1).
    ``top_k`` is clamped to the number of memory elements.
    """
    k = min(top_k, sim.shape[1])
    values, indices = torch.topk(sim, k=k, dim=1)
    weights = torch.exp(values - values[:, :1])
    weights = weights / weights.sum(dim=1, keepdim=True)
    affinity = torch.zeros_like(sim).scatter_(1, indices, weights)
    return TopK(affinity, indices[0, 0], weights[0, 0])


def full_softmax(sim: torch.Tensor) -> torch.Tensor:
    """Softmax along dim 1 with max subtraction, written out as the reference does."""
    e = torch.exp(sim - sim.max(dim=1, keepdim=True)[0])
    return e / e.sum(dim=1, keepdim=True)
