"""Export a project as COCO JSON with RLE masks, or as indexed PNG masks per frame.

The COCO export checks itself before it reports success: ``pycocotools.coco.COCO`` loads the
file and ``annToMask`` gives back each stored mask pixel for pixel. Files are written
atomically (a temporary file beside the target, then a rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from annotator.core.store import Store
from annotator.errors import UserError

Progress = Callable[[int, int], None]


class ExportError(UserError):
    """The export could not be written or did not verify."""


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


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def coco_dict(store: Store, *, progress: Progress | None = None) -> dict:
    rec = store.video()
    times = frame_times(store)
    video_name = Path(rec.path).name
    objects = store.objects()
    segs = store.segments()
    seg_of: dict[int, list] = {}
    for s in segs:
        seg_of.setdefault(s.object_id, []).append(s)
    cat_ids = {o.category_id for o in objects}
    categories = [{"id": cid, "name": name} for cid, name in store.categories() if cid in cat_ids]
    obj_by_id = {o.id: o for o in objects}
    images, annotations = [], []
    total = store.mask_count()
    for k, m in enumerate(store.iter_masks()):
        frame = m.frame
        if not images or images[-1]["frame_index"] != frame:
            images.append({
                "id": frame + 1, "file_name": f"{frame:06d}.jpg", "width": rec.width,
                "height": rec.height, "frame_index": frame, "timestamp": float(times[frame]),
                "video": video_name,
            })
        obj = obj_by_id[m.object_id]
        seg = next((s.id for s in seg_of.get(m.object_id, []) if frame in s), None)
        annotations.append({
            "id": len(annotations) + 1, "image_id": frame + 1,
            "segmentation": {"size": m.rle["size"], "counts": m.rle["counts"]},
            "area": int(m.area), "bbox": list(m.bbox), "iscrowd": 0,
            "category_id": obj.category_id, "track_id": m.object_id, "segment_id": seg,
            "source": m.source, "anchor": m.anchor, "flags": list(m.flags),
        })
        if progress and (k % 1000 == 0 or k + 1 == total):
            progress(k + 1, total)
    return {
        "info": {"description": f"AVS Annotator export of {video_name}",
                 "video": rec.path, "frames": rec.frame_count, "fps": rec.fps},
        "images": images,
        "annotations": annotations,
        "categories": categories,
        "objects": [{"track_id": o.id, "name": o.name, "category_id": o.category_id,
                     "color": o.color} for o in objects],
        "audible_segments": [{
            "id": s.id, "track_id": s.object_id, "object": obj_by_id[s.object_id].name,
            "category_id": obj_by_id[s.object_id].category_id,
            "start_frame": s.start, "end_frame": s.end,
            "start_time": float(times[s.start]), "end_time": float(times[s.end]),
            "status": s.status,
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
    anns = coco.dataset["annotations"]
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
    return len(anns)


def export_coco(store: Store, out: str | Path, *, progress: Progress | None = None) -> dict:
    """Write COCO JSON to ``out`` (atomically) after verifying it; returns a summary."""
    out = Path(out)
    data = coco_dict(store, progress=progress)

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        verify_coco(tmp, store)

    try:
        _atomic_write(out, write)
    except OSError as exc:
        raise ExportError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    return {"path": str(out), "images": len(data["images"]),
            "annotations": len(data["annotations"]), "categories": len(data["categories"]),
            "audible_segments": len(data["audible_segments"])}


def palette(colors: dict[int, str]) -> list[int]:
    """A 256-entry PNG palette: index = object id, colour = the object's colour."""
    pal = [0, 0, 0] * 256
    for idx, color in colors.items():
        if 0 < idx < 256:
            c = color.lstrip("#")
            pal[idx * 3:idx * 3 + 3] = [int(c[i:i + 2], 16) for i in (0, 2, 4)]
    return pal


def export_png(store: Store, out_dir: str | Path, *, all_frames: bool = False,
               progress: Progress | None = None) -> dict:
    """Indexed PNG masks per frame (DAVIS style): pixel value = object id (≤ 255).

    Overlaps go to the object with the higher id. Frames without masks are skipped unless
    ``all_frames`` (then they are written empty, as VOS evaluation expects).
    """
    out_dir = Path(out_dir)
    objects = store.objects()
    if any(o.id > 255 for o in objects):
        raise ExportError("PNG export holds at most 255 object ids; export COCO instead")
    h, w = store.size_hw
    pal = palette({o.id: o.color for o in objects})
    frames = range(store.frame_count) if all_frames else store.masked_frames()
    frames = list(frames)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out_dir}: cannot create the folder ({exc.strerror})") from None
    for k, frame in enumerate(frames):
        label = np.zeros((h, w), np.uint8)
        for oid, m in sorted(store.frame_masks(frame).items()):
            label[m.decode()] = oid
        img = Image.fromarray(label, mode="P")
        img.putpalette(pal)
        _atomic_write(out_dir / f"{frame:05d}.png", lambda p, img=img: img.save(p, format="PNG"))
        if progress:
            progress(k + 1, len(frames))
    return {"path": str(out_dir), "frames": len(frames)}
