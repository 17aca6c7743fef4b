"""CVAT for video 1.1 (XML): export and import of mask tracks.

One ``<track>`` per object (``label`` = its category, the object's name in an ``object``
attribute), one ``<mask>`` per frame with a mask in CVAT's own RLE: run lengths over the
mask's box (``left``/``top``/``width``/``height``, rows first), starting with background. A
track is closed by an ``outside="1"`` keyframe on the first frame after each run of masks
(frames outside the audible segments, or where the object is hidden), as CVAT expects of a
track that leaves the frame. Import reads masks and polygons of tracks (and of ``<image>``
shapes, CVAT for images); every track is one object.

CVAT for images 1.1 (``--format cvat-images``) holds the same masks frame by frame: one
``<image>`` per frame with a mask (``name`` = the frame's file name, as in the COCO export),
one ``<mask>`` per object in it, the object's name and its track id in ``object`` and
``track_id`` attributes. It is what Datumaro reads: its CVAT reader (1.13) fails on a
``<mask>`` inside a ``<track>``, so a pipeline through Datumaro takes this one; CVAT takes both.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from annotator.core import export_files as F
from annotator.core import masks as M
from annotator.core.export_boxes import box_only_boxes, cvat_box_tracks, cvat_image_box
from annotator.core.export_files import ExportError
from annotator.core.store import Store
from annotator.errors import UserError


def cvat_rle(mask: np.ndarray) -> tuple[str, int, int, int, int] | None:
    """``(rle, left, top, width, height)`` of a bool mask; None when it is empty."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    top, left = int(ys.min()), int(xs.min())
    h, w = int(ys.max()) - top + 1, int(xs.max()) - left + 1
    flat = mask[top:top + h, left:left + w].ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
    if flat[0]:
        runs = np.concatenate([[0], runs])
    return ", ".join(str(int(r)) for r in runs), left, top, w, h


def from_cvat_rle(rle: str, left: int, top: int, w: int, h: int,
                  size_hw: tuple[int, int]) -> np.ndarray:
    """The full-frame bool mask of a CVAT RLE; ``ValueError`` when it does not fit."""
    runs = [int(c) for c in rle.replace(" ", "").split(",") if c != ""]
    if any(r < 0 for r in runs) or sum(runs) != w * h:
        raise ValueError(f"RLE covers {sum(runs)} pixels, not its box's {w}×{h}")
    H, W = size_hw
    if left < 0 or top < 0 or left + w > W or top + h > H:
        raise ValueError(f"box {left},{top} {w}×{h} leaves the {W}×{H} frame")
    vals = np.zeros(len(runs), bool)
    vals[1::2] = True
    box = np.repeat(vals, runs).reshape(h, w)
    out = np.zeros((H, W), bool)
    out[top:top + h, left:left + w] = box
    return out


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _header(store: Store, mode: str, boxed: set[str] = frozenset()) -> tuple[ET.Element, list]:
    """``<annotations>`` with its ``<meta>``: the task, a label per category (with the
    ``object`` attribute, and ``track_id`` in annotation mode; type ``any`` for the categories
    in ``boxed``, which have box-only segments), the frame size."""
    rec = store.video()
    h, w = store.size_hw
    n = store.frame_count
    root = ET.Element("annotations")
    _sub(root, "version", "1.1")
    task = _sub(_sub(root, "meta"), "task")
    for tag, val in (("id", 1), ("name", F.sequence_name(store)), ("size", n),
                     ("mode", mode), ("overlap", 0), ("start_frame", 0),
                     ("stop_frame", n - 1)):
        _sub(task, tag, val)
    objects = [o for o in store.objects()]
    labels = _sub(task, "labels")
    attributes = [("object", "text")] + ([("track_id", "number")] if mode == "annotation" else [])
    for cat in sorted({o.category for o in objects}):
        lab = _sub(labels, "label")
        _sub(lab, "name", cat)
        _sub(lab, "color", next(o.color for o in objects if o.category == cat))
        _sub(lab, "type", "any" if cat in boxed else "mask")
        attrs = _sub(lab, "attributes")
        for name, kind in attributes:
            attr = _sub(attrs, "attribute")
            for tag, val in (("name", name), ("mutable", "False"), ("input_type", kind),
                             ("default_value", ""), ("values", "")):
                _sub(attr, tag, val)
    size = _sub(task, "original_size")
    _sub(size, "width", w)
    _sub(size, "height", h)
    _sub(task, "source", Path(rec.path).name)
    return root, objects


def cvat_images_xml(store: Store) -> tuple[ET.ElementTree, dict]:
    """CVAT for images 1.1: an ``<image>`` per frame with masks or boxes, a ``<mask>`` per
    object (a ``<box>`` per object of a box-only segment)."""
    boxes = box_only_boxes(store)
    by_id = {o.id: o for o in store.objects()}
    root, objects = _header(store, "annotation", {by_id[b.object_id].category for b in boxes})
    h, w = store.size_hw
    name_of = F.frame_namer(store)
    track = {o.id: k for k, o in enumerate(objects)}
    images = masks = 0
    current, image = None, None
    pending = list(reversed(boxes))  # popped in (frame, object) order

    def add_image(frame: int) -> ET.Element:
        nonlocal images, current
        current = frame
        images += 1
        el = _sub(root, "image", id=str(frame), name=name_of(frame), width=str(w),
                  height=str(h))
        while pending and pending[-1].frame == frame:
            b = pending.pop()
            o = by_id[b.object_id]
            cvat_image_box(el, b, o.category, o.name, track[o.id])
        return el

    for m in store.iter_masks():  # ordered by (frame, object)
        obj = by_id.get(m.object_id)
        enc = cvat_rle(m.decode()) if obj is not None else None
        if enc is None:
            continue
        if m.frame != current:
            while pending and pending[-1].frame < m.frame:
                add_image(pending[-1].frame)
            image = add_image(m.frame)
        rle, left, top, mw, mh = enc
        el = _sub(image, "mask", label=obj.category, source="manual", occluded="0", rle=rle,
                  left=str(left), top=str(top), width=str(mw), height=str(mh), z_order="0")
        _sub(el, "attribute", obj.name, name="object")
        _sub(el, "attribute", track[obj.id], name="track_id")
        masks += 1
    while pending:
        add_image(pending[-1].frame)
    return ET.ElementTree(root), {"images": images, "masks": masks, "boxes": len(boxes),
                                  "tracks": len({m for m in track if store.masks_of(m)}
                                                | {b.object_id for b in boxes})}


def cvat_xml(store: Store) -> tuple[ET.ElementTree, dict]:
    box_tracks = cvat_box_tracks(store, len(store.objects()))
    root, objects = _header(store, "interpolation", {t.get("label") for t in box_tracks})
    n = store.frame_count
    tracks = masks = 0
    for k, obj in enumerate(objects):
        recs = store.masks_of(obj.id)
        if not recs:
            continue
        track = _sub(root, "track", id=str(k), label=obj.category, source="manual")
        tracks += 1
        last = None
        prev_frame = -2
        for m in recs:
            enc = cvat_rle(m.decode())
            if enc is None:
                continue
            if last is not None and m.frame != prev_frame + 1:
                _mask_el(track, prev_frame + 1, last, obj.name, outside=True)
            _mask_el(track, m.frame, enc, obj.name, outside=False)
            masks += 1
            last, prev_frame = enc, m.frame
        if last is not None and prev_frame + 1 < n:
            _mask_el(track, prev_frame + 1, last, obj.name, outside=True)
    root.extend(box_tracks)  # the box-only segments' tracks, after the mask tracks
    boxes = sum(1 for t in box_tracks for b in t if b.get("outside") == "0")
    return ET.ElementTree(root), {"tracks": tracks + len(box_tracks), "masks": masks,
                                  "boxes": boxes}


def _mask_el(track: ET.Element, frame: int, enc: tuple, name: str, *, outside: bool) -> None:
    rle, left, top, w, h = enc
    el = _sub(track, "mask", frame=str(frame), keyframe="1", outside="1" if outside else "0",
              occluded="0", rle=rle, left=str(left), top=str(top), width=str(w),
              height=str(h), z_order="0")
    _sub(el, "attribute", name, name="object")


def export_cvat(store: Store, out: str | Path, *, overwrite: bool = False,
                images: bool = False) -> dict:
    """Write CVAT for video 1.1 XML (``images``: CVAT for images 1.1) to ``out``
    (atomically); returns a summary."""
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out} is a folder: give the .xml file's name")
    tree, summary = (cvat_images_xml if images else cvat_xml)(store)
    ET.SubElement(tree.getroot().find("meta"), "avs_project").text = F.project_key(store)
    F.check_target(out, store, overwrite)
    ET.indent(tree)
    try:
        F.atomic_file(out, lambda tmp: tree.write(tmp, encoding="utf-8", xml_declaration=True))
    except OSError as exc:
        raise ExportError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    return {"path": str(out), **summary}


def read_annotations(path: Path, hw: tuple[int, int]) -> tuple[ET.Element, tuple[int, int]]:
    """The ``<annotations>`` root of a CVAT 1.1 XML file and its frames' ``(height, width)``
    (``original_size``; ``hw`` when the file does not say); a ``UserError`` naming the file
    when it is not one."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise UserError(f"{path}: not a CVAT XML file ({exc})") from None
    if root.tag != "annotations":
        raise UserError(f"{path}: not a CVAT XML file (root element <{root.tag}>)")
    osize = root.find("meta/task/original_size")
    if osize is None:
        osize = root.find("meta/job/original_size")
    if osize is None:
        return root, hw
    try:
        return root, (int(osize.findtext("height", hw[0])), int(osize.findtext("width", hw[1])))
    except ValueError:
        raise UserError(f"{path}: original_size is not two whole numbers") from None


def track_boxes(root: ET.Element) -> tuple[list[tuple], list[str]]:
    """The ``<box>`` keyframes of a CVAT for video file's tracks and of a CVAT for images
    file's images: ``(name, label, frame, (x0, y0, x1, y1) text, outside, where)`` each, and
    where the other shapes (masks, polygons …) are. A track's boxes with ``keyframe="0"`` are
    CVAT's own interpolation between its keyframes and are left out; each track is one object
    (named by its ``object`` attribute, else ``label id``)."""
    out: list[tuple] = []
    others: list[str] = []
    owners = [(t, True) for t in root.iter("track")] + [(i, False) for i in root.iter("image")]
    for owner, is_track in owners:
        for shape in owner:
            where = (f"track {owner.get('id')}" if is_track else f"image {owner.get('name')}") \
                + f" {shape.tag} on frame {shape.get('frame') if is_track else owner.get('id')}"
            if shape.tag != "box":
                if shape.tag in ("mask", "polygon", "polyline", "points", "skeleton"):
                    others.append(where)
                continue
            if is_track and shape.get("keyframe", "1") == "0":
                continue
            label = (owner.get("label") if is_track else shape.get("label")) or "object"
            attrs = {a.get("name"): a.text or "" for a in shape.findall("attribute")}
            default = f"{label} {owner.get('id')}" if is_track else \
                f"{label} {shape.get('group_id') or len(out) + 1}"
            frame = shape.get("frame") if is_track else owner.get("id")
            coords = tuple(shape.get(k) for k in ("xtl", "ytl", "xbr", "ybr"))
            out.append((attrs.get("object") or default, label, frame, coords,
                        shape.get("outside") == "1", where))
    return out, others


def import_cvat(store: Store, path: str | Path, *, fit: str = "error"):
    """Masks and polygons of a CVAT for video 1.1 (or images 1.1) XML; each track is one
    object. Everything is checked first; a bad shape imports nothing."""
    from pycocotools import mask as cocomask

    from annotator.core.importers import ImportError_, ImportReport, _fit, _object

    path = Path(path)
    hw = store.size_hw
    root, src_hw = read_annotations(path, hw)
    report = ImportReport()
    problems: list[str] = []
    decoded: list[tuple[str, str, int, np.ndarray]] = []
    seen: dict[tuple[str, int], str] = {}
    skipped: dict[str, int] = {}
    shapes = [(t, s) for t in root.iter("track") for s in t]
    shapes += [(img, s) for img in root.iter("image") for s in img]
    for owner, shape in shapes:
        if shape.tag not in ("mask", "polygon", "box", "polyline", "points", "skeleton"):
            continue
        is_track = owner.tag == "track"
        where = (f"track {owner.get('id')}" if is_track else f"image {owner.get('name')}") + \
            f" {shape.tag} on frame {shape.get('frame', owner.get('id'))}"
        if is_track and shape.get("outside") == "1":
            continue
        if shape.tag not in ("mask", "polygon"):
            skipped[shape.tag] = skipped.get(shape.tag, 0) + 1
            continue
        label = (owner.get("label") if is_track else shape.get("label")) or "object"
        attrs = {a.get("name"): a.text or "" for a in shape.findall("attribute")}
        if is_track:
            name = attrs.get("object") or f"{label} {owner.get('id')}"
        else:
            name = attrs.get("object") or f"{label} {len(decoded) + 1}"
        try:
            frame = int(shape.get("frame") if is_track else owner.get("id"))
            if not 0 <= frame < store.frame_count:
                raise ValueError(f"frame {frame} is outside the video (0–{store.frame_count - 1})")
            if shape.tag == "mask":
                arr = from_cvat_rle(shape.get("rle", ""), int(float(shape.get("left"))),
                                    int(float(shape.get("top"))), int(float(shape.get("width"))),
                                    int(float(shape.get("height"))), src_hw)
            else:
                pts = [float(v) for p in shape.get("points", "").split(";")
                       for v in p.split(",")]
                if len(pts) < 6:
                    raise ValueError("a polygon needs at least 3 points")
                rle = cocomask.merge(cocomask.frPyObjects([pts], *src_hw))
                arr = M.decode(M.to_compressed(rle))
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        arr = _fit(arr, hw[0], hw[1], f"{path.name} {where}", fit, report)
        if (name, frame) in seen:
            problems.append(f"{seen[name, frame]} and {where} are both {name!r} on frame "
                            f"{frame}: one would overwrite the other")
            continue
        seen[name, frame] = where
        decoded.append((name, label, frame, arr))
    if problems:
        raise ImportError_(path, problems)
    if skipped:
        report.fixes.append("skipped (not masks): " + ", ".join(
            f"{v} {k}{'es' if k == 'box' else 's'}" for k, v in sorted(skipped.items())))
    with store.transaction():
        op = store.new_op("import_masks", f"Import masks from {path.name}")
        report.op_id = op
        items = [dict(object_id=_object(store, name, cat, op, report), frame=frame, mask=arr,
                      source="imported", anchor=True) for name, cat, frame, arr in decoded]
        store.put_masks(items, op=op)
    report.masks = len(items)
    report.frames = len({d[2] for d in decoded})
    return report
