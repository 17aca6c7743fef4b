"""Stage 1 (and fixes in stage 3): clicks, candidates, brush and accept on one frame.

Every action is written to the store as its own operation, on the serial thread: the mask as a
new revision (not an anchor until accepted) and the clicked points as a prompt linked to that
revision. The points shown are therefore always the prompt of the current revision — undo
brings back the previous mask *and* its points, also after a restart. The only thing kept here
is a cache of the segmenter's last results (for SAM's low-resolution logits and for cycling
candidates), which may be lost at any time.

While the frame's image embedding is being computed the clicks are queued (the serial thread
runs them in order once it is ready) and shown as dotted points. The controller follows the
view state's frame and object; it writes through :meth:`ProjectSession.apply`, which runs the
model outside the write transaction, records the operation for undo and tells the views.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from annotator import settings
from annotator.errors import UserError
from annotator.gui.ask import ask
from annotator.gui.session import ProjectSession
from annotator.gui.view_state import ViewState

CACHE = 16


def prompt_of(store: Any, rec: Any) -> dict | None:
    """The prompt that made the mask revision ``rec`` (None for propagated or imported ones)."""
    if rec is None:
        return None
    for p in reversed(store.prompts(rec.object_id, rec.frame)):
        if p["mask_rev_id"] == rec.rev_id:
            return p
    return None


def _bbox_xyxy(rec: Any) -> list[float] | None:
    if rec is None or not rec.bbox or rec.area == 0:
        return None
    x, y, w, h = rec.bbox
    return [x, y, x + w, y + h]


class PromptController(QObject):
    """Turns clicks and strokes on the current (object, frame) into store operations."""

    points_changed = Signal(list, list)  # points of the current mask, queued clicks
    view_ready = Signal(object)  # a FrameView with the new mask, before it is written
    embedding_changed = Signal(str)  # "idle", "computing", "ready"
    candidate_changed = Signal(int, int)  # index, count
    accepted = Signal(int, int)  # object, frame: the mask on screen became an anchor
    early = Signal(int, int, list, object)  # object, frame, points, FrameView before the write

    def __init__(self, session: ProjectSession, state: ViewState, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.state = state
        self.parent_widget = parent  # questions (an odd anchor) are asked over it
        self.store = session.store
        self.object_id: int | None = None
        self.frame: int | None = None
        self.points: list[tuple[float, float, bool]] = []
        self.pending: list[tuple[float, float, bool]] = []
        self.embedding = "idle"
        self._embedded_frame: int | None = None
        self._results: OrderedDict[int, tuple[Any, int]] = OrderedDict()
        self._key_prefix = session.video_key
        session.masks_changed.connect(self._on_masks_changed)
        self.early.connect(self._early)
        state.frame_changed.connect(self._follow)
        state.object_changed.connect(self._follow_object)
        self._follow(state.frame, False)

    def release(self) -> None:
        """The project closes: stop following the view state first (its reset to no frame
        must not start embedding a frame of the closed project, whose "computing" notice
        then stayed on the empty window), then go."""
        self.state.frame_changed.disconnect(self._follow)
        self.state.object_changed.disconnect(self._follow_object)
        self.deleteLater()

    # -- target ----------------------------------------------------------------------------
    def _follow(self, frame: int, playing: bool) -> None:
        """The view state moved: the clicks are about its frame and object from now on
        (while playback moves the frame, nothing is embedded)."""
        if not playing:
            self.set_target(self.state.object_id, frame)

    def _follow_object(self, _oid: int | None) -> None:
        self._follow(self.state.frame, self.state.playing)

    def set_target(self, object_id: int | None, frame: int | None) -> None:
        changed = (object_id, frame) != (self.object_id, self.frame)
        self.object_id, self.frame = object_id, frame
        if changed:
            self.pending = []
            self.refresh()
        if frame is not None and frame != self._embedded_frame:
            self._embed(frame)

    def key(self, frame: int) -> str:
        return f"{self._key_prefix}:{frame}"

    def _embed(self, frame: int) -> None:
        self._set_embedding("computing")
        session = self.session

        def work() -> int:
            seg = session.segmenter()
            seg.embed(np.asarray(session.video[frame]), key=self.key(frame))
            return frame

        def done(f: int) -> None:
            self._embedded_frame = f
            if f == self.frame:
                self._set_embedding("ready")

        session.write(work, done, self._failed)

    def _set_embedding(self, state: str) -> None:
        self.embedding = state
        self.embedding_changed.emit(state)

    def _ensure_embedded(self, frame: int) -> None:
        """On the serial thread: make ``frame`` the segmenter's current frame."""
        self.session.segmenter().embed(np.asarray(self.session.video[frame]), key=self.key(frame))
        self._embedded_frame = frame

    def _early(self, oid: int, frame: int, pts: list, view: Any) -> None:
        if (oid, frame) == (self.object_id, self.frame):
            if pts and tuple(pts[-1]) in self.pending:
                self.pending.remove(tuple(pts[-1]))
            self.points = [tuple(p) for p in pts]
            self.points_changed.emit(self.points, list(self.pending))
            self.view_ready.emit(view)

    def refresh(self) -> None:
        """Re-read the points of the current mask from the store (off the GUI thread)."""
        oid, frame, store = self.object_id, self.frame, self.store
        if oid is None or frame is None:
            self.points = []
            self.points_changed.emit([], list(self.pending))
            return

        def work() -> tuple[int, int, list]:
            p = prompt_of(store, store.mask(oid, frame))
            return oid, frame, [tuple(x) for x in p["points"]] if p else []

        def done(result: tuple[int, int, list]) -> None:
            if result[:2] == (self.object_id, self.frame):
                self.points = result[2]
                self.points_changed.emit(self.points, list(self.pending))

        self.session.run(work, done)

    def _on_masks_changed(self, keys: Any) -> None:
        if keys is None or (self.object_id, self.frame) in {tuple(k) for k in keys}:
            self.refresh()

    # -- checks ----------------------------------------------------------------------------
    def _target(self) -> tuple[int, int] | None:
        if self.session.readonly:
            self.session.say(self.store.readonly_reason, True)
            return None
        if self.object_id is None:
            self.session.say("Choose an object first: press 1–9 or click it in the Objects "
                             "panel.", True)
            return None
        if self.frame is None:
            return None
        if self.session.segment_at(self.object_id, self.frame) is None:
            name = getattr(self.session.object(self.object_id), "name", "this object")
            self.session.say(
                f"Frame {self.frame} is outside every audible segment of {name}: masks exist "
                "only where the object sounds. Jump to a segment (double-click it in the "
                "Segments panel) or add one.", True)
            return None
        return self.object_id, self.frame

    def _failed(self, exc: BaseException) -> None:
        self.pending = []
        self.points_changed.emit(self.points, [])
        if self.embedding == "computing":
            self._set_embedding("idle")
        self.session.failed.emit(exc)

    def _cache(self, rev: int, res: Any, k: int) -> None:
        self._results[rev] = (res, k)
        while len(self._results) > CACHE:
            self._results.popitem(last=False)

    # -- actions ---------------------------------------------------------------------------
    def _submit(self, label: str, kind: str, fn, pending: tuple | None = None,
                on_done: Any = None) -> None:
        """Run ``fn(oid, frame) -> (points, write)`` on the serial thread, then ``write(op)``
        in one short transaction (:meth:`ProjectSession.apply`): ``fn`` reads and runs the
        model *outside* the transaction, so nobody (the GUI thread reading, a job
        committing) waits on a model call."""
        target = self._target()
        if target is None:
            return
        oid, frame = target
        if pending:
            self.pending.append(pending)
            self.points_changed.emit(self.points, list(self.pending))

        def write(op: int, prepared: tuple) -> list:
            prepared[1](op)
            return [(oid, frame)]

        def done(_op: int, prepared: tuple) -> None:
            if pending and pending in self.pending:
                self.pending.remove(pending)
            if (oid, frame) == (self.object_id, self.frame):
                self.points = list(prepared[0] or [])
                self.points_changed.emit(self.points, list(self.pending))
            if on_done is not None:
                on_done()

        self.session.apply(label, write, kind, prepare=lambda: fn(oid, frame),
                           structure=kind == "accept", on_done=done, on_error=self._failed)

    def _predict(self, oid: int, frame: int, pts: list, box: list | None,
                 rec: Any, use_logits: bool) -> tuple[Any, int]:
        self._ensure_embedded(frame)
        logits = None
        if use_logits and rec is not None and rec.rev_id in self._results:
            res, k = self._results[rec.rev_id]
            logits = res.low_res_logits[k:k + 1]
        arr = np.array([[p[0], p[1]] for p in pts], np.float32) if pts else None
        labels = np.array([1 if p[2] else 0 for p in pts], np.int32) if pts else None
        res = self.session.segmenter().predict(
            arr, labels, box=None if box is None else np.array(box, np.float32),
            mask_logits=logits, multimask=True)
        return res, res.best_index

    def _result(self, oid: int, frame: int, res: Any, k: int, pts: list,
                box: list | None) -> tuple[list, Any]:
        """Show the new mask (and its points) at once, then return the short write."""
        self.early.emit(oid, frame, pts, self.session.frame_view(frame, {oid: res.masks[k]},
                                                                 opacity=self.state.opacity))

        def write(op: int) -> None:
            source = getattr(self.session.segmenter(), "source", "sam")
            rev = self.store.put_mask(oid, frame, res.masks[k], source=source, anchor=False,
                                      score=float(res.scores[k]), model=res.engine, op=op)
            self.store.add_prompt(oid, frame, pts, box=box, mask_rev_id=rev, op=op)
            self._cache(rev, res, k)
            self.candidate_changed.emit(k, len(res.masks))

        return pts, write

    def click(self, x: float, y: float, positive: bool) -> None:
        """Add a point (left click: object, right click: background) and update the mask."""
        point = (float(x), float(y), bool(positive))
        word = "Object" if positive else "Background"

        def fn(oid: int, frame: int) -> tuple[list, Any]:
            rec = self.store.mask(oid, frame)
            prompt = prompt_of(self.store, rec)
            pts = [tuple(p) for p in prompt["points"]] if prompt else []
            box = prompt["box"] if prompt else _bbox_xyxy(rec)  # fixing a propagated mask
            pts.append(point)
            res, k = self._predict(oid, frame, pts, box, rec, use_logits=prompt is not None)
            return self._result(oid, frame, res, k, pts, box)

        self._submit(f"{word} point at ({x:.0f}, {y:.0f})", "click", fn, pending=point)

    def next_candidate(self) -> None:
        """Show the segmenter's next candidate mask for the same points (Tab)."""
        def fn(oid: int, frame: int) -> tuple[list, Any]:
            rec = self.store.mask(oid, frame)
            prompt = prompt_of(self.store, rec)
            if prompt is None:
                raise UserError("No clicked points on this frame: candidates come from clicks")
            pts = [tuple(p) for p in prompt["points"]]
            cached = self._results.get(rec.rev_id)
            if cached is None:
                res, k = self._predict(oid, frame, pts, prompt["box"], None, False)
            else:
                res, k = cached
            k = (k + 1) % len(res.masks)
            return self._result(oid, frame, res, k, pts, prompt["box"])

        self._submit("Next candidate mask", "candidate", fn)

    def remove_last_point(self) -> None:
        def fn(oid: int, frame: int) -> tuple[list, Any]:
            rec = self.store.mask(oid, frame)
            prompt = prompt_of(self.store, rec)
            if prompt is None or not prompt["points"]:
                raise UserError("No clicked point to remove on this frame")
            pts = [tuple(p) for p in prompt["points"]][:-1]
            if not pts and prompt["box"] is None:
                return [], lambda op: self.store.delete_mask(oid, frame, op=op)
            res, k = self._predict(oid, frame, pts, prompt["box"], None, False)
            return self._result(oid, frame, res, k, pts, prompt["box"])

        self._submit("Remove last point", "click", fn)

    def stroke(self, points: list[tuple[float, float]], radius: int, erase: bool) -> None:
        """Paint (or erase) a stroke of ``radius`` pixels into the current mask."""
        def fn(oid: int, frame: int) -> tuple[list, Any]:
            h, w = self.store.size_hw
            rec = self.store.mask(oid, frame)
            mask = (np.ascontiguousarray(rec.decode(), dtype=np.uint8) if rec is not None
                    else np.zeros((h, w), np.uint8))  # cv2 draws only into C-order arrays
            pts = np.round(np.array(points, np.float32)).astype(np.int32).reshape(-1, 1, 2)
            value = 0 if erase else 1
            if len(pts) > 1:
                cv2.polylines(mask, [pts], False, value, thickness=2 * int(radius),
                              lineType=cv2.LINE_8)
            for (x, y) in pts[:, 0]:
                cv2.circle(mask, (int(x), int(y)), int(radius), value, -1)
            prompt = prompt_of(self.store, rec)
            kept = [tuple(p) for p in prompt["points"]] if prompt else []

            def write(op: int) -> None:
                rev = self.store.put_mask(oid, frame, mask.astype(bool), source="brush",
                                          anchor=False, op=op)
                if prompt:
                    self.store.add_prompt(oid, frame, kept, box=prompt["box"], mask_rev_id=rev,
                                          op=op)

            return kept, write

        self._submit("Erase stroke" if erase else "Brush stroke", "brush", fn)

    def accept(self) -> None:
        """Enter: the mask on screen becomes this frame's anchor; a to-do segment becomes
        annotated. A mask that looks wrong for an anchor (empty, or far larger or smaller than
        its neighbours) is questioned first, on the serial thread, so a click still being
        computed is part of what is checked."""
        oid, frame = self.object_id, self.frame
        if oid is None or frame is None or self._target() is None:
            return
        from annotator.core.guards import anchor_concern

        factor = settings.get("guards.area_factor")
        store = self.store
        self.session.write(lambda: anchor_concern(store, oid, frame, factor),
                           lambda concern: self._accept_checked(oid, frame, concern))

    def _accept_checked(self, oid: int, frame: int, concern: str | None) -> None:
        if (oid, frame) != (self.object_id, self.frame):
            return  # the person moved on meanwhile: nothing to accept here any more
        if concern is None:
            self.accept_now()
            return

        def anyway() -> None:
            if (oid, frame) == (self.object_id, self.frame):
                self.accept_now()

        ask(self.parent_widget, "Accept this mask as an anchor?", concern,
            "Propagation starts from anchors and never changes them. Fix the mask first "
            "(clicks, brush) or accept it anyway.", "Accept anyway", anyway)

    def accept_now(self, rev_id: int | None = None) -> None:
        """Make the current mask — or the revision ``rev_id`` of it (a version shown for
        comparison) — the frame's anchor, without questions."""
        def fn(oid: int, frame: int) -> tuple[list, Any]:
            rec = self.store.mask(oid, frame) if rev_id is None else self.store.revision(rev_id)
            if rec is None or rec.rle is None:
                raise UserError(f"Nothing to accept on frame {frame}: click the object first")
            prompt = prompt_of(self.store, rec)
            pts = [tuple(p) for p in prompt["points"]] if prompt else []

            def write(op: int) -> None:
                rev = self.store.put_mask(oid, frame, rec.rle, source=rec.source, anchor=True,
                                          score=rec.score, model=rec.model, op=op)
                if prompt:
                    self.store.add_prompt(oid, frame, pts, box=prompt["box"], mask_rev_id=rev,
                                          op=op)
                for seg in self.store.segments(oid):
                    if frame in seg and seg.status == "todo":
                        self.store.update_segment(seg.id, status="annotated", op=op)

            return pts, write

        oid, frame = self.object_id, self.frame
        label = "Accept mask (anchor)" if rev_id is None else "Use the other mask version as anchor"
        self._submit(label, "accept", fn, on_done=lambda: self.accepted.emit(oid, frame))

    def delete_mask(self) -> None:
        def fn(oid: int, frame: int) -> tuple[list, Any]:
            if self.store.mask(oid, frame) is None:
                raise UserError(f"No mask to delete on frame {frame}")
            return [], lambda op: self.store.delete_mask(oid, frame, op=op)

        self._submit("Delete mask", "delete_mask", fn)
