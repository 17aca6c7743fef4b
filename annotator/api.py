"""The whole annotation workflow from Python, without a window (no Qt)::

    from annotator import api

    with api.create("bikes.mp4", "bikes.avsproj") as project:    # or api.open(project_dir)
        dog = project.add_object("dog", category="animal")          # object id
        seg = project.add_segment(dog, 0, 80)                       # segment id
        with project.prompt(0, dog) as p:                           # frame 0 of the dog
            mask = p.click(320, 200)                                # H×W bool
            mask = p.click(40, 40, positive=False)
            p.accept()                                              # frame 0: an anchor
        project.propagate(segments=[seg])                           # blocks until done
        for clip in project.review():                               # flagged, worst first
            ...
        project.export("coco", "bikes.json")

It is built from the code the window and the command line run, not beside it: prompts are
:class:`annotator.pipeline.prompting.Prompter`'s (the window's clicks, candidates, brush and
accept), propagation and re-propagation :mod:`annotator.pipeline.queue`'s (``annotator
propagate``; the window's fix), the review list :func:`annotator.pipeline.clips.review_clips`
(the check view's and ``annotator review``'s), exports
:func:`annotator.pipeline.exports.run_export` (``annotator export``, File ▸ Export). Every
edit is one undo operation in the project, as in the window (:meth:`Project.undo`).

Bad input raises the command line's errors: :class:`annotator.errors.UserError` and its
subclasses, each one sentence naming the file and what to do. docs/api.md has the details.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annotator import settings
from annotator.api_boxes import BoxCalls
from annotator.core.project import Project as _Project
from annotator.core.project import default_project_dir
from annotator.errors import UserError
from annotator.pipeline import prompting
from annotator.pipeline.clips import Clip
from annotator.pipeline.job import JobResult, Progress

__all__ = ["Clip", "Exported", "JobResult", "Progress", "Project", "Prompt", "UserError",
           "create", "open"]


def create(video_path: str | Path, project_dir: str | Path | None = None, *,
           fps: float | None = None, device: str | None = None) -> Project:
    """A new project for a video file or a folder of frames (``fps``: a folder's frame
    rate), in ``project_dir`` (default ``VIDEO.avsproj`` beside the video), as ``annotator
    new`` makes it. ``device``: where the models run (see :func:`open`)."""
    directory = Path(project_dir) if project_dir else default_project_dir(video_path)
    _start_engines(device)
    return Project(_Project.create(directory, video_path, fps=fps))


def open(project_dir: str | Path, *, readonly: bool = False, device: str | None = None) -> Project:
    """Open a project (locked for this process unless ``readonly``; one another process is
    editing raises :class:`~annotator.core.lock.ProjectLockedError`). ``device`` (``cpu``,
    ``cuda:1`` …) is where the models run, as ``--device`` says it; default: the process's
    engine registry, started here on ``$AVS_ANNOTATOR_DEVICE``, the device setting or auto
    when nothing started it yet."""
    _start_engines(device)
    return Project(_Project.open(project_dir, readonly=readonly))


def _start_engines(device: str | None) -> None:
    from annotator.engines import registry

    if device is not None or not registry.started():
        registry.start(device, lazy=True)  # no model file installed: torch stays unloaded


@dataclass(frozen=True)
class Exported:
    """What :meth:`Project.export` wrote: ``path``, the format's ``summary`` (counts) and the
    ``text`` the command line prints."""

    path: Path
    summary: dict
    text: str

    def __str__(self) -> str:
        return self.text


class Project(BoxCalls):
    """An open project (:func:`create`, :func:`open`); close it, or use ``with``. Its box
    calls (``box``, ``set_box``, ``track_boxes`` …) are :class:`annotator.api_boxes.BoxCalls`'."""

    def __init__(self, project: _Project) -> None:
        self.project = project
        self.store = project.store
        self.dir = project.dir
        self._video: Any = None
        self._segmenter: Any = None
        self.prompter = prompting.Prompter(self.store, self._make_segmenter,
                                           lambda f: self._frames()[f], self._video_key())

    # -- the project -----------------------------------------------------------------------
    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the video and the store and release the lock (what was written stays)."""
        try:
            if self._video is not None:
                self._video.close()
                self._video = None
        finally:
            self.project.close()

    @property
    def frame_count(self) -> int:
        return self.store.frame_count

    @property
    def size(self) -> tuple[int, int]:
        """The frames' ``(height, width)``, the shape of every mask."""
        return self.store.size_hw

    def objects(self) -> list:
        """The objects (records with ``id``, ``name``, ``category``, ``color``)."""
        return self.store.objects()

    def segments(self, obj: int | None = None) -> list:
        """The audible segments (of ``obj``): ``id``, ``object_id``, ``start``, ``end``,
        ``status``."""
        return self.store.segments(None if obj is None else self._object(obj).id)

    def _video_key(self) -> str:
        video = self.store.video()
        return (video.fingerprint or "video")[:16] if video else "video"

    def _frames(self) -> Any:
        if self._video is None:
            self._video = self.project.open_video()
        return self._video

    def _make_segmenter(self) -> Any:
        if self._segmenter is None:
            self._segmenter = prompting.make_segmenter(self.project)
        return self._segmenter

    def _object(self, obj: int) -> Any:
        found = next((o for o in self.store.objects() if o.id == obj), None)
        if found is None:
            names = ", ".join(f"{o.id} ({o.name})" for o in self.store.objects()) or "none yet"
            raise UserError(f"{self.dir}: no object {obj!r} (its objects: {names}); add one "
                            "with project.add_object(name)")
        return found

    def _frame(self, frame: int) -> int:
        n = self.frame_count
        if not 0 <= int(frame) < n:
            raise UserError(f"{self.dir}: frame {frame} is outside the video (frames 0–{n - 1})")
        return int(frame)

    def _writable(self) -> None:
        if self.store.readonly:
            raise UserError(self.store.readonly_reason)

    def _apply(self, label: str, kind: str, write: Callable[[int], Any]) -> Any:
        """One undo operation, as the window's ``ProjectSession.apply`` writes it."""
        with self.store.transaction():
            op = self.store.new_op(kind, label)
            return write(op)

    # -- objects and segments --------------------------------------------------------------
    def add_object(self, name: str, category: str | None = None) -> int:
        """A new sounding object (``category``: default its name); returns its id."""
        self._writable()
        return self._apply(f"Add object {name}", "add_object",
                           lambda op: self.store.add_object(name, category or None, op=op))

    def add_segment(self, obj: int, start: int, end: int) -> int:
        """An audible segment ``[start, end]`` (frames, both included) of ``obj``; refused
        as the store refuses it (overlapping another of the object's, outside the video).
        Returns its id."""
        self._writable()
        name = self._object(obj).name
        return self._apply(f"Add segment {name} {start}–{end}", "add_segment",
                           lambda op: self.store.add_segment(obj, int(start), int(end), op=op))

    # -- masks -----------------------------------------------------------------------------
    def mask(self, obj: int, frame: int) -> np.ndarray | None:
        """``obj``'s mask on ``frame`` (H×W bool), or None where it has none."""
        self._object(obj)
        rec = self.store.mask(obj, self._frame(frame))
        return None if rec is None or rec.rle is None else rec.decode()

    def masks(self, obj: int, start: int = 0, end: int | None = None) -> dict[int, np.ndarray]:
        """``obj``'s masks on the frames ``[start, end]`` (default: the whole video) that
        have one, ``{frame: H×W bool}`` in frame order, read in one query (frames without a
        mask are absent)."""
        self._object(obj)
        start = self._frame(start)
        end = self.frame_count - 1 if end is None else self._frame(end)
        return {rec.frame: rec.decode() for rec in self.store.masks_of(obj, start, end)
                if rec.rle is not None}

    def prompt(self, frame: int, obj: int) -> Prompt:
        """Clicks on ``frame`` for ``obj`` (see :class:`Prompt`); the frame must lie in one of
        the object's audible segments."""
        self._writable()
        o = self._object(obj)
        frame = self._frame(frame)
        if not any(frame in s for s in self.store.segments(o.id)):
            raise UserError(f"{self.dir}: {prompting.outside_segments(o.name, frame)} Add a "
                            "segment holding it first: project.add_segment(obj, start, end).")
        return Prompt(self, o.id, frame)

    # -- propagation -----------------------------------------------------------------------
    def propagate(self, segments: list[int] | None = None, *, engine: str = "auto",
                  refine: str = "auto", progress: Callable[[Progress], None] | None = None,
                  cancel: threading.Event | None = None) -> list[JobResult]:
        """Propagate the anchors through ``segments`` (ids; None: every segment), as
        ``annotator propagate`` does, and block until done: one result per pass, ``state``
        ``done``, ``skipped`` (already propagated from the same anchors), ``no_anchor`` or
        ``cancelled`` (``cancel`` set; run again to resume). ``engine``: auto or a name
        ``annotator propagate --engine`` accepts; ``refine``: auto, every, k=N, uncertain or
        off. ``progress(Progress)`` is called on a worker thread after each frame."""
        from annotator.pipeline.queue import propagate_project
        from annotator.pipeline.triage import triage

        self._writable()
        if segments is not None:
            segments = [int(s) for s in segments]
            t = triage(self.store, segments)  # an unknown id: the store's error
            if not t["run"] and not t["unanchored"]:
                raise UserError(f"{self.dir}: segments {t['boxes']} are box-only: "
                                "project.track_boxes(segments) tracks their boxes, "
                                "project.masks_from_boxes(segment) makes masks of them")
            if not t["run"]:
                label, seg = t["unanchored"][0]
                raise UserError(f"{self.dir}: segment {label} has no accepted mask yet: "
                                f"accept one on a frame of it first (project.prompt({seg.start}"
                                f", {seg.object_id}), click, accept), then propagate")
        return propagate_project(self.project, segments=segments, engine=engine,
                                 refine=refine, on_progress=progress, cancel=cancel)

    def repropagate(self, obj: int, frame: int, *,
                    directions: tuple[str, ...] = ("forward", "backward"),
                    engine: str = "auto", refine: str = "auto",
                    progress: Callable[[Progress], None] | None = None,
                    cancel: threading.Event | None = None,
                    replace_reviewed: bool = False) -> JobResult:
        """After a fix: propagate ``obj`` again from its anchor on ``frame`` up to the
        neighbouring anchors (``directions``: forward, backward or both), as the window's
        Re-propagate does; the replaced masks stay as revisions, the whole run is one undo
        operation. Over more masks than the ``guards.reviewed_frames`` setting of a segment
        marked done it refuses, as the window asks first, unless ``replace_reviewed``."""
        from annotator.pipeline.queue import repropagate
        from annotator.pipeline.triage import reviewed_masks

        self._writable()
        self._object(obj)
        frame = self._frame(frame)
        reviewed = reviewed_masks(self.store, obj, frame)
        if (not replace_reviewed and reviewed is not None
                and reviewed[0] > settings.get("guards.reviewed_frames")):
            n, lo, hi, name = reviewed
            raise UserError(f"{self.dir}: re-propagating from frame {frame} replaces {n} masks "
                            f"of {name} (frames {lo}–{hi}) in a segment marked done; pass "
                            "replace_reviewed=True to replace them (undo brings them back)")
        return repropagate(self.project, obj, frame, directions=tuple(directions),
                           engine=engine, refine=refine, on_progress=progress, cancel=cancel)

    def review(self) -> list[Clip]:
        """The flagged clips, worst first, as the check view and ``annotator review`` list
        them: ``object_id``, ``start``, ``end``, ``worst_frame``, ``score`` (the expected
        number of failed frames), ``worst`` (the worst frame's P(fail)), ``flags``."""
        from annotator.pipeline.clips import review_clips

        return review_clips(self.store)

    # -- undo and export -------------------------------------------------------------------
    def undo(self) -> str | None:
        """Undo the newest operation (a click, an accept, a whole propagation …), as Edit ▸
        Undo; returns its label, None when there is nothing to undo."""
        self._writable()
        op = self.store.undo()
        return None if op is None else (op.label or op.kind)

    def redo(self) -> str | None:
        """Re-apply the operation undone last; returns its label (None: nothing to redo)."""
        self._writable()
        op = self.store.redo()
        return None if op is None else (op.label or op.kind)

    def export(self, fmt: str, out: str | Path, *, overwrite: bool = False,
               with_frames: bool = False, layout: str = "coco", subset: str | None = None,
               video_id: str | None = None, end: str | None = None,
               box: str | None = None) -> Exported:
        """Write the masks as ``fmt`` (a format ``annotator export --format`` takes: coco,
        davis, png, youtube-vos, cvat, cvat-images, lu-avs, unav, avis) to ``out``, with the
        command line's options; verified as it is written."""
        from annotator.pipeline.exports import check_options, resolve, run_export

        f = resolve(fmt, with_frames=with_frames, layout=layout)
        options = {"subset": subset, "video_id": video_id, "end": end, "box": box}
        check_options(f, options, spell=lambda name: f"{name}=", format_word="format")
        summary, text = run_export(self.project, f, out, overwrite=overwrite, options=options)
        return Exported(Path(summary.get("path", out)), summary, text)


class Prompt:
    """Clicks, candidates, strokes and accept on one frame of one object — the window's, as
    :class:`annotator.pipeline.prompting.Prompter` makes them. Every call is written at once
    as its own undo operation: leaving without :meth:`accept` keeps the mask as a plain
    (non-anchor) mask, as moving on in the window does. A frame whose mask nobody clicked (a
    propagated one) starts from that mask: the first click fixes it. Masks are H×W bool."""

    def __init__(self, project: Project, obj: int, frame: int) -> None:
        self.project = project
        self.object_id = obj
        self.frame = frame
        self.candidate: tuple[int, int] | None = None  # (index, count) of the mask shown
        project.prompter.embed(frame)

    def __enter__(self) -> Prompt:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass  # every call was written when it was made

    @property
    def mask(self) -> np.ndarray | None:
        return self.project.mask(self.object_id, self.frame)

    @property
    def points(self) -> list[tuple[float, float, bool]]:
        """The points ``(x, y, positive)`` of the frame's current mask."""
        return self.project.prompter.points(self.object_id, self.frame)

    def _do(self, edit: prompting.Edit, name: str, **words: Any) -> np.ndarray | None:
        label, kind = prompting.action(name, **words)
        self.project._apply(label, kind, edit.write)
        self.candidate = edit.candidate
        return edit.mask

    def click(self, x: float, y: float, positive: bool = True) -> np.ndarray:
        """A point on the object (``positive``) or on the background; returns the new mask."""
        self.project._writable()
        point = (float(x), float(y), bool(positive))
        edit = self.project.prompter.click(self.object_id, self.frame, *point)
        return self._do(edit, "click", point=point)

    def next_candidate(self) -> np.ndarray:
        """The segmenter's next candidate mask for the same points (the window's Tab)."""
        self.project._writable()
        return self._do(self.project.prompter.next_candidate(self.object_id, self.frame),
                        "candidate")

    def remove_last_point(self) -> np.ndarray | None:
        """Take back the last point (Backspace); None when no point and so no mask is left."""
        self.project._writable()
        return self._do(self.project.prompter.remove_last_point(self.object_id, self.frame),
                        "remove_point")

    def stroke(self, points: list[tuple[float, float]], radius: int | None = None,
               erase: bool = False) -> np.ndarray:
        """Paint (``erase``: erase) through ``points`` with a brush of ``radius`` pixels
        (default: the ``canvas.brush`` setting), as the window's brush and eraser."""
        self.project._writable()
        r = int(settings.get("canvas.brush") if radius is None else radius)
        edit = self.project.prompter.stroke(self.object_id, self.frame, points, r, erase)
        return self._do(edit, "stroke", erase=erase)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """A box around the object (the window's Box tool: any two opposite corners, in
        pixels), given to the segmenter with the points clicked on the frame; points clicked
        after it join it, and a second box replaces the first. Returns the new mask."""
        self.project._writable()
        edit = self.project.prompter.box(self.object_id, self.frame, x0, y0, x1, y1)
        return self._do(edit, "box", box=edit.box)

    @property
    def box_prompt(self) -> list[float] | None:
        """The box ``[x0, y0, x1, y1]`` of the frame's current mask, if one was drawn."""
        return self.project.prompter.box_of(self.object_id, self.frame)


    def accept(self, force: bool = False) -> np.ndarray:
        """The mask becomes the frame's anchor (Enter); a to-do segment becomes annotated.
        A mask that looks wrong for an anchor (empty, covering most of the frame, reaching
        far past the clicked points, rated low by SAM, far larger or smaller than its
        neighbours) is refused with the window's question as a ``UserError``, unless
        ``force``."""
        self.project._writable()
        store, oid, frame = self.project.store, self.object_id, self.frame
        concern = prompting.anchor_concern(store, oid, frame)
        if concern and not force:
            raise UserError(f"{concern} Fix the mask first (click, stroke) or accept it anyway "
                            "with accept(force=True).")
        return self._do(self.project.prompter.accept(oid, frame), "accept")

    def delete(self) -> None:
        """Delete the frame's mask (its revisions stay: undo brings it back)."""
        self.project._writable()
        self._do(self.project.prompter.delete(self.object_id, self.frame), "delete")
