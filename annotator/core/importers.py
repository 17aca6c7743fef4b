"""Import audible segments (CSV/JSON) and masks (PNG folders, COCO RLE JSON) into a project.

Everything is validated first and written in one transaction (one undoable operation):
a file with a bad line imports nothing, and the error lists every bad line.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from annotator.core import masks as M
from annotator.core.segments import first_overlap, segment_problem
from annotator.core.store import Store
from annotator.core.words import plural
from annotator.errors import UserError


class ImportError_(UserError):
    """A file that cannot be imported; the message lists each problem with its line."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        shown = "; ".join(problems[:20]) + (f"; … {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{path}: nothing imported — {shown}")


@dataclass
class ImportReport:
    objects_created: list[str] = field(default_factory=list)
    segments: int = 0
    already: int = 0  # segments of the file the project held already (skipped)
    masks: int = 0
    boxes: int = 0  # box keyframes
    frames: int = 0
    fixes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said as they are
    op_id: int | None = None

    def lines(self) -> list[str]:
        boxes = f", {plural(self.boxes, 'box keyframe')}" if self.boxes else ""
        out = [f"{plural(self.segments, 'segment')}, {plural(self.masks, 'mask')}{boxes} on "
               f"{plural(self.frames, 'frame')}"]
        if self.already:
            out.append(f"{plural(self.already, 'segment')} already in the project (left as "
                       f"{'it was' if self.already == 1 else 'they were'})")
        if self.objects_created:
            out.append("new objects: " + ", ".join(self.objects_created))
        out += [f"fixed: {f}" for f in self.fixes]
        out += self.notes
        return out


# -- audible segments ---------------------------------------------------------------------
SEGMENT_COLUMNS = {"object", "name", "category", "start", "end", "start_s", "end_s",
                   "start_frame", "end_frame", "unit"}


MAX_SEGMENTS_BYTES = 64 << 20  # a segments file is a list of spans: bytes, not gigabytes
MAX_FIELD = 1000  # characters in one field (an object name, a number)
MAX_FRAME = 1 << 31


def _text_of(path: Path) -> str:
    """The file as text: UTF-8, with or without a BOM; anything else refused with the line
    and the byte that is not UTF-8."""
    if path.stat().st_size > MAX_SEGMENTS_BYTES:
        raise ImportError_(path, [f"{path.stat().st_size} bytes is too large for a segments "
                                  f"file (at most {MAX_SEGMENTS_BYTES >> 20} MB)"])
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportError_(path, [f"line {line}: byte 0x{raw[exc.start]:02x} (column {col}) is "
                                  "not UTF-8; save the file as UTF-8 (with or without BOM)"]
                           ) from None


def _rows_from(path: Path) -> list[tuple[int, dict]]:
    text = _text_of(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ImportError_(path, [f"not valid JSON ({exc})"]) from None
        if isinstance(data, dict):
            data = data.get("segments", data.get("audible_segments"))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportError_(path, ["expected a list of segments (objects with object, "
                                      "category, start, end)"])
        return [(i + 1, r) for i, r in enumerate(data)]
    reader = csv.DictReader(text.splitlines())
    rows = []
    try:
        if not reader.fieldnames:
            raise ImportError_(path, ["empty file: expected a header line "
                                      "object,category,start,end"])
        for r in reader:
            rows.append((reader.line_num, {k.strip().lower(): (v or "").strip()
                                           for k, v in r.items() if isinstance(k, str) and k}))
    except csv.Error as exc:
        raise ImportError_(path, [f"line {reader.line_num + 1}: not readable as CSV ({exc}); "
                                  f"fields hold at most {MAX_FIELD} characters"]) from None
    return rows


def import_segments(store: Store, path: str | Path, time_to_frame: Callable[[float], int],
                    *, unit: str = "seconds") -> ImportReport:
    """Audible segments from CSV or JSON.

    Columns: ``object`` (or ``name``), ``category`` (optional: defaults to the object name),
    and either ``start_s``/``end_s`` (seconds), ``start_frame``/``end_frame`` (frames) or
    ``start``/``end`` in ``unit`` ("seconds" or "frames"; a per-row ``unit`` column wins).
    Unknown columns, bad numbers, and spans that break the segment rule (inverted, outside
    the video, overlapping another segment of the same object in the file or in the project:
    :func:`~annotator.core.segments.segment_problem`) are reported line by line, in line
    order, and nothing is imported. A row the project already holds (same object, same
    frames) is skipped, so importing a file twice adds nothing.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such segments file")
    entry = "entry" if path.suffix.lower() == ".json" else "line"
    checked = check_segment_rows(store, _rows_from(path), time_to_frame, unit=unit,
                                 entry=entry)
    if checked.problems:
        raise ImportError_(path, [words for _line, words in sorted(checked.problems,
                                                                   key=lambda p: p[0])])
    return write_segment_rows(store, checked, f"Import segments from {path.name}")


@dataclass
class CheckedSegments:
    """What :func:`check_segment_rows` found: the spans to add, how many the project held
    already, and the problems as ``(line, words)``."""

    rows: list[_Row] = field(default_factory=list)
    already: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def read_segment_rows(path: str | Path) -> list[tuple[int, dict]]:
    """``(line, row)`` of a CSV or JSON segments file (keys lower-case), checked as text."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such segments file")
    return _rows_from(path)


def check_segment_rows(store: Store, rows: list[tuple[int, dict]],
                       time_to_frame: Callable[[float], int], *, unit: str = "seconds",
                       entry: str = "line", extra: frozenset[str] = frozenset()
                       ) -> CheckedSegments:
    """Check segment rows against the project in ``store`` as :func:`import_segments` does
    (``extra``: further columns the caller reads itself, e.g. a dataset's ``video``)."""
    n = store.frame_count
    rec = store.video()
    duration = rec.duration if rec is not None and rec.duration else None
    out = CheckedSegments()
    problems = out.problems
    # the spans each object name holds: the project's segments (line 0), then the file's
    names = {o.id: o.name for o in store.objects()}
    held: dict[str, list[_Row]] = {}
    for seg in store.segments():
        name = names[seg.object_id]
        held.setdefault(name, []).append(_Row(0, name, "", seg.start, seg.end))
    for line, row in rows:
        where = f"{entry} {line}"
        unknown = sorted(set(row) - SEGMENT_COLUMNS - extra)
        if unknown:
            problems.append((line, f"{where}: unknown column(s) {', '.join(unknown)}"))
            continue
        long = [k for k, v in row.items() if len(str(v)) > MAX_FIELD]
        if long:
            problems.append((line, f"{where}: {', '.join(sorted(long))} longer than "
                                   f"{MAX_FIELD} characters"))
            continue
        name = str(row.get("object") or row.get("name") or "").strip()
        if not name:
            problems.append((line, f"{where}: no object name"))
            continue
        category = str(row.get("category") or name).strip()
        try:
            start, end = _frames_of(row, unit, time_to_frame, duration)
        except ValueError as exc:
            problems.append((line, f"{where}: {exc}"))
            continue
        spans = held.setdefault(name, [])
        if any(r.line == 0 and (r.start, r.end) == (start, end) for r in spans):
            out.already += 1  # the project has this segment: importing a file twice is harmless
            continue
        problem = segment_problem(spans, name, start, end, n, name=name)
        if problem:
            other = first_overlap(spans, name, start, end)
            if other is not None:
                problem += (f" ({entry} {other.line})" if other.line
                            else " (already in the project)")
            problems.append((line, f"{where}: {problem}"))
            continue
        out.rows.append(_Row(line, name, category, start, end))
        spans.append(out.rows[-1])
    return out


def write_segment_rows(store: Store, checked: CheckedSegments, label: str) -> ImportReport:
    """Add the checked spans in one transaction: one undoable operation named ``label``."""
    report = ImportReport(already=checked.already)
    with store.transaction():
        op = store.new_op("import_segments", label)
        report.op_id = op
        for r in checked.rows:
            obj = store.object_by_name(r.name)
            oid = obj.id if obj else store.add_object(r.name, r.category, op=op)
            if not obj:
                report.objects_created.append(r.name)
            store.add_segment(oid, r.start, r.end, op=op)
            report.segments += 1
    return report


@dataclass(frozen=True)
class _Row:
    """A span of a segments file (``line`` 0: a segment the project holds), keyed by the
    object's name: the records :func:`~annotator.core.segments.segment_problem` reads."""

    line: int
    name: str
    category: str
    start: int
    end: int

    @property
    def id(self) -> int:
        return self.line

    @property
    def object_id(self) -> str:
        return self.name


def _frames_of(row: dict, unit: str, time_to_frame: Callable[[float], int],
               duration: float | None = None) -> tuple[int, int]:
    def num(key: str) -> float:
        val = row.get(key)
        if val is None or val == "":
            raise ValueError(f"missing {key}")
        try:
            out = float(val)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{key} is not a number: {str(val)[:40]!r}") from None
        if not math.isfinite(out):
            raise ValueError(f"{key} is not a finite number: {str(val)[:40]!r}")
        return out

    def sec(key: str) -> int:
        t = num(key)
        if t < 0 or (duration is not None and t > duration + 1e-6):
            span = f"0–{duration:.2f} s" if duration is not None else "0 s or later"
            raise ValueError(f"{key} {t:g} s is outside the video ({span})")
        return time_to_frame(t)

    if "start_frame" in row or "end_frame" in row:
        return _int(num("start_frame"), "start_frame"), _int(num("end_frame"), "end_frame")
    if "start_s" in row or "end_s" in row:
        return sec("start_s"), sec("end_s")
    u = str(row.get("unit") or unit).lower()
    if u in ("frame", "frames"):
        return _int(num("start"), "start"), _int(num("end"), "end")
    if u not in ("s", "sec", "second", "seconds"):
        raise ValueError(f"unknown unit {u[:40]!r} (seconds or frames)")
    return sec("start"), sec("end")


def _int(v: float, key: str) -> int:
    if abs(v) >= MAX_FRAME:
        raise ValueError(f"{key} {v:g} is not a frame number of any video")
    if v != int(v):
        raise ValueError(f"{key} must be a whole frame number, got {v}")
    return int(v)


# -- masks --------------------------------------------------------------------------------
FIT_MODES = ("error", "pad-crop")
HANDFUL = 8  # more grey levels than this in a greyscale PNG: anti-aliased edges, not ids
_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def coco_image_frame(im: dict, problems: list[str]) -> int | None:
    """A COCO image's frame: its ``frame_index``, else the number in its file name; None (and
    the problem noted) when it has neither."""
    frame = im.get("frame_index")
    if frame is None:
        try:
            frame = frame_of(Path(im.get("file_name", "")))
        except ValueError as exc:
            problems.append(f"image {im['id']}: {exc}")
            return None
    return frame


def frame_of(path: Path) -> int:
    m = _DIGITS.search(path.stem)
    if not m:
        raise ValueError(f"{path.name}: no frame number in the file name")
    return int(m.group(1))


def _fit(arr: np.ndarray, h: int, w: int, name: str, fit: str, report: ImportReport) -> np.ndarray:
    if arr.shape[:2] == (h, w):
        return arr
    if fit != "pad-crop":
        raise M.MaskSizeError(
            f"{name} is {arr.shape[1]}×{arr.shape[0]} pixels but the video is {w}×{h}; "
            "masks are never resized silently — fix the file, or import with --fit pad-crop "
            "to pad (with background) or crop at the bottom/right edges")
    out = np.zeros((h, w), arr.dtype)
    hh, ww = min(h, arr.shape[0]), min(w, arr.shape[1])
    out[:hh, :ww] = arr[:hh, :ww]
    report.fixes.append(f"{name}: {arr.shape[1]}×{arr.shape[0]} padded/cropped to {w}×{h} "
                        "at the bottom/right edges")
    return out


def read_png_mask(path: Path, *, labels: bool = False) -> tuple[np.ndarray, bool, int]:
    """(array, indexed?, grey levels) of a PNG mask.

    Palette PNGs are label images (one index per object). A greyscale PNG is a binary mask
    when it holds one non-zero value; with up to :data:`HANDFUL` non-zero values it is a label
    image; with more (anti-aliased edges) it is one object's mask cut at 50% grey, and the
    third value says how many levels it had (0 otherwise). ``labels`` forces label images.
    """
    try:
        im = Image.open(path)
        im.load()
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable PNG mask ({exc})") from None
    if im.mode == "P":
        return np.array(im), True, 0
    if im.mode in ("1", "L", "I", "I;16", "LA"):
        arr = np.array(im.getchannel(0) if im.mode == "LA" else im)
        vals = np.unique(arr)
        nonzero = int((vals != 0).sum())
        if im.mode == "1" or (not labels and set(vals.tolist()) <= {0, 255}):
            return (arr > 0).astype(np.uint8), False, 0
        if labels or nonzero <= HANDFUL:
            return arr.astype(np.int32), True, 0
        half = 128 if arr.dtype == np.uint8 else 32768
        return (arr >= half).astype(np.uint8), False, len(vals)
    raise UserError(f"{path}: {im.mode} masks are not supported; save masks as greyscale "
                    "0/255 (one object) or as palette PNGs with one index per object")


def _names_beside(folder: Path) -> dict[int, dict]:
    """Object names our DAVIS (``objects.json``) or YouTube-VOS (``meta.json``) export left."""
    for cand in (folder / "objects.json", folder.parent.parent / "meta.json"):
        try:
            data = json.loads(cand.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if cand.name == "meta.json":
            data = (data.get("videos") or {}).get(folder.name, {}).get("objects", {})
        if isinstance(data, dict):
            return {int(k): v for k, v in data.items() if str(k).isdigit() and isinstance(v, dict)}
    return {}


def import_png_masks(store: Store, folder: str | Path, *, object_name: str | None = None,
                     category: str | None = None, fit: str = "error",
                     labels: bool = False) -> ImportReport:
    """Masks from a folder of PNGs named by frame (``00005.png`` is frame 5).

    Binary masks (0/255) belong to one object (``object_name``, default: the folder's parent
    name); indexed masks give one object per index (named from a DAVIS ``objects.json`` or a
    YouTube-VOS ``meta.json`` beside them, else ``object_name`` + index, or ``object N``),
    written only on frames where the index appears. Greyscale masks with anti-aliased edges
    are cut at 50% (reported); ``labels`` takes every greyscale PNG as a label image.
    Imported masks are anchors.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not files:
        raise UserError(f"{folder}: no PNG masks here")
    h, w = store.size_hw
    n = store.frame_count
    report = ImportReport()
    per_frame: list[tuple[int, dict[int, np.ndarray]]] = []
    problems: list[str] = []
    grey: list[tuple[str, int]] = []
    for f in files:
        try:
            frame = frame_of(f)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if frame >= n:
            problems.append(f"{f.name}: frame {frame} is past the video's end "
                            f"({plural(n, 'frame')})")
            continue
        arr, indexed, levels = read_png_mask(f, labels=labels)
        if levels:
            grey.append((f.name, levels))
        arr = _fit(arr, h, w, str(f), fit, report)
        if indexed:
            per_frame.append((frame, {int(i): arr == i for i in np.unique(arr) if i != 0}))
        else:
            per_frame.append((frame, {0: arr > 0}))
    if problems:
        raise ImportError_(folder, problems)
    if grey:
        name, levels = grey[0]
        report.fixes.append(
            f"{len(grey)} greyscale mask(s) with anti-aliased edges ({name}: {levels} grey "
            "levels) taken as one object's mask at 50% grey; import with --labels if their "
            "values are object ids")
    base = object_name or (folder.parent.name if folder.name.lower() in ("annotations", "masks")
                           else folder.name)
    ids = sorted({i for _f, d in per_frame for i in d})
    beside = {} if object_name else _names_beside(folder)
    names = {i: base if i == 0 else (
        beside.get(i, {}).get("name") or (f"{object_name} {i}" if object_name else f"object {i}"))
        for i in ids}
    cats = {i: category or beside.get(i, {}).get("category") for i in ids}
    with store.transaction():
        op = store.new_op("import_masks", f"Import masks from {folder.name}")
        report.op_id = op
        oids = {i: _object(store, names[i], cats[i], op, report) for i in ids}
        items = [dict(object_id=oids[i], frame=frame, mask=m, source="imported", anchor=True)
                 for frame, d in per_frame for i, m in d.items()]
        store.put_masks(items, op=op)
    report.masks = len(items)
    report.frames = len({f for f, _ in per_frame})
    return report


def _object(store: Store, name: str, category: str | None, op: int, report: ImportReport) -> int:
    obj = store.object_by_name(name)
    if obj:
        return obj.id
    report.objects_created.append(name)
    return store.add_object(name, category or name, op=op)


def track_of(ann: dict):
    """The annotation's track id: top-level ``track_id`` or ``attributes.track_id``."""
    t = ann.get("track_id")
    if t is None and isinstance(ann.get("attributes"), dict):
        t = ann["attributes"].get("track_id")
    return t


def _rle_of(seg, ih: int, iw: int) -> dict:
    """A compressed RLE of a COCO segmentation, refusing what would decode to garbage."""
    from pycocotools import mask as cocomask

    if seg == []:  # an empty mask, as Datumaro writes one
        return cocomask.encode(np.zeros((ih, iw), np.uint8, order="F"))
    if isinstance(seg, list):
        if not all(isinstance(p, list) and len(p) >= 6 for p in seg):
            raise ValueError("polygons need at least 3 points each")
        return cocomask.merge(cocomask.frPyObjects(seg, ih, iw))
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise ValueError("expected polygons or an RLE with size and counts")
    size = seg["size"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and v > 0 for v in size)):
        raise ValueError(f"RLE size {size!r} is not [height, width]")
    if list(size) != [ih, iw]:
        raise ValueError(f"RLE size {size} differs from its image's {ih}×{iw} (height×width)")
    counts = seg["counts"]
    if isinstance(counts, list):  # uncompressed RLE: runs must cover the image exactly
        if not all(isinstance(c, int) and c >= 0 for c in counts):
            raise ValueError("uncompressed RLE counts must be whole numbers ≥ 0")
        if sum(counts) != ih * iw:
            raise ValueError(f"uncompressed RLE counts cover {sum(counts)} pixels, not "
                             f"{ih}×{iw} = {ih * iw}")
        return cocomask.frPyObjects({"size": list(size), "counts": counts}, ih, iw)
    if not isinstance(counts, str | bytes):
        raise ValueError("RLE counts must be a string or a list of numbers")
    rle = {"size": list(size), "counts": counts.encode() if isinstance(counts, str) else counts}
    if int(cocomask.area(rle)) > ih * iw or list(cocomask.decode(rle).shape) != list(size):
        raise ValueError("compressed RLE counts do not fit the image")
    return rle


def import_coco(store: Store, path: str | Path, *, fit: str = "error") -> ImportReport:
    """Masks from a COCO JSON with RLE (compressed or not) or polygon segmentations.

    The frame is the image's ``frame_index`` (else the number in its ``file_name``). Every
    annotation is its own object unless a track id (``track_id`` or ``attributes.track_id``)
    says that several are one; objects are named from the file's ``objects`` list or the
    annotation's ``attributes.object`` when present, else ``<category> <n>``. Two annotations
    of one object on one frame are reported and nothing is imported. Imported masks are
    anchors.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = {im["id"]: im for im in data["images"]}
        anns = data["annotations"]
        cats = {c["id"]: c["name"] for c in data.get("categories", [])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a COCO annotation file ({exc})") from None
    known = {o["track_id"]: o for o in data.get("objects", []) if isinstance(o, dict)}
    h, w = store.size_hw
    report = ImportReport()
    problems: list[str] = []
    decoded: list[tuple[str, str, int, np.ndarray]] = []
    owner: dict[tuple[str, int], object] = {}
    untracked: dict[str, int] = {}
    boxes: list = []
    for k, ann in enumerate(anns):
        aid = ann.get("id", k)
        im = images.get(ann.get("image_id"))
        if im is None:
            problems.append(f"annotation {aid}: unknown image_id")
            continue
        frame = coco_image_frame(im, problems)
        if frame is None:
            continue
        if not 0 <= frame < store.frame_count:
            problems.append(f"image {im['id']}: frame {frame} outside the video")
            continue
        ih, iw = im.get("height", h), im.get("width", w)
        bbox = ann.get("bbox")
        if (not ann.get("segmentation") and isinstance(bbox, list) and len(bbox) == 4
                and all(isinstance(v, int | float) and v > 0 for v in bbox[2:])):
            boxes.append(aid)  # a box-only annotation (an empty mask has an empty bbox)
            continue
        try:
            arr = M.decode(M.to_compressed(_rle_of(ann.get("segmentation"), ih, iw)))
        except Exception as exc:  # noqa: BLE001 - any malformed segmentation
            problems.append(f"annotation {aid}: unreadable segmentation ({exc})")
            continue
        arr = _fit(arr, h, w, f"{path.name} annotation {aid}", fit, report)
        cat = cats.get(ann.get("category_id"), "object")
        track = track_of(ann)
        if track is None:
            untracked[cat] = untracked.get(cat, 0) + 1
            name = f"{cat} {untracked[cat]}"
        else:
            attrs = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
            name = (known.get(track, {}).get("name") or attrs.get("object")
                    or f"{cat} {track}")
            cat = cats.get(known.get(track, {}).get("category_id"), cat)
        if (name, frame) in owner:
            problems.append(f"annotations {owner[name, frame]} and {aid} are both {name!r} "
                            f"on frame {frame}: one would overwrite the other")
            continue
        owner[name, frame] = aid
        decoded.append((name, cat, frame, arr))
    if boxes and not decoded and not problems:
        problems.append(f"annotation {boxes[0]} has a bbox and no segmentation: import boxes "
                        "with --boxes")
    if problems:
        raise ImportError_(path, problems)
    if boxes:
        report.notes.append(f"{plural(len(boxes), 'box-only annotation')} left out: import "
                            "them with --boxes")
    with store.transaction():
        op = store.new_op("import_masks", f"Import masks from {path.name}")
        report.op_id = op
        items = []
        for name, cat, frame, arr in decoded:
            oid = _object(store, name, cat, op, report)
            items.append(dict(object_id=oid, frame=frame, mask=arr, source="imported", anchor=True))
        store.put_masks(items, op=op)
    report.masks = len(decoded)
    report.frames = len({d[2] for d in decoded})
    return report
