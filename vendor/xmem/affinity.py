"""Memory read maths (SPEC §4.1–4.3): anisotropic L2 similarity, top-k softmax, readout."""

from __future__ import annotations

import math
import warnings

import torch


def similarity(
    mem_key: torch.Tensor,
    mem_shrinkage: torch.Tensor | None,
    query_key: torch.Tensor,
    query_selection: torch.Tensor | None,
    in_place: bool = True,
) -> torch.Tensor:
    """``S[n, p] = −(s[n]/√C_k)·Σ_c e[c,p]·(m[c,n] − q[c,p])²``.

    mem_key 1×C_k×N, mem_shrinkage 1×1×N (or None), query_key 1×C_k×Q, query_selection
    1×C_k×Q (or None) → 1×N×Q. Evaluated as the reference does (three products, then
    ``(−a + b − c)·s/√C_k``) so that float32 rounding matches — bit for bit, but in place on
    the N×Q product (``−a + b`` is ``b − a`` exactly): one N×Q allocation, not six.
    ``in_place=False``: a new tensor per operation, as the reference (for benchmarks).
    """
    ck = mem_key.shape[1]
    mk = mem_key.transpose(1, 2)
    if not in_place:
        if query_selection is not None:
            a = mk.pow(2) @ query_selection
            b = 2 * (mk @ (query_key * query_selection))
            c = (query_selection * query_key.pow(2)).sum(1, keepdim=True)
            s = -a + b - c
        else:
            s = -mk.pow(2).sum(2, keepdim=True) + 2 * (mk @ query_key)
        if mem_shrinkage is not None:
            s = s * mem_shrinkage.transpose(1, 2)
        return s / math.sqrt(ck)
    if query_selection is not None:
        a = mk.pow(2) @ query_selection
        s = (mk @ (query_key * query_selection)).mul_(2)
        c = (query_selection * query_key.pow(2)).sum(1, keepdim=True)
        s.sub_(a).sub_(c)
    else:
        a = mk.pow(2).sum(2, keepdim=True)
        s = (mk @ query_key).mul_(2).sub_(a)
    if mem_shrinkage is not None:
        s.mul_(mem_shrinkage.transpose(1, 2))
    return s.div_(math.sqrt(ck))


SPARSE_MIN_MEMORY = 2048  # from this many memory elements on, CPU fp32 reads are sparse


class TopK:
    """A top-k softmax along the memory axis (dim 1) of a 1×M×Q similarity.

    ``indices``/``weights`` (1×k×Q, best first) are what matter; the dense 1×M×Q affinity
    (``affinity``) is built only when asked for. ``readout`` mixes values with these weights:
    a dense matmul as the reference does, or, on CPU in float32 with M ≥ 2048, a sparse one
    (k of M weights per query are non-zero), which gives the same sums in another order.
    """

    def __init__(self, indices: torch.Tensor, weights: torch.Tensor, n_mem: int) -> None:
        self.indices = indices
        self.weights = weights
        self.n_mem = n_mem
        self._dense: torch.Tensor | None = None

    @property
    def best_index(self) -> torch.Tensor:  # Q: the memory row with the largest weight
        return self.indices[0, 0]

    @property
    def best_weight(self) -> torch.Tensor:  # Q: its weight
        return self.weights[0, 0]

    @property
    def sparse(self) -> bool:
        w = self.weights
        return w.device.type == "cpu" and w.dtype == torch.float32 and self.n_mem >= SPARSE_MIN_MEMORY

    @property
    def affinity(self) -> torch.Tensor:
        """Dense 1×M×Q affinity, zero outside each column's top k."""
        if self._dense is None:
            q = self.indices.shape[-1]
            z = torch.zeros(1, self.n_mem, q, dtype=self.weights.dtype, device=self.weights.device)
            self._dense = z.scatter_(1, self.indices, self.weights)
        return self._dense

    def usage(self) -> torch.Tensor:
        """Total weight each memory element received (M)."""
        if self.sparse and self._dense is None:
            u = torch.zeros(self.n_mem, dtype=self.weights.dtype, device=self.weights.device)
            return u.index_add_(0, self.indices.flatten(), self.weights.flatten())
        return self.affinity.sum(2)[0]

    def readout(self, values: torch.Tensor) -> torch.Tensor:
        """values n×C×M → n×C×Q."""
        if not self.sparse:
            return values @ self.affinity
        n, c, m = values.shape
        k, q = self.indices.shape[1:]
        cols, order = torch.sort(self.indices[0].t(), 1)
        w = torch.gather(self.weights[0].t(), 1, order)
        crow = torch.arange(0, q * k + 1, k, device=cols.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
            a = torch.sparse_csr_tensor(crow, cols.flatten(), w.flatten(), (q, m))
            out = a @ values.reshape(n * c, m).t().contiguous()
        return out.t().reshape(n, c, q)


def topk_softmax(sim: torch.Tensor, top_k: int) -> TopK:
    """Softmax over each query's ``top_k`` largest similarities; 0 elsewhere.

    The maximum is subtracted before ``exp`` (allowed by README: removes the NaN of quirk 1).
    ``top_k`` is clamped to the number of memory elements.
    """
    k = min(top_k, sim.shape[1])
    values, indices = torch.topk(sim, k=k, dim=1)
    weights = torch.exp(values - values[:, :1])
    weights = weights / weights.sum(dim=1, keepdim=True)
    return TopK(indices, weights, sim.shape[1])


def full_softmax(sim: torch.Tensor) -> torch.Tensor:
    """Softmax along dim 1 with max subtraction, written out as the reference does."""
    e = torch.exp(sim - sim.max(dim=1, keepdim=True)[0])
    return e / e.sum(dim=1, keepdim=True)
