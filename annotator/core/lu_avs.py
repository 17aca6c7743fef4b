"""The LU-AVS release layout: write a project in it, and read it (an export or the release) as
:class:`~annotator.core.tracks.Track` s.

What the public dataset page describes, and what this module writes::

    OUT/seg_<subset>.json            {video_id: {"duration", "fps", "subset",
                                      "annotations": [{"segment": [start, end], "label",
                                                       "label_id"}, …]}}
    OUT/bbox_segs_<subset>.json      the same for segments that have boxes but no masks
    OUT/<subset>/<video_id>__<label>__st__<start>__et__<end>/masks.npy   (and bbox.npy)
    OUT/format.json                  the conventions below, so a reader need not guess

Element 0 of ``masks.npy`` / ``bbox.npy`` is the segment's first frame; spaces in the label
become ``_`` (``/`` and ``\\`` too: they would make folders). The page does not say whether
``end`` is inclusive, nor the arrays' dtype, shape and box convention; this module's defaults,
named in ``format.json``: ``end`` inclusive, ``masks.npy`` bool ``(end − start + 1, H, W)``,
``bbox.npy`` float32 ``(end − start + 1, 4)`` ``x0 y0 x1 y1`` in pixels (COCO's x, y, x + w,
y + h), a row of NaN where the object is not visible. ``end="exclusive"`` and ``box="xywh"``
write the other conventions.

One LU-AVS segment is one label over one span, so segments of two objects with the same
category and the same frames are written as one, their masks joined (the summary says which).
A frame of a segment that holds no mask is written empty (not visible) and counted; a box-only
segment (keyframes and no mask: :mod:`annotator.core.box_tracks`) goes to
``bbox_segs_<subset>.json`` with a ``bbox.npy`` of its box track (interpolated boxes included)
and no ``masks.npy``; a segment with neither is left out of the JSON and named in
``format.json`` (``annotator export --format unav`` keeps every span). Each annotation also
carries ``review`` and ``reviewed_by`` (:func:`~annotator.core.review.joined_review`): extra keys, which readers of
the layout pass over. ``masks.npy`` is streamed to disk a frame at a time (a
header, then the rows): memory does not grow with the segment; each array is read back and
its bytes compared with what was written.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from annotator.core import export_files as F
from annotator.core import masks as M
from annotator.core.export_files import ExportError
from annotator.core.review import joined_review, segment_reviews
from annotator.core.store import Store
from annotator.core.tracks import Track, box_of
from annotator.errors import UserError

ENDS = ("inclusive", "exclusive")
BOXES = ("xyxy", "xywh")
SUBSETS = ("train", "val", "test")
FORMAT_FILE = "format.json"
FORMAT = {"layout": "lu-avs", "masks": "bool (frames, H, W)",
          "bbox": "float32 (frames, 4), NaN where not visible"}


def folder_name(video_id: str, label: str, start: int, end: int) -> str:
    """``<video_id>__<label, spaces as _>__st__<start>__et__<end>`` (ends as written)."""
    safe = label.replace(" ", "_").replace("/", "_").replace("\\", "_")
    return f"{video_id}__{safe}__st__{start}__et__{end}"


@dataclass(frozen=True)
class Group:
    """One LU-AVS segment of a project: a category over a span, of one or more objects."""

    label: str
    label_id: int
    start: int
    end: int
    object_ids: tuple[int, ...]
    names: tuple[str, ...]
    segment_ids: tuple[int, ...] = ()


def groups(store: Store) -> list[Group]:
    """The project's audible segments as LU-AVS segments, ordered by start (then label)."""
    objects = {o.id: o for o in store.objects()}
    by_key: dict[tuple[str, int, int], list] = {}
    for s in store.segments():
        o = objects[s.object_id]
        by_key.setdefault((o.category, s.start, s.end), []).append((o, s.id))
    return [Group(label, objs[0][0].category_id, s, e, tuple(o.id for o, _ in objs),
                  tuple(o.name for o, _ in objs), tuple(sid for _, sid in objs))
            for (label, s, e), objs in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0],
                                                                               kv[0][2]))]


def _group_masks(store: Store, g: Group):
    """``frame -> H×W bool or None`` over the group's span: its objects' masks joined."""
    rles = [{m.frame: m.rle for m in store.masks_of(oid, g.start, g.end) if m.rle is not None}
            for oid in g.object_ids]

    def mask(frame: int) -> np.ndarray | None:
        got = [r[frame] for r in rles if frame in r]
        if not got:
            return None
        return M.decode(got[0] if len(got) == 1 else M.union(got))

    return mask, sum(len(r) for r in rles) > 0


def _group_boxes(store: Store, g: Group) -> dict[int, tuple]:
    """``frame -> (x0, y0, x1, y1)`` of the group's box-only segments' box tracks (several
    objects: the box around their boxes)."""
    from annotator.core.box_tracks import box_only, segment_track

    out: dict[int, tuple] = {}
    for oid in g.object_ids:
        if not box_only(store, oid, g.start, g.end):
            continue
        for t in segment_track(store, oid, g.start, g.end):
            if t.box is not None:
                b = out.get(t.frame)
                out[t.frame] = t.box if b is None else (
                    min(b[0], t.box[0]), min(b[1], t.box[1]), max(b[2], t.box[2]),
                    max(b[3], t.box[3]))
    return out


def project_tracks(store: Store, video_id: str | None = None) -> list[Track]:
    """The project's audible segments as tracks (what ``annotator evaluate`` scores); a
    box-only segment's boxes are its box track."""
    vid = video_id or F.sequence_name(store)
    out = []
    for g in groups(store):
        mask, any_mask = _group_masks(store, g)
        boxes = {} if any_mask else _group_boxes(store, g)

        def box(f, m=mask, b=boxes):
            return np.array(b[f], np.float32) if f in b else box_of(m(f))

        out.append(Track(vid, g.label, g.start, g.end, ", ".join(g.names), mask, box,
                         g.label_id))
    return out


def _write_npy(path: Path, shape: tuple[int, ...], dtype, rows) -> str:
    """A ``.npy`` of ``shape`` written a row at a time from ``rows``; returns the data's
    SHA-1."""
    digest = hashlib.sha1()
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(
            np.dtype(dtype)), "fortran_order": False, "shape": shape})
        for row in rows:
            b = np.ascontiguousarray(row, dtype=dtype).tobytes()
            digest.update(b)
            f.write(b)
    return digest.hexdigest()


def _check_npy(path: Path, shape: tuple[int, ...], dtype, sha1: str) -> None:
    """Read ``path`` back (its header as numpy parses it, then its data in blocks, so memory
    stays flat) and compare its bytes with what was written."""
    digest = hashlib.sha1()
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        got_shape, fortran, got_dtype = read(f)
        if got_shape != shape or got_dtype != np.dtype(dtype) or fortran:
            raise ExportError(f"{path}: read back as {got_dtype} {got_shape}, not "
                              f"{np.dtype(dtype)} {shape}")
        while block := f.read(1 << 24):
            digest.update(block)
    if digest.hexdigest() != sha1:
        raise ExportError(f"{path}: the bytes read back differ from those written; "
                          "check the disk and export again")


def export_lu_avs(store: Store, out_dir: str | Path, *, subset: str = "train",
                  video_id: str | None = None, end: str = "inclusive", box: str = "xyxy",
                  overwrite: bool = False, progress=None) -> dict:
    """The project in the LU-AVS layout in ``out_dir`` (see the module doc)."""
    if end not in ENDS or box not in BOXES or subset not in SUBSETS:
        raise UserError(f"LU-AVS: end is one of {ENDS}, box one of {BOXES}, subset one of "
                        f"{SUBSETS}")
    out_dir = Path(out_dir)
    rec = store.video()
    h, w = store.size_hw
    vid = video_id or F.sequence_name(store)
    gs = groups(store)
    reviews = segment_reviews(store)
    total = sum(g.end - g.start + 1 for g in gs)
    summary = {"path": str(out_dir), "video_id": vid, "subset": subset, "segments": 0,
               "frames": 0, "empty_frames": 0, "joined": [], "without_masks": [],
               "box_segments": 0}

    def fill(tmp: Path) -> None:
        anns, box_anns, done = [], [], 0
        for g in gs:
            e = g.end + (end == "exclusive")
            name = folder_name(vid, g.label, g.start, e)
            mask, any_mask = _group_masks(store, g)
            track = {} if any_mask else _group_boxes(store, g)
            if not any_mask and track:
                _write_boxes(tmp / subset / name, g, track, box)
                box_anns.append({"segment": [g.start, e], "label": g.label,
                                 "label_id": g.label_id, **(
                                     {"object": g.names[0]} if len(g.names) == 1 else {}),
                                 **joined_review(reviews, g.segment_ids)})
                summary["box_segments"] += 1
            if not any_mask:
                if not track:
                    summary["without_masks"].append(name)
                done += g.end - g.start + 1
                continue
            folder = tmp / subset / name
            folder.mkdir(parents=True)
            n = g.end - g.start + 1
            boxes = np.full((n, 4), np.nan, np.float32)
            empty = np.zeros((h, w), bool)

            def rows(g=g, mask=mask, boxes=boxes, empty=empty):
                nonlocal done
                for k, f in enumerate(range(g.start, g.end + 1)):
                    m = mask(f)
                    if m is None:
                        summary["empty_frames"] += 1
                        m = empty
                    b = box_of(m)
                    if b is not None:
                        boxes[k] = b if box == "xyxy" else (b[0], b[1], b[2] - b[0], b[3] - b[1])
                    done += 1
                    if progress and (done % 50 == 0 or done == total):
                        progress(done, total)
                    yield m

            sha = _write_npy(folder / "masks.npy", (n, h, w), bool, rows())
            _check_npy(folder / "masks.npy", (n, h, w), bool, sha)
            np.save(folder / "bbox.npy", boxes)
            if not np.array_equal(np.load(folder / "bbox.npy"), boxes, equal_nan=True):
                raise ExportError(f"{folder / 'bbox.npy'}: read back differs from what was "
                                  "written; check the disk and export again")
            if len(g.names) > 1:
                summary["joined"].append(name)
            ann = {"segment": [g.start, e], "label": g.label, "label_id": g.label_id}
            if len(g.names) == 1:
                ann["object"] = g.names[0]  # an extra key: readers of the layout pass it over
            ann.update(joined_review(reviews, g.segment_ids))  # extra keys too
            anns.append(ann)
            summary["segments"] += 1
            summary["frames"] += n
        entry = {vid: {"duration": round(rec.duration or store.frame_count / rec.fps, 3),
                       "fps": round(float(rec.fps), 3), "subset": subset,
                       "annotations": anns}}
        path = tmp / f"seg_{subset}.json"
        path.write_text(json.dumps(entry, indent=1), encoding="utf-8")
        if json.loads(path.read_text(encoding="utf-8")) != entry:
            raise ExportError(f"{path}: read back differs from what was written")
        if box_anns:
            boxed = {vid: {**entry[vid], "annotations": box_anns}}
            path = tmp / f"bbox_segs_{subset}.json"
            path.write_text(json.dumps(boxed, indent=1), encoding="utf-8")
            if json.loads(path.read_text(encoding="utf-8")) != boxed:
                raise ExportError(f"{path}: read back differs from what was written")
        (tmp / FORMAT_FILE).write_text(json.dumps(
            {**FORMAT, "end": end, "box": box, "subset": subset, "video_id": vid,
             "without_masks": summary["without_masks"], "joined": summary["joined"]},
            indent=1), encoding="utf-8")

    F.atomic_dir(out_dir, store, overwrite, fill, {"format": "lu-avs"})
    return summary


def _write_boxes(folder: Path, g: Group, track: dict[int, tuple], box: str) -> None:
    """A box-only segment's ``bbox.npy`` (NaN where no box), read back."""
    folder.mkdir(parents=True)
    boxes = np.full((g.end - g.start + 1, 4), np.nan, np.float32)
    for f, (x0, y0, x1, y1) in track.items():
        boxes[f - g.start] = (x0, y0, x1, y1) if box == "xyxy" else (x0, y0, x1 - x0, y1 - y0)
    np.save(folder / "bbox.npy", boxes)
    if not np.array_equal(np.load(folder / "bbox.npy"), boxes, equal_nan=True):
        raise ExportError(f"{folder / 'bbox.npy'}: read back differs from what was written; "
                          "check the disk and export again")


# -- reading an export or the release ------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One annotation of a release JSON: its video, subset, span (as written) and folder."""

    video_id: str
    subset: str
    start: int
    end: int  # inclusive, whatever the file's convention
    label: str
    label_id: int | None
    object: str | None
    folder: Path | None  # None: no folder found
    fps: float | None
    duration: float | None


def conventions(path: Path) -> dict:
    """``format.json`` of an export folder (or beside a JSON file), {} when there is none."""
    base = path if path.is_dir() else path.parent
    try:
        return json.loads((base / FORMAT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{base / FORMAT_FILE}: unreadable ({exc}); fix or remove it") from None


def read_entries(path: str | Path, *, end: str | None = None) -> list[Entry]:
    """Every annotation of an LU-AVS export folder or of one of its JSON files, with the
    folder of its arrays (``<json dir>/<subset>/<name>`` or ``<json dir>/<name>``). ``end``:
    the file's convention (default: ``format.json``'s, else inclusive)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    files = (sorted(path.glob("seg_*.json")) + sorted(path.glob("bbox_segs_*.json"))
             if path.is_dir() else [path])
    if not files:
        raise UserError(f"{path}: no seg_<subset>.json or bbox_segs_<subset>.json in this "
                        "folder; pass the JSON file itself or an LU-AVS export folder")
    end = end or conventions(path).get("end", "inclusive")
    if end not in ENDS:
        raise UserError(f"{path}: end convention {end!r} is not one of {ENDS}")
    out = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            items = list(data.items())
        except (OSError, ValueError, AttributeError) as exc:
            raise UserError(f"{file}: not an LU-AVS annotation file ({exc})") from None
        for vid, info in items:
            k = 0
            try:
                subset = str(info.get("subset", "train"))
                for a in info["annotations"]:
                    s, e = (int(v) for v in a["segment"])
                    if end == "exclusive":
                        e -= 1
                    name = folder_name(vid, a["label"], *(int(v) for v in a["segment"]))
                    folder = next((d for d in (file.parent / subset / name, file.parent / name)
                                   if d.is_dir()), None)
                    out.append(Entry(vid, subset, s, e, str(a["label"]), a.get("label_id"),
                                     a.get("object"), folder, info.get("fps"),
                                     info.get("duration")))
                    k += 1
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise UserError(f"{file}: video {vid!r}, annotation {k}: not an LU-AVS "
                                f"annotation ({exc!r})") from None
    return out


@functools.lru_cache(maxsize=4)
def npy_array(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r")


def entry_arrays(entry: Entry) -> tuple[Path | None, Path | None]:
    """The entry's ``masks.npy`` and ``bbox.npy`` (None where absent), their lengths checked
    against its span (a length one short or long names the other end convention)."""
    if entry.folder is None:
        return None, None
    paths = [entry.folder / n for n in ("masks.npy", "bbox.npy")]
    paths = [p if p.is_file() else None for p in paths]
    n = entry.end - entry.start + 1
    for p in paths:
        if p is None:
            continue
        try:
            got = npy_array(p).shape[0]
        except (OSError, ValueError) as exc:
            raise UserError(f"{p}: not a numpy array file ({exc})") from None
        if got != n:
            hint = ("; the end looks exclusive: pass --end exclusive" if got == n - 1 else
                    "; the end looks inclusive: pass --end inclusive" if got == n + 1 else "")
            raise UserError(f"{p}: {got} frames for frames {entry.start}–{entry.end} "
                            f"({n} frames){hint}")
    return paths[0], paths[1]


def release_tracks(path: str | Path, *, end: str | None = None,
                   box: str | None = None) -> list[Track]:
    """An LU-AVS export or release as tracks, read lazily (memory-mapped arrays)."""
    box = box or conventions(Path(path)).get("box", "xyxy")
    out = []
    for e in read_entries(path, end=end):
        masks, boxes = entry_arrays(e)

        def mask(f, e=e, p=masks):
            return None if p is None else np.asarray(npy_array(p)[f - e.start], bool)

        def box_at(f, e=e, p=boxes, m=mask):
            if p is None:
                return box_of(m(f))
            b = np.asarray(npy_array(p)[f - e.start], np.float32)
            if np.isnan(b).any():
                return None
            return b if box == "xyxy" else np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]],
                                                    np.float32)

        out.append(Track(e.video_id, e.label, e.start, e.end, e.object or e.label, mask,
                         box_at, e.label_id))
    return out
