"""The memory vote: what XMem's memory says about each query pixel, for the refiner.

For every query position ``p`` (stride-16 grid) and object ``o``:

* ``vote[o, p] = Σ_n A[n, p] · label_o[n]`` — the top-k affinity-weighted share of the memory
  elements that belonged to ``o`` when they were memorised. ``label_o[n]`` is the object's mask
  probability, area-averaged over the element's 16×16 cell, on the frame it was memorised;
  long-term prototypes carry it through potentiation exactly like their values. ``A`` is the
  same top-k affinity that produced the readout, so the vote costs one 1-channel readout.
* ``best_weight[o, p]`` / ``best_label[o, p]`` / ``best_long_term[o, p]``: the affinity of the
  best-matching memory element of ``p`` (its top-1), that element's label for ``o``, and whether
  it is a long-term prototype.

``MemoryVote.points(o)`` turns this into prompt candidates: the query positions whose
best-matching element is one of the object's most confident elements (label ≥ ``confidence``;
or ≤ ``1 − confidence`` for ``positive=False``: background elements), as image (x, y)
coordinates with their affinities, strongest first. ``MemoryVote.maps()`` gives the vote
bilinearly up-sampled to the image (padding removed).

Computing it does not change the segmentation: it only reads what the memory read produced.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

STRIDE = 16


@dataclass
class MemoryVote:
    objects: list[int]  # object ids, one row each below
    vote: torch.Tensor  # N × h × w, float32
    best_weight: torch.Tensor  # N × h × w
    best_label: torch.Tensor  # N × h × w
    best_long_term: torch.Tensor  # N × h × w bool
    image_size: tuple[int, int]  # (H, W) of the unpadded image
    pad: tuple[int, int, int, int]  # (left, right, top, bottom) padding applied before encoding

    def row(self, obj: int) -> int:
        try:
            return self.objects.index(obj)
        except ValueError:
            raise KeyError(f"object {obj} is not in memory (objects: {self.objects})") from None

    def maps(self) -> torch.Tensor:
        """Votes up-sampled to the image: N × H × W (bilinear, padding cropped)."""
        left, right, top, bottom = self.pad
        h, w = self.vote.shape[-2:]
        up = F.interpolate(self.vote[None], size=(h * STRIDE, w * STRIDE), mode="bilinear", align_corners=False)[0]
        H, W = self.image_size
        return up[:, top : top + H, left : left + W]

    def points(
        self, obj: int, confidence: float = 0.9, positive: bool = True, max_points: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Query positions whose best-matching memory element is a confident element of ``obj``
        (``positive``) or of its background (``not positive``).

        Returns ``xy`` (K×2 float, image pixel coordinates of the 16×16 cell centres, clipped to
        the image) and ``affinity`` (K, the best element's top-k weight), strongest first.
        """
        r = self.row(obj)
        lab = self.best_label[r]
        sel = lab >= confidence if positive else lab <= 1 - confidence
        ys, xs = torch.nonzero(sel, as_tuple=True)
        aff = self.best_weight[r][ys, xs]
        order = torch.argsort(aff, descending=True, stable=True)
        if max_points is not None:
            order = order[:max_points]
        left, _, top, _ = self.pad
        H, W = self.image_size
        x = (xs[order].float() * STRIDE + (STRIDE - 1) / 2 - left).clamp(0, W - 1)
        y = (ys[order].float() * STRIDE + (STRIDE - 1) / 2 - top).clamp(0, H - 1)
        return torch.stack([x, y], 1), aff[order]


def build_vote(reads: list, h: int, w: int, image_size: tuple[int, int], pad: tuple[int, int, int, int]) -> MemoryVote:
    """From the per-group memory reads of ``MemoryManager.match_memory(keep_reads=True)``."""
    objects: list[int] = []
    votes, weights, labels, lts = [], [], [], []
    for rd in reads:
        n = len(rd.objects)
        objects += rd.objects
        votes.append(rd.topk.readout(rd.labels.to(rd.topk.weights.dtype)[:, None])[:, 0])
        best = rd.topk.best_index
        weights.append(rd.topk.best_weight[None].expand(n, -1))
        labels.append(rd.labels[:, best])
        lts.append(rd.is_long_term[best][None].expand(n, -1))

    def grid(ts: list[torch.Tensor]) -> torch.Tensor:
        t = torch.cat(ts, 0)
        t = t.float() if t.dtype != torch.bool else t
        return t.reshape(t.shape[0], h, w)

    return MemoryVote(objects, grid(votes), grid(weights), grid(labels), grid(lts), image_size, pad)
