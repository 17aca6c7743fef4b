"""Box keyframes from a file: a CSV ``object,category,frame,x0,y0,x1,y1[,outside]`` in pixels,
a COCO file whose annotations have a ``bbox`` and no ``segmentation``, or a CVAT 1.1 XML file
with ``<box>`` tracks (CVAT for video; CVAT for images boxes too) (``annotator import DIR
--boxes FILE``).

Objects (and categories) are created when new; every frame must lie in one of its object's
audible segments (import the segments first), and every box inside the frame. A file with any
problem imports nothing and names each problem with its line or annotation. Imported boxes are
keyframes (source ``imported``): boxes between them are interpolated, and no job replaces them.
A COCO annotation whose ``attributes.keyframe`` is false (an interpolated box, as our own COCO
export writes one per frame) is left out; ``attributes.outside`` true makes an outside keyframe.
A CVAT track's keyframes are read (its ``keyframe="0"`` boxes are CVAT's interpolation), its
``outside`` boxes are outside keyframes — except one outside every audible segment of the
object, which only closes the track (as CVAT closes one after its last box) and is left out.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from annotator.core.box_rows import check_box
from annotator.core.importers import ImportError_, ImportReport, _object, _text_of, coco_image_frame
from annotator.core.importers import track_of as _track_of
from annotator.core.records import StoreError
from annotator.core.store import Store
from annotator.core.words import plural
from annotator.errors import UserError

CSV_COLUMNS = ("object", "category", "frame", "x0", "y0", "x1", "y1")
TRUE, FALSE = {"1", "true", "yes", "outside"}, {"", "0", "false", "no"}

Row = tuple[str, str, int, tuple, bool, str]  # object, category, frame, box, outside, where


def import_boxes(store: Store, path: str | Path) -> ImportReport:
    """Box keyframes from ``path`` (``.csv`` or a COCO ``.json``); see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file; expected a CSV of boxes "
                        f"({','.join(CSV_COLUMNS)}[,outside]) or a COCO .json with bbox")
    masks: list = []  # a file's masks: COCO annotations with a segmentation, CVAT shapes
    suffix = path.suffix.lower()
    rows, problems = (_coco_rows(store, path, masks) if suffix == ".json" else
                      _cvat_rows(store, path, masks) if suffix == ".xml" else
                      _csv_rows(store, path))
    if masks and not rows and not problems:
        problems.append(f"{masks[0]} is a mask, not a box: import masks with --masks")
    problems += _segment_problems(store, rows)
    if problems:
        raise ImportError_(path, problems)
    report = ImportReport()
    if masks:
        what = ("annotation", "with a segmentation") if suffix == ".json" else \
            ("shape", "that is not a box")
        report.notes.append(f"{plural(len(masks), what[0])} {what[1]} left out: import them "
                            "with --masks")
    with store.transaction():
        op = store.new_op("import_boxes", f"Import boxes from {path.name}")
        report.op_id = op
        items = [dict(object_id=_object(store, name, cat, op, report), frame=frame, box=box,
                      outside=outside, source="imported")
                 for name, cat, frame, box, outside, _where in rows]
        store.put_boxes(items, op=op)
    report.boxes = len(rows)
    report.frames = len({r[2] for r in rows})
    return report


def _checked(store: Store, box, frame: int, where: str, problems: list[str]) -> tuple | None:
    if not 0 <= frame < store.frame_count:
        problems.append(f"{where}: frame {frame} is outside the video's frames "
                        f"0..{store.frame_count - 1}")
        return None
    try:
        return check_box(box, frame, store.size_hw)
    except StoreError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _csv_rows(store: Store, path: Path) -> tuple[list[Row], list[str]]:
    reader = csv.DictReader(_text_of(path).splitlines())
    head = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in head]
    if missing:
        raise ImportError_(path, [f"line 1: the header lacks {', '.join(missing)}; expected "
                                  f"{','.join(CSV_COLUMNS)}[,outside]"])
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[tuple[str, int], int] = {}
    try:
        for r in reader:
            r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if isinstance(k, str)}
            where = f"line {reader.line_num}"
            name, cat, out = r["object"], r["category"] or r["object"], r.get("outside", "")
            try:
                frame = int(r["frame"])
                box = [float(r[c]) for c in ("x0", "y0", "x1", "y1")]
            except ValueError:
                problems.append(f"{where}: frame must be a whole number and x0 y0 x1 y1 "
                                "numbers (pixels)")
                continue
            if not name:
                problems.append(f"{where}: no object name")
                continue
            if out.lower() not in TRUE | FALSE:
                problems.append(f"{where}: outside is {out!r}; use 1 or 0 (true / false)")
                continue
            if (name, frame) in seen:
                problems.append(f"lines {seen[name, frame]} and {reader.line_num} both give "
                                f"{name!r} a box on frame {frame}")
                continue
            seen[name, frame] = reader.line_num
            box = _checked(store, box, frame, where, problems)
            if box is not None:
                rows.append((name, cat, frame, box, out.lower() in TRUE, where))
    except csv.Error as exc:
        raise ImportError_(path, [f"line {reader.line_num + 1}: not readable as CSV ({exc})"]
                           ) from None
    return rows, problems


def _coco_rows(store: Store, path: Path, masks: list) -> tuple[list[Row], list[str]]:
    try:
        data = json.loads(_text_of(path))
        images = {im["id"]: im for im in data["images"]}
        anns = data["annotations"]
        cats = {c["id"]: c["name"] for c in data.get("categories", [])}
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a COCO annotation file ({exc})") from None
    known = {o["track_id"]: o for o in data.get("objects", []) if isinstance(o, dict)}
    rows: list[Row] = []
    problems: list[str] = []
    owner: dict[tuple[str, int], object] = {}
    untracked: dict[str, int] = {}
    for k, ann in enumerate(anns):
        aid = ann.get("id", k)
        where = f"annotation {aid}"
        if ann.get("segmentation"):
            masks.append(where)
            continue
        attrs = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
        if attrs.get("keyframe") is False:
            continue  # an interpolated box of an export: the keyframes make it again
        im = images.get(ann.get("image_id"))
        bbox = ann.get("bbox")
        if im is None or not isinstance(bbox, list) or len(bbox) != 4:
            problems.append(f"{where}: " + ("unknown image_id" if im is None
                                            else "bbox is not [x, y, width, height]"))
            continue
        frame = coco_image_frame(im, problems)
        if frame is None:
            continue
        try:
            x, y, w, h = (float(v) for v in bbox)
        except (TypeError, ValueError):
            problems.append(f"{where}: bbox is not four numbers")
            continue
        cat = cats.get(ann.get("category_id"), "object")
        track = _track_of(ann)
        if track is None:
            untracked[cat] = untracked.get(cat, 0) + 1
            name = f"{cat} {untracked[cat]}"
        else:
            name = known.get(track, {}).get("name") or attrs.get("object") or f"{cat} {track}"
            cat = cats.get(known.get(track, {}).get("category_id"), cat)
        if (name, frame) in owner:
            problems.append(f"annotations {owner[name, frame]} and {aid} both give {name!r} a "
                            f"box on frame {frame}")
            continue
        owner[name, frame] = aid
        box = _checked(store, (x, y, x + w, y + h), int(frame), where, problems)
        if box is not None:
            rows.append((name, cat, int(frame), box, bool(attrs.get("outside")), where))
    return rows, problems


def _cvat_rows(store: Store, path: Path, masks: list) -> tuple[list[Row], list[str]]:
    from annotator.core.cvat import read_annotations, track_boxes

    hw = store.size_hw
    root, src_hw = read_annotations(path, hw)
    if src_hw != hw:
        raise ImportError_(path, [f"the CVAT task's frames are {src_hw[1]}×{src_hw[0]}, the "
                                  f"project's video {hw[1]}×{hw[0]}: export the boxes from a "
                                  "task of this video"])
    shapes, others = track_boxes(root)
    masks += others
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for name, label, frame_text, coords, outside, where in shapes:
        try:
            frame = int(frame_text)
            box = [float(v) for v in coords]
        except (TypeError, ValueError):
            problems.append(f"{where}: frame must be a whole number and xtl ytl xbr ybr "
                            "numbers (pixels)")
            continue
        if outside and _outside_segments(store, name, frame):
            continue  # closes the track after its last box: nothing to keep
        if (name, frame) in seen:
            problems.append(f"{seen[name, frame]} and {where} both give {name!r} a box on "
                            f"frame {frame}")
            continue
        seen[name, frame] = where
        box = _checked(store, box, frame, where, problems)
        if box is not None:
            rows.append((name, label, frame, box, outside, where))
    return rows, problems


def _outside_segments(store: Store, name: str, frame: int) -> bool:
    obj = store.object_by_name(name)
    return obj is None or not any(frame in s for s in store.segments(obj.id))


def _segment_problems(store: Store, rows: list[Row]) -> list[str]:
    """Each box's frame must lie in one of its object's audible segments."""
    spans: dict[str, list] = {}
    out = []
    for name, _cat, frame, _box, _outside, where in rows:
        if name not in spans:
            obj = store.object_by_name(name)
            spans[name] = store.segments(obj.id) if obj else []
        if not any(frame in s for s in spans[name]):
            out.append(f"{where}: frame {frame} is outside every audible segment of {name!r}"
                       + ("" if spans[name] else " (it has none)")
                       + "; import its segments first (annotator import DIR --segments FILE)")
    return out
