"""Stage 1 (and fixes in stage 3) on one frame of one object: clicks, candidates, brush, accept.

The window (:mod:`annotator.gui.prompt_controller`) and :mod:`annotator.api` both call a
:class:`Prompter`; neither has prompt logic of its own. Each action returns an :class:`Edit`:
the segmenter runs when the edit is made, outside any transaction, and ``edit.write(op)`` is the
short write that follows, inside the caller's transaction and undo operation (the window runs
both on its session's serial thread through ``ProjectSession.apply``; the API in the caller's
thread). :func:`action` names the undo operation.

What an edit writes: the mask as a new revision (not an anchor until accepted) and the points
as a prompt linked to that revision, so the points of a frame are always the prompt of its
current revision — undo brings back the previous mask *and* its points, also after a restart.

The rules:

* A click adds a point to the current mask's prompt and asks the segmenter again, passing back
  the low-resolution logits of the result it made last (SAM's own interactive loop).
* The first click on a mask nobody clicked — a propagated, refined or imported one — starts
  from that mask: its box is the prompt's box, so the fix stays on that object.
* A box (dragged with the Box tool) goes to the segmenter with the frame's points; points
  clicked after it join it, and drawing the box again replaces it (the points stay).
* Tab cycles the segmenter's candidate masks for the same points.
* Accept makes the current mask (or a given revision of it) the frame's anchor, with its
  prompt; the to-do segment holding the frame becomes annotated.

The only state kept is a cache of the segmenter's last results (for the logits and the
candidates), by revision, which may be lost at any time.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from annotator import settings
from annotator.errors import UserError

log = logging.getLogger(__name__)

CACHE = 16  # segmenter results kept (logits and candidates of the newest revisions)

Point = tuple[float, float, bool]  # x, y in frame pixels; True: object, False: background


@dataclass
class Edit:
    """One prepared change of (object, frame): run ``write(op)`` in a transaction."""

    object_id: int
    frame: int
    points: list[Point]  # the points of the frame's mask once written
    write: Callable[[int], None]
    mask: np.ndarray | None = None  # the mask once written (H×W bool); None: no mask then
    candidate: tuple[int, int] | None = None  # (index, count) when the segmenter made it
    box: list[float] | None = None  # the box of the frame's prompt once written


def action(name: str, *, point: Point | None = None, erase: bool = False,
           other: bool = False, box: list[float] | None = None) -> tuple[str, str]:
    """``(label, kind)`` of the undo operation of an action: ``click`` (with its ``point``),
    ``box`` (with its ``box``), ``candidate``, ``remove_point``, ``stroke`` (``erase``), ``accept`` (``other``: a version
    shown for comparison), ``delete``."""
    if name == "click":
        x, y, positive = point
        return f"{'Object' if positive else 'Background'} point at ({x:.0f}, {y:.0f})", "click"
    if name == "box":
        x0, y0, x1, y1 = box
        return f"Box ({x0:.0f}, {y0:.0f})–({x1:.0f}, {y1:.0f})", "box"
    return {
        "candidate": ("Next candidate mask", "candidate"),
        "remove_point": ("Remove last point", "click"),
        "stroke": ("Erase stroke" if erase else "Brush stroke", "brush"),
        "accept": ("Use the other mask version as anchor" if other else "Accept mask (anchor)",
                   "accept"),
        "delete": ("Delete mask", "delete_mask"),
    }[name]


def outside_segments(name: str, frame: int) -> str:
    """Why a frame outside every audible segment of an object takes no mask (the caller says
    what to do, in its own words)."""
    return (f"Frame {frame} is outside every audible segment of {name}: masks exist only where "
            "the object sounds.")


def prompt_of(store: Any, rec: Any) -> dict | None:
    """The prompt that made the mask revision ``rec`` (None for propagated or imported ones)."""
    if rec is None:
        return None
    for p in reversed(store.prompts(rec.object_id, rec.frame)):
        if p["mask_rev_id"] == rec.rev_id:
            return p
    return None


def _lost_or_box(rec: Any, x: float, y: float, positive: bool) -> list[float] | None:
    """The prompt box of a first click on a propagated mask: that mask's box, so the fix stays
    on the object — unless an object click lands outside it: then the propagation lost the
    object, and its box would hold every later click to the wrong place (the effort bench's
    simulated annotator stayed near J 0 for 20 clicks on lost frames of DAVIS bus and bmx)."""
    box = _bbox_xyxy(rec)
    if box is None or not positive:
        return box
    x0, y0, x1, y1 = box
    return box if x0 <= x <= x1 and y0 <= y <= y1 else None


def _bbox_xyxy(rec: Any) -> list[float] | None:
    if rec is None or not rec.bbox or rec.area == 0:
        return None
    x, y, w, h = rec.bbox
    return [x, y, x + w, y + h]


def anchor_concern(store: Any, object_id: int, frame: int) -> str | None:
    """What looks wrong about making the current mask of (object, frame) an anchor, with the
    bars of the ``guards.*`` settings (:func:`annotator.core.guards.anchor_concern`): the
    window asks before such an accept, the API refuses it unless forced."""
    from annotator.core.guards import GuardBars
    from annotator.core.guards import anchor_concern as concern

    bars = GuardBars(area_factor=settings.get("guards.area_factor"),
                     frame_share=settings.get("guards.frame_share"),
                     leak_share=settings.get("guards.leak_share"),
                     sam_score=settings.get("guards.sam_score"))
    return concern(store, object_id, frame, bars=bars)


MIN_BOX = 2.0  # pixels: a smaller drag is no box


def clip_box(corners: tuple[float, float, float, float], size_hw: tuple[int, int]
             ) -> list[float]:
    """``[x0, y0, x1, y1]`` (x0 < x1, y0 < y1) of a box given by two opposite corners,
    clipped to a frame of ``size_hw``; a box under :data:`MIN_BOX` pixels on a side is a
    ``UserError``."""
    h, w = size_hw
    xa, ya, xb, yb = (float(v) for v in corners)
    x0, x1 = sorted((min(max(xa, 0.0), w), min(max(xb, 0.0), w)))
    y0, y1 = sorted((min(max(ya, 0.0), h), min(max(yb, 0.0), h)))
    if x1 - x0 < MIN_BOX or y1 - y0 < MIN_BOX:
        raise UserError(f"A box needs at least {MIN_BOX:.0f} pixels on each side inside the "
                        "frame: drag a rectangle around the object")
    return [x0, y0, x1, y1]


def make_segmenter(project: Any = None, on_error: Callable[[BaseException], None] | None = None
                   ) -> Any:
    """The process's one loaded SAM (:mod:`annotator.engines.registry`, on the device chosen at
    start-up) with ``project``'s embedding cache, else the weight-free fallback; the setting
    ``engines.segmenter`` (or ``--segmenter``) chooses SAM, SAM 2.1 or the fallback (the
    registry's :meth:`~annotator.engines.registry.EngineRegistry.segmenter_choice`). A present
    but broken checkpoint, or a chosen one that is missing, is reported
    through ``on_error`` (the window offers the Models dialog) and the fallback is used
    meanwhile, so prompting keeps working. Loading SAM takes seconds (the window calls this on
    a worker)."""
    from annotator.engines import registry
    from annotator.engines.fallback_segmenter import FallbackSegmenter

    try:
        if registry.get().segmenter_choice() == "fallback":
            return FallbackSegmenter()
    except Exception as exc:  # a setting naming no segmenter: say so, keep prompting
        if on_error is not None:
            on_error(exc)
        return FallbackSegmenter()

    cache = project.cache_dir / "embeddings" if project is not None else None
    try:
        return registry.get().segmenter(cache)
    except Exception as exc:  # a broken model file must not stop the annotation
        log.warning("SAM unavailable, using the fallback segmenter: %s", exc)
        if on_error is not None:
            on_error(exc)
        return FallbackSegmenter()


class Prompter:
    """The prompt actions on a project's store (see the module docstring). One caller at a
    time: the segmenter is not thread-safe.

    ``segmenter()`` returns the point-prompt segmenter (made on first use by the caller);
    ``image(frame)`` the frame's RGB pixels; ``key_prefix`` keys the embedding cache (the
    video's fingerprint)."""

    def __init__(self, store: Any, segmenter: Callable[[], Any],
                 image: Callable[[int], Any], key_prefix: str = "video") -> None:
        self.store = store
        self._segmenter = segmenter
        self._image = image
        self._key_prefix = key_prefix
        self.embedded: int | None = None  # the segmenter's current frame
        self._results: OrderedDict[int, tuple[Any, int]] = OrderedDict()

    def key(self, frame: int) -> str:
        return f"{self._key_prefix}:{frame}"

    def embed(self, frame: int) -> None:
        """Make ``frame`` the segmenter's current frame (its embedding computed or cached)."""
        self._segmenter().embed(np.asarray(self._image(frame)), key=self.key(frame))
        self.embedded = frame

    def points(self, object_id: int, frame: int) -> list[Point]:
        """The points of the frame's current mask (none for a mask nobody clicked)."""
        p = prompt_of(self.store, self.store.mask(object_id, frame))
        return [tuple(x) for x in p["points"]] if p else []

    def box_of(self, object_id: int, frame: int) -> list[float] | None:
        """The box of the frame's current mask's prompt (None: no box in it)."""
        p = prompt_of(self.store, self.store.mask(object_id, frame))
        return p["box"] if p else None

    # -- the segmenter ---------------------------------------------------------------------
    def _cache(self, rev: int, res: Any, k: int) -> None:
        self._results[rev] = (res, k)
        while len(self._results) > CACHE:
            self._results.popitem(last=False)

    def _predict(self, frame: int, pts: list, box: list | None, rec: Any,
                 use_logits: bool) -> tuple[Any, int]:
        self.embed(frame)
        logits = None
        if use_logits and rec is not None and rec.rev_id in self._results:
            res, k = self._results[rec.rev_id]
            logits = res.low_res_logits[k:k + 1]
        arr = np.array([[p[0], p[1]] for p in pts], np.float32) if pts else None
        labels = np.array([1 if p[2] else 0 for p in pts], np.int32) if pts else None
        res = self._segmenter().predict(
            arr, labels, box=None if box is None else np.array(box, np.float32),
            mask_logits=logits, multimask=True)
        return res, res.best_index

    def _result(self, oid: int, frame: int, res: Any, k: int, pts: list,
                box: list | None) -> Edit:
        """Candidate ``k`` of ``res`` as the frame's new mask, with its points."""
        store = self.store

        def write(op: int) -> None:
            source = getattr(self._segmenter(), "source", "sam")
            rev = store.put_mask(oid, frame, res.masks[k], source=source, anchor=False,
                                 score=float(res.scores[k]), model=res.engine, op=op)
            store.add_prompt(oid, frame, pts, box=box, mask_rev_id=rev, op=op)
            self._cache(rev, res, k)

        return Edit(oid, frame, pts, write, np.asarray(res.masks[k], bool), (k, len(res.masks)),
                    None if box is None else [float(v) for v in box])

    # -- actions ---------------------------------------------------------------------------
    def click(self, object_id: int, frame: int, x: float, y: float, positive: bool) -> Edit:
        """Add a point (object or background) and ask the segmenter for the mask."""
        rec = self.store.mask(object_id, frame)
        prompt = prompt_of(self.store, rec)
        pts = [tuple(p) for p in prompt["points"]] if prompt else []
        box = prompt["box"] if prompt else _lost_or_box(rec, x, y, positive)
        pts.append((float(x), float(y), bool(positive)))
        res, k = self._predict(frame, pts, box, rec, use_logits=prompt is not None)
        return self._result(object_id, frame, res, k, pts, box)

    def box(self, object_id: int, frame: int, x0: float, y0: float, x1: float,
            y1: float) -> Edit:
        """Draw the frame's box (any two opposite corners, clipped to the frame) and ask the
        segmenter for the mask of what it holds, with the points of the frame's mask; a box
        drawn again replaces the one before."""
        box = clip_box((x0, y0, x1, y1), self.store.size_hw)
        rec = self.store.mask(object_id, frame)
        prompt = prompt_of(self.store, rec)
        pts = [tuple(p) for p in prompt["points"]] if prompt else []
        res, k = self._predict(frame, pts, box, rec, use_logits=False)
        return self._result(object_id, frame, res, k, pts, box)

    def next_candidate(self, object_id: int, frame: int) -> Edit:
        """The segmenter's next candidate mask for the same points."""
        rec = self.store.mask(object_id, frame)
        prompt = prompt_of(self.store, rec)
        if prompt is None:
            raise UserError("No clicked points on this frame: candidates come from clicks")
        pts = [tuple(p) for p in prompt["points"]]
        cached = self._results.get(rec.rev_id)
        if cached is None:
            res, k = self._predict(frame, pts, prompt["box"], None, False)
        else:
            res, k = cached
        k = (k + 1) % len(res.masks)
        return self._result(object_id, frame, res, k, pts, prompt["box"])

    def remove_last_point(self, object_id: int, frame: int) -> Edit:
        """Take back the last point; with none left (and no box) the mask goes too."""
        store = self.store
        rec = store.mask(object_id, frame)
        prompt = prompt_of(store, rec)
        if prompt is None or not prompt["points"]:
            raise UserError("No clicked point to remove on this frame")
        pts = [tuple(p) for p in prompt["points"]][:-1]
        if not pts and prompt["box"] is None:
            return Edit(object_id, frame, [],
                        lambda op: store.delete_mask(object_id, frame, op=op))
        res, k = self._predict(frame, pts, prompt["box"], None, False)
        return self._result(object_id, frame, res, k, pts, prompt["box"])

    def stroke(self, object_id: int, frame: int, points: list[tuple[float, float]],
               radius: int, erase: bool = False) -> Edit:
        """Paint (or erase) a stroke of ``radius`` pixels through ``points`` into the mask."""
        store = self.store
        h, w = store.size_hw
        rec = store.mask(object_id, frame)
        mask = (np.ascontiguousarray(rec.decode(), dtype=np.uint8) if rec is not None
                else np.zeros((h, w), np.uint8))  # cv2 draws only into C-order arrays
        pts = np.round(np.array(points, np.float32)).astype(np.int32).reshape(-1, 1, 2)
        value = 0 if erase else 1
        if len(pts) > 1:
            cv2.polylines(mask, [pts], False, value, thickness=2 * int(radius),
                          lineType=cv2.LINE_8)
        for (x, y) in pts[:, 0]:
            cv2.circle(mask, (int(x), int(y)), int(radius), value, -1)
        prompt = prompt_of(store, rec)
        kept = [tuple(p) for p in prompt["points"]] if prompt else []
        painted = mask.astype(bool)

        def write(op: int) -> None:
            rev = store.put_mask(object_id, frame, painted, source="brush", anchor=False, op=op)
            if prompt:
                store.add_prompt(object_id, frame, kept, box=prompt["box"], mask_rev_id=rev,
                                 op=op)

        return Edit(object_id, frame, kept, write, painted)

    def accept(self, object_id: int, frame: int, rev_id: int | None = None) -> Edit:
        """The current mask — or its revision ``rev_id`` (a version shown for comparison) —
        becomes the frame's anchor; the to-do segment holding the frame becomes annotated.
        Whether the mask looks right for an anchor is the caller's question to ask first
        (:func:`anchor_concern`)."""
        store = self.store
        rec = store.mask(object_id, frame) if rev_id is None else store.revision(rev_id)
        if rec is None or rec.rle is None:
            raise UserError(f"Nothing to accept on frame {frame}: click the object first")
        prompt = prompt_of(store, rec)
        pts = [tuple(p) for p in prompt["points"]] if prompt else []

        def write(op: int) -> None:
            rev = store.put_mask(object_id, frame, rec.rle, source=rec.source, anchor=True,
                                 score=rec.score, model=rec.model, op=op)
            if prompt:
                store.add_prompt(object_id, frame, pts, box=prompt["box"], mask_rev_id=rev,
                                 op=op)
            for seg in store.segments(object_id):
                if frame in seg and seg.status == "todo":
                    store.update_segment(seg.id, status="annotated", op=op)

        return Edit(object_id, frame, pts, write, rec.decode())

    def delete(self, object_id: int, frame: int) -> Edit:
        """The frame's mask goes (its revisions stay: undo brings it back)."""
        store = self.store
        if store.mask(object_id, frame) is None:
            raise UserError(f"No mask to delete on frame {frame}")
        return Edit(object_id, frame, [], lambda op: store.delete_mask(object_id, frame, op=op))
