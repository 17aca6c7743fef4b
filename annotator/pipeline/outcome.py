"""What a job the window ran came to, in one record, and how the status bar says it (Qt-free).

A propagation, re-propagation, batch or export the window runs ends in a :class:`JobOutcome`:
how many masks it wrote and flagged, how many frames a person edited while it ran (kept as they
were), whether it was cancelled, what it skipped and why, and the store operation to put on the
undo stack. :meth:`JobOutcome.text` is the sentence the person reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotator.core.words import plural


@dataclass
class JobOutcome:
    """The end of one job (see the module docstring)."""

    label: str = ""
    message: str = ""  # said as it is (exports, batches), instead of the propagation summary
    frames: int = 0  # masks written
    flagged: int = 0
    kept: int = 0  # frames a person edited while the job ran, kept as they were
    already: int = 0  # passes with nothing to do (same anchors as the last run)
    boxes: int = 0  # boxes tracked (box-only segments)
    boxes_already: int = 0  # box-only segments tracked from the same keyframes before
    anchors: int = 0  # anchor masks made from box keyframes
    cancelled: bool = False
    failed: bool = False
    error: str = ""
    skipped: list[str] = field(default_factory=list)  # lines: what was not done, and why
    op_id: int | None = None  # one store operation to put on the undo stack
    sync_history: bool = False  # the pipeline wrote its own operations: follow the store
    path: str | None = None  # what an export wrote
    states: list[str] = field(default_factory=list)

    @property
    def propagated(self) -> bool:
        """A propagation summary is due (not an export's or batch's own message)."""
        did = self.frames or self.boxes or self.boxes_already
        return not self.message and not (self.skipped and not did)

    def text(self) -> str:
        """The sentence for the status bar ("" when the skipped lines say it all)."""
        if self.failed:
            return ""
        if self.message:
            return self.message
        if not self.propagated:
            return ""
        parts = []
        if self.anchors:
            parts.append(plural(self.anchors, "anchor mask") + " from box keyframes")
        if self.frames or not (self.boxes or self.boxes_already):
            parts.append(plural(self.frames, "mask") + " propagated"
                         + (f", {self.flagged} flagged" if self.flagged else ""))
        if self.boxes:
            parts.append(plural(self.boxes, "box tracked", "boxes tracked"))
        if self.boxes_already and not self.boxes:
            parts.append("boxes already tracked from the same keyframes (nothing changed "
                         "since): draw or move a keyframe to track again")
        what = "; ".join(parts)
        if self.kept:
            what += (f"; {plural(self.kept, 'frame')} a person edited while it ran kept as "
                     f"{'it was' if self.kept == 1 else 'they were'}")
        if self.already and not self.frames:
            what += ("; already propagated from the same anchors (nothing changed since): "
                     "accept a new anchor to run it again")
        if self.cancelled:
            return f"Cancelled: {what} (kept; propagate again to resume)"
        return f"Done: {what}"


def summarize(results: list[Any], label: str, store: Any = None) -> JobOutcome:
    """One outcome from the pipeline's ``JobResult``s (their own operations: ``sync_history``)."""
    out = JobOutcome(label=label, sync_history=True)
    for r in results:
        out.frames += r.written
        out.flagged += sum(r.flagged.values())
        out.kept += getattr(r, "kept_human", 0)
        out.cancelled = out.cancelled or r.state == "cancelled"
        out.states.append(r.state)
        if r.state == "skipped":
            out.already += 1
        if r.state == "no_anchor":
            out.skipped.append(_no_anchor(r, store))
    return out


def _no_anchor(r: Any, store: Any) -> str:
    """What a pass without an anchor needs, naming its object and real frames."""
    names = ", ".join(store.object(o).name for o in r.objects) if store is not None else ""
    spans = []
    if store is not None:
        for sid in r.segments:
            seg = store.segment(sid)
            spans.append((seg.start, seg.end))
    if spans:
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
    else:
        start, end = r.frames
    return (f"{names + ' ' if names else ''}frames {start}–{end}: no accepted mask yet — click "
            f"the object on frame {start} and press Enter first")
