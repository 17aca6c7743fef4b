"""Export a project as COCO JSON with RLE masks (DAVIS / YouTube-VOS PNGs: export_vos).

``images[].file_name`` is the frame as the source names it (a frame folder's own file names, a
video's ``<stem>/<frame:06d>.jpg``); ``with_frames`` writes those frames beside the JSON, and
``layout="datumaro"`` writes ``annotations/instances_default.json`` + ``images/default/…``,
what ``datumaro.Dataset.import_from(dir, "coco")`` reads. Track identity is both the
annotation's ``track_id`` and ``attributes.track_id`` (CVAT / Datumaro keep only attributes).
A box-only segment (:mod:`annotator.core.export_boxes`) has one annotation per frame with a box,
the interpolated ones included: ``bbox``, ``area`` of the box, an empty ``segmentation`` and
``attributes.keyframe``; they follow the masks' annotations. Every annotation's
``attributes.review`` is its segment's review state (:mod:`annotator.core.review`: ``none``,
``needs_work``, ``fixed``, ``approved``, ``changed``) and ``attributes.reviewed_by`` the
reviewer ("" when none); ``audible_segments`` carry them too, with the reviewer's comment.

The COCO export checks itself before it reports success: ``pycocotools.coco.COCO`` loads the
file and ``annToMask`` gives back each stored mask pixel for pixel. Files are written
atomically (a temporary file or folder beside the target, then a rename).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from annotator.core import export_files as F
from annotator.core.export_boxes import box_only_boxes, coco_box_annotation
from annotator.core.export_files import ExportError
from annotator.core.review import review_attributes, segment_reviews
from annotator.core.store import Store

Progress = Callable[[int, int], None]
LAYOUTS = ("coco", "datumaro")
__all__ = ["ExportError", "coco_dict", "export_coco", "export_png", "frame_times", "verify_coco"]


def frame_times(store: Store) -> np.ndarray:
    """Seconds of every frame: from the stored frame index (VFR-correct), else from fps."""
    rec = store.video()
    if rec and rec.frame_index:
        from annotator.core.video_index import FrameIndex

        try:
            times = FrameIndex.from_bytes(rec.frame_index).times()
            if len(times) == rec.frame_count:
                return times
        except ValueError:
            pass  # a damaged index: fall back to the nominal rate
    return np.arange(store.frame_count) / rec.fps


def coco_dict(store: Store, *, progress: Progress | None = None) -> dict:
    rec = store.video()
    times = frame_times(store)
    video_name = Path(rec.path).name
    name_of = F.frame_namer(store)
    objects = store.objects()
    segs = store.segments()
    seg_of: dict[int, list] = {}
    for s in segs:
        seg_of.setdefault(s.object_id, []).append(s)
    cat_ids = {o.category_id for o in objects}
    categories = [{"id": cid, "name": name} for cid, name in store.categories() if cid in cat_ids]
    obj_by_id = {o.id: o for o in objects}
    reviews = segment_reviews(store)
    images: dict[int, dict] = {}
    annotations = []

    def image(frame: int) -> None:
        if frame not in images:
            images[frame] = {
                "id": frame + 1, "file_name": name_of(frame), "width": rec.width,
                "height": rec.height, "frame_index": frame, "timestamp": float(times[frame]),
                "video": video_name,
            }

    total = store.mask_count()
    for k, m in enumerate(store.iter_masks()):
        frame = m.frame
        image(frame)
        obj = obj_by_id[m.object_id]
        seg = next((s.id for s in seg_of.get(m.object_id, []) if frame in s), None)
        annotations.append({
            "id": len(annotations) + 1, "image_id": frame + 1,
            "segmentation": {"size": m.rle["size"], "counts": m.rle["counts"]},
            "area": int(m.area), "bbox": list(m.bbox), "iscrowd": 0,
            "category_id": obj.category_id, "track_id": m.object_id, "segment_id": seg,
            "attributes": {"track_id": m.object_id, "object": obj.name, "occluded": False,
                           **review_attributes(reviews, seg)},
            "source": m.source, "anchor": m.anchor, "flags": list(m.flags),
        })
        if progress and (k % 1000 == 0 or k + 1 == total):
            progress(k + 1, total)
    for b in box_only_boxes(store):
        image(b.frame)
        obj = obj_by_id[b.object_id]
        ann = coco_box_annotation(b, len(annotations) + 1, obj.category_id, obj.name)
        ann["attributes"].update(review_attributes(reviews, b.segment_id))
        annotations.append(ann)
    return {
        "info": {"avs_project": F.project_key(store),
                 "description": f"AVS Annotator export of {video_name}",
                 "video": rec.path, "frames": rec.frame_count, "fps": rec.fps},
        "images": [images[f] for f in sorted(images)],
        "annotations": annotations,
        "categories": categories,
        "objects": [{"track_id": o.id, "name": o.name, "category_id": o.category_id,
                     "color": o.color} for o in objects],
        "audible_segments": [{
            "id": s.id, "track_id": s.object_id, "object": obj_by_id[s.object_id].name,
            "category_id": obj_by_id[s.object_id].category_id,
            "start_frame": s.start, "end_frame": s.end,
            "start_time": float(times[s.start]), "end_time": float(times[s.end]),
            "status": s.status, **review_attributes(reviews, s.id),
            "review_comment": reviews[s.id].comment if s.id in reviews else None,
            "review_frame": reviews[s.id].frame if s.id in reviews else None,
        } for s in segs],
    }


PIXEL_SAMPLE = 2000


def verify_coco(path: Path, store: Store) -> int:
    """Load ``path`` with pycocotools and check every mask against the store; returns count.

    Every annotation: pycocotools' own RLE of it (``annToRLE``) must have the stored area and
    an IoU of exactly 1 with the stored mask, computed on the run lengths — that is pixel
    equality, at microseconds per mask. In addition ``annToMask`` decodes up to
    :data:`PIXEL_SAMPLE` annotations (all of them in smaller exports, spread evenly otherwise)
    and they are compared array to array with the store's decoding.
    """
    import contextlib
    import io

    from pycocotools import mask as cocomask
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints progress
        coco = COCO(str(path))
    anns = [a for a in coco.dataset["annotations"] if a.get("segmentation") != []]
    _verify_boxes(path, [a for a in coco.dataset["annotations"] if a.get("segmentation") == []],
                  store)
    step = max(1, len(anns) // PIXEL_SAMPLE)
    stored_iter = store.iter_masks()
    for k, ann in enumerate(anns):
        frame = coco.imgs[ann["image_id"]]["frame_index"]
        stored = next(stored_iter, None)  # same (frame, object) order as the export
        ok = stored is not None and (stored.frame, stored.object_id) == (frame, ann["track_id"])
        if ok:
            got = coco.annToRLE(ann)
            want = {"size": stored.rle["size"], "counts": stored.rle["counts"].encode()}
            area = int(cocomask.area(got))
            ok = area == stored.area and (
                area == 0 or cocomask.iou([got], [want], [0])[0, 0] == 1.0)
        if ok and k % step == 0:
            ok = np.array_equal(coco.annToMask(ann).astype(bool), stored.decode())
        if not ok:
            raise ExportError(f"{path}: mask of object {ann['track_id']} on frame {frame} "
                              "does not decode to what the project holds; nothing was exported")
    if next(stored_iter, None) is not None:
        raise ExportError(f"{path}: the file holds fewer masks than the project; nothing was "
                          "exported")
    return len(coco.dataset["annotations"])


def _verify_boxes(path: Path, anns: list[dict], store: Store) -> None:
    """The box annotations read back are the project's box-only boxes, in order."""
    want = box_only_boxes(store)
    got = [(a["image_id"] - 1, a["track_id"], tuple(a["bbox"])) for a in anns]
    if got != [(b.frame, b.object_id, (b.box[0], b.box[1], b.box[2] - b.box[0],
                                       b.box[3] - b.box[1])) for b in want]:
        raise ExportError(f"{path}: the boxes read back differ from the project's; nothing "
                          "was exported")


def export_coco(store: Store, out: str | Path, *, with_frames: bool = False,
                layout: str = "coco", overwrite: bool = False, video=None,
                progress: Progress | None = None) -> dict:
    """Write COCO JSON after verifying it; returns a summary.

    ``layout="coco"`` without frames: ``out`` is the JSON file. With ``with_frames`` it is a
    folder holding ``annotations.json`` and the frames under their ``file_name``s;
    ``layout="datumaro"`` (always with frames): ``annotations/instances_default.json`` and
    ``images/default/<file_name>``. ``out`` is refused when it exists and is not an earlier
    export of this project, unless ``overwrite``.
    """
    if layout not in LAYOUTS:
        raise ExportError(f"unknown COCO layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    out = Path(out)
    data = coco_dict(store, progress=progress)
    boxes = sum(1 for a in data["annotations"] if a["segmentation"] == [])
    summary = {"path": str(out), "images": len(data["images"]),
               "annotations": len(data["annotations"]) - boxes, "boxes": boxes, "categories": len(data["categories"]),
               "audible_segments": len(data["audible_segments"]), "frames_written": 0}

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        verify_coco(tmp, store)

    if layout == "coco" and not with_frames:
        if out.is_dir():
            raise ExportError(f"{out} is a folder: give a .json file name, or add --with-frames "
                              "to write the JSON and its frames into a folder")
        F.check_target(out, store, overwrite)
        try:
            F.atomic_file(out, write)
        except OSError as exc:
            raise ExportError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
        return summary
    ann_rel, img_rel = (("annotations.json", ".") if layout == "coco"
                        else ("annotations/instances_default.json", "images/default"))

    def fill(tmp: Path) -> None:
        (tmp / ann_rel).parent.mkdir(parents=True, exist_ok=True)
        write(tmp / ann_rel)
        names = {im["frame_index"]: im["file_name"] for im in data["images"]}
        summary["frames_written"] = F.write_frames(
            store, sorted(names), tmp / img_rel, names.__getitem__, video=video)

    F.atomic_dir(out, store, overwrite, fill, {"format": "coco", "layout": layout})
    summary["json"] = str(out / ann_rel)
    return summary


def export_png(store: Store, out_dir: str | Path, *, all_frames: bool = False,
               overwrite: bool = False, progress: Progress | None = None) -> dict:
    """Indexed PNGs (DAVIS style, ids 1..N): see :func:`annotator.core.export_vos.export_davis`;
    without ``all_frames`` only frames that hold a mask are written."""
    from annotator.core.export_vos import export_davis

    return export_davis(store, out_dir, all_frames=all_frames, overwrite=overwrite,
                        progress=progress)
