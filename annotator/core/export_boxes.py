"""Boxes in the exports: the box tracks of box-only segments (keyframes, interpolated and
tracked boxes: :mod:`annotator.core.box_tracks`) and every mask's tight box, frame by frame.

:func:`box_only_boxes` is what COCO (``bbox`` with no ``segmentation``), LU-AVS
(``bbox.npy`` of box-only segments) and CVAT (``<box>`` tracks, ``<box>`` shapes of CVAT for
images) write beside the masks;
:func:`all_boxes` adds the masks' boxes for box-only formats, as the MOTChallenge layout
(:func:`export_mot`): ``OUT/<sequence>/gt/gt.txt`` with one line
``frame,id,bb_left,bb_top,bb_width,bb_height,1,-1,-1,-1`` per object and frame (frames counted
from 1, as MOTChallenge does; ``id`` the object's track id) and ``seqinfo.ini``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from annotator.core import export_files as F
from annotator.core.box_tracks import Box, box_only, segment_track
from annotator.core.export_files import ExportError
from annotator.core.store import Store


@dataclass(frozen=True)
class FrameBox:
    """One object's box on one frame, as an export writes it."""

    frame: int
    object_id: int
    segment_id: int | None
    box: Box | None  # None: an outside keyframe (not visible from here)
    source: str  # drawn, imported, tracked, interpolated, mask
    keyframe: bool
    outside: bool = False


def box_only_segments(store: Store) -> list:
    """The segments annotated with boxes instead of masks (a keyframe and no mask)."""
    live = {o.id for o in store.objects()}
    return [s for s in store.segments() if s.object_id in live
            and box_only(store, s.object_id, s.start, s.end)]


def box_only_boxes(store: Store, *, outside: bool = False) -> list[FrameBox]:
    """Every box of the box-only segments, by (frame, object); ``outside``: the outside
    keyframes too (``box`` None)."""
    out = []
    for s in box_only_segments(store):
        for t in segment_track(store, s.object_id, s.start, s.end):
            if t.box is not None or outside:
                out.append(FrameBox(t.frame, s.object_id, s.id, t.box, t.source, t.keyframe,
                                    t.outside))
    return sorted(out, key=lambda b: (b.frame, b.object_id))


def all_boxes(store: Store) -> list[FrameBox]:
    """Each live object's box on every frame it has one: its mask's tight box, or its box
    track where a segment is box-only; by (frame, object)."""
    segs: dict[int, list] = {}
    for s in store.segments():
        segs.setdefault(s.object_id, []).append(s)
    out = [FrameBox(m.frame, m.object_id,
                    next((s.id for s in segs.get(m.object_id, []) if m.frame in s), None),
                    (m.bbox[0], m.bbox[1], m.bbox[0] + m.bbox[2], m.bbox[1] + m.bbox[3]),
                    "mask", m.anchor)
           for m in store.iter_masks() if m.bbox and m.area]
    return sorted(out + box_only_boxes(store), key=lambda b: (b.frame, b.object_id))


def coco_box_annotation(b: FrameBox, ann_id: int, category_id: int, name: str) -> dict:
    """The COCO annotation of a box-only box: ``bbox`` and ``area`` of the box, an empty
    ``segmentation`` (Datumaro's way of saying: a box)."""
    x0, y0, x1, y1 = b.box
    return {"id": ann_id, "image_id": b.frame + 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
            "area": (x1 - x0) * (y1 - y0), "segmentation": [], "iscrowd": 0,
            "category_id": category_id, "track_id": b.object_id, "segment_id": b.segment_id,
            "attributes": {"track_id": b.object_id, "object": name, "occluded": False,
                           "keyframe": b.keyframe, "outside": False},
            "source": b.source, "anchor": False, "flags": []}


def mot_rows(store: Store) -> np.ndarray:
    """The MOTChallenge rows of the project: ``N×10`` float64 (see the module docstring)."""
    rows = [(b.frame + 1, b.object_id, b.box[0], b.box[1], b.box[2] - b.box[0],
             b.box[3] - b.box[1], 1, -1, -1, -1) for b in all_boxes(store)]
    return np.array(rows, np.float64).reshape(-1, 10)


def export_mot(store: Store, out: str | Path, *, overwrite: bool = False) -> dict:
    """Write the MOTChallenge layout into the folder ``out`` (read back before it is
    moved into place); returns a summary."""
    out = Path(out)
    rows = mot_rows(store)
    seq = F.sequence_name(store)
    rec = store.video()

    def fill(tmp: Path) -> None:
        gt = tmp / seq / "gt" / "gt.txt"
        gt.parent.mkdir(parents=True)
        np.savetxt(gt, rows, fmt=["%d", "%d", "%.17g", "%.17g", "%.17g", "%.17g", "%d", "%d",
                                  "%d", "%d"], delimiter=",")
        (tmp / seq / "seqinfo.ini").write_text(
            f"[Sequence]\nname={seq}\nimDir=img1\nframeRate={rec.fps:g}\n"
            f"seqLength={rec.frame_count}\nimWidth={rec.width}\nimHeight={rec.height}\n"
            "imExt=.jpg\n", encoding="utf-8")
        back = np.loadtxt(gt, delimiter=",", ndmin=2).reshape(-1, 10)
        if back.shape != rows.shape or not np.array_equal(back, rows):
            raise ExportError(f"{gt}: the boxes read back differ from the project's; nothing "
                              "was exported")

    F.atomic_dir(out, store, overwrite, fill, {"format": "mot"})
    return {"path": str(out), "sequence": seq, "boxes": len(rows),
            "objects": len({int(r[1]) for r in rows}),
            "frames": len({int(r[0]) for r in rows})}


# -- CVAT ---------------------------------------------------------------------------------------
def _box_attrs(box: Box) -> dict[str, str]:
    x0, y0, x1, y1 = box
    return {"xtl": f"{x0:.2f}", "ytl": f"{y0:.2f}", "xbr": f"{x1:.2f}", "ybr": f"{y1:.2f}"}


def cvat_box_tracks(store: Store, first_id: int) -> list[ET.Element]:
    """CVAT for video ``<track>``s of the box-only segments, one per object (ids from
    ``first_id``): a ``<box>`` per frame with a box (``keyframe`` 1 on keyframes; CVAT
    interpolates the others the same way), an ``outside`` box on outside keyframes and on the
    frame after each run, as CVAT closes a track."""
    by_obj: dict[int, list[FrameBox]] = {}
    for b in box_only_boxes(store, outside=True):
        by_obj.setdefault(b.object_id, []).append(b)
    objects = {o.id: o for o in store.objects()}
    n = store.frame_count
    out = []
    for k, (oid, boxes) in enumerate(sorted(by_obj.items())):
        obj = objects[oid]
        track = ET.Element("track", id=str(first_id + k), label=obj.category, source="manual")
        last: Box | None = None
        prev = -2
        for b in boxes:
            if b.outside:
                stored = store.box(oid, b.frame)
                coords = stored.box if stored is not None and stored.box else last
                if coords is not None:
                    _box_el(track, b.frame, coords, obj.name, keyframe=True, outside=True)
                last, prev = None, b.frame
                continue
            if last is not None and b.frame != prev + 1:
                _box_el(track, prev + 1, last, obj.name, keyframe=True, outside=True)
            _box_el(track, b.frame, b.box, obj.name, keyframe=b.keyframe or b.frame != prev + 1,
                    outside=False)
            last, prev = b.box, b.frame
        if last is not None and prev + 1 < n:
            _box_el(track, prev + 1, last, obj.name, keyframe=True, outside=True)
        out.append(track)
    return out


def _box_el(track: ET.Element, frame: int, box: Box, name: str, *, keyframe: bool,
            outside: bool) -> None:
    el = ET.SubElement(track, "box", frame=str(frame), keyframe="1" if keyframe else "0",
                       outside="1" if outside else "0", occluded="0", **_box_attrs(box),
                       z_order="0")
    ET.SubElement(el, "attribute", name="object").text = name


def cvat_image_box(image: ET.Element, b: FrameBox, category: str, name: str,
                   track_id: int) -> None:
    """A CVAT for images ``<box>`` in ``image``, with the object and track attributes."""
    el = ET.SubElement(image, "box", label=category, source="manual", occluded="0",
                       **_box_attrs(b.box), z_order="0")
    ET.SubElement(el, "attribute", name="object").text = name
    ET.SubElement(el, "attribute", name="track_id").text = str(track_id)
