"""A key–value memory store with object groups (SPEC §4.5, §5.2, §6.4).

Keys, shrinkage, selection and usage counters are shared by all objects: one column per memory
element. Values are kept per *group* (the objects that were introduced together). Unlike the
reference, every group records the key columns its value columns belong to (``cols``), so a
group that started after frame 0, or a long-term group that received only some prototypes, is
always read against the keys of its own elements (README: quirk 5 fixed).

Each group also stores, per object and element, the object's mask share at that element when it
was memorised (``labels``); the memory vote (``vote.py``) reads it like a 1-channel value.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Group:
    objects: list[int]
    values: torch.Tensor  # n × C_v × s
    labels: torch.Tensor  # n × s, mask share of each object when memorised
    cols: torch.Tensor  # s, ascending indices of the store's key columns

    @property
    def size(self) -> int:
        return int(self.cols.numel())


class MemoryStore:
    def __init__(self, count_usage: bool) -> None:
        self.count_usage = count_usage
        self.key: torch.Tensor | None = None  # 1 × C_k × T
        self.shrinkage: torch.Tensor | None = None  # 1 × 1 × T
        self.selection: torch.Tensor | None = None  # 1 × C_k × T (working memory only)
        self.use: torch.Tensor | None = None  # T, float32
        self.life: torch.Tensor | None = None  # T, float32
        self.groups: list[Group] = []

    # ---------------------------------------------------------------- queries
    @property
    def size(self) -> int:
        return 0 if self.key is None else int(self.key.shape[-1])

    @property
    def objects(self) -> list[int]:
        return [o for g in self.groups for o in g.objects]

    def usage(self) -> torch.Tensor:
        """Normalised usage ``use/life`` per element (0 for never-read elements)."""
        if self.use is None or self.life is None:
            raise RuntimeError("this memory store does not count usage")
        return self.use / self.life

    def nbytes(self) -> int:
        ts = [self.key, self.shrinkage, self.selection, self.use, self.life]
        ts += [t for g in self.groups for t in (g.values, g.labels, g.cols)]
        return sum(t.numel() * t.element_size() for t in ts if t is not None)

    # ---------------------------------------------------------------- writes
    def _append_keys(self, key: torch.Tensor, shrinkage: torch.Tensor, selection: torch.Tensor | None) -> int:
        start = self.size
        n = key.shape[-1]
        if self.key is None:
            self.key, self.shrinkage, self.selection = key, shrinkage, selection
        else:
            self.key = torch.cat([self.key, key], -1)
            self.shrinkage = torch.cat([self.shrinkage, shrinkage], -1)
            if selection is not None and self.selection is not None:
                self.selection = torch.cat([self.selection, selection], -1)
        if self.count_usage:
            zeros = torch.zeros(n, dtype=torch.float32, device=key.device)
            fresh_life = torch.full((n,), 1e-7, dtype=torch.float32, device=key.device)
            self.use = zeros if self.use is None else torch.cat([self.use, zeros])
            self.life = fresh_life if self.life is None else torch.cat([self.life, fresh_life])
        return start

    def add_frame(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        selection: torch.Tensor | None,
        values: torch.Tensor,
        labels: torch.Tensor,
        objects: list[int],
    ) -> None:
        """Append one frame: key 1×C_k×HW, values N×C_v×HW and labels N×HW in ``objects`` order.

        Existing groups take their objects' rows; objects not yet in a group form a new group.
        """
        start = self._append_keys(key, shrinkage, selection)
        n = key.shape[-1]
        cols = torch.arange(start, start + n, device=key.device)
        row = {o: i for i, o in enumerate(objects)}
        for g in self.groups:
            idx = [row[o] for o in g.objects]
            g.values = torch.cat([g.values, values[idx]], -1)
            g.labels = torch.cat([g.labels, labels[idx]], -1)
            g.cols = torch.cat([g.cols, cols])
        known = set(self.objects)
        new = [o for o in objects if o not in known]
        if new:
            idx = [row[o] for o in new]
            self.groups.append(Group(new, values[idx], labels[idx], cols))

    def add_prototypes(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        per_group: list[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor] | None],
    ) -> None:
        """Append P prototype keys; ``per_group[g]`` = (objects, values n×C_v×m, labels n×m,
        positions m among the P prototypes) or None. Group g here is group g of working memory.
        """
        start = self._append_keys(key, shrinkage, None)
        for gi, item in enumerate(per_group):
            if item is None:
                continue
            objects, values, labels, pos = item
            cols = pos.to(key.device) + start
            while len(self.groups) <= gi:  # an empty group keeps indices aligned with WM
                v = values[:, :, :0]
                self.groups.append(Group(list(objects), v, labels[:, :0], cols[:0]))
            g = self.groups[gi]
            if g.size == 0:
                g.objects = list(objects)
            g.values = torch.cat([g.values, values], -1)
            g.labels = torch.cat([g.labels, labels], -1)
            g.cols = torch.cat([g.cols, cols])

    def update_usage(self, usage: torch.Tensor) -> None:
        """``use += usage`` and ``life += 1`` for every element (usage: T, any float dtype)."""
        if not self.count_usage or self.use is None or self.life is None:
            return
        self.use = self.use + usage.to(torch.float32)
        self.life = self.life + 1

    # ---------------------------------------------------------------- removal
    def keep(self, keep: torch.Tensor) -> None:
        """Keep the key columns where the boolean ``keep`` (T) is true, in every group too."""
        if self.key is None:
            return
        self.key = self.key[:, :, keep]
        self.shrinkage = self.shrinkage[:, :, keep]  # type: ignore[index]
        if self.selection is not None:
            self.selection = self.selection[:, :, keep]
        if self.use is not None and self.life is not None:
            self.use, self.life = self.use[keep], self.life[keep]
        new_index = torch.cumsum(keep.long(), 0) - 1
        for g in self.groups:
            mask = keep[g.cols]
            g.values, g.labels = g.values[:, :, mask], g.labels[:, mask]
            g.cols = new_index[g.cols[mask]]

    def remove_range(self, a: int, b: int) -> None:
        """Delete key columns ``[a, b)`` and, in each group, exactly the values of those columns."""
        keep = torch.ones(self.size, dtype=torch.bool, device=self.key.device)  # type: ignore[union-attr]
        keep[a:b] = False
        self.keep(keep)

    def remove_obsolete(self, max_size: int) -> None:
        """Shrink to at most ``max_size`` elements (SPEC §6.4).

        With usage counting: drop the ``|LT| − max_size`` least used elements and every element
        tied with the last of them (the reference keeps ``u > threshold`` strictly). Without
        usage counting (the reference raises there) the oldest elements go instead.
        """
        extra = self.size - max_size
        if extra <= 0:  # the reference crashes here (quirk 3); nothing to remove
            return
        if self.count_usage:
            u = self.usage()
            thr = torch.topk(u, k=extra, largest=False, sorted=True).values[-1]
            keep = u > thr
        else:
            keep = torch.ones(self.size, dtype=torch.bool, device=self.key.device)  # type: ignore[union-attr]
            keep[:extra] = False
        self.keep(keep)
