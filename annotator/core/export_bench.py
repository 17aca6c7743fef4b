"""Two benchmark JSON layouts beside LU-AVS's own (:mod:`annotator.core.lu_avs`):

- **UnAV** (``export_unav``), the temporal layout of UnAV-100 (audio-visual event
  localisation): ``{"database": {video_id: {"duration", "subset", "annotations":
  [{"segment": [t0, t1], "label", "label_id"}]}}}`` in seconds; ``t0`` is when the first frame
  of the segment starts and ``t1`` when its last frame ends (``(end + 1) / fps`` on a constant
  rate; the frame index's own times on a variable one), so back-to-back segments share a time.
- **AVIS** (``export_avis``), the AVISeg / YouTube-VIS instance layout: ``videos`` (``id``,
  ``file_names`` for every frame, ``height``, ``width``, ``length``), ``categories``, and one
  ``annotation`` per object over the whole video with per-frame ``segmentations`` (compressed
  RLE, or null where the object has no mask or is not sounding), ``bboxes`` (``[x, y, w, h]``
  or null) and ``areas``; ``audible_segments`` lists the object's spans (an extra key). A
  box-only segment's frames have their box track's ``bboxes`` and ``areas`` (of the box) and a
  null segmentation.

Both are written atomically and read back before they are reported.
"""

from __future__ import annotations

import json
from pathlib import Path

from annotator.core import export_files as F
from annotator.core.box_tracks import xywh
from annotator.core.export import frame_times
from annotator.core.export_boxes import box_only_boxes
from annotator.core.export_files import ExportError
from annotator.core.lu_avs import SUBSETS, groups
from annotator.core.store import Store
from annotator.errors import UserError


def unav_dict(store: Store, *, subset: str = "train", video_id: str | None = None) -> dict:
    if subset not in SUBSETS:
        raise UserError(f"subset {subset!r} is not one of {SUBSETS}")
    rec = store.video()
    times = frame_times(store)
    step = 1.0 / rec.fps

    def end_time(f: int) -> float:
        return float(times[f + 1]) if f + 1 < len(times) else float(times[f]) + step

    anns = [{"segment": [round(float(times[g.start]), 3), round(end_time(g.end), 3)],
             "label": g.label, "label_id": g.label_id} for g in groups(store)]
    vid = video_id or F.sequence_name(store)
    duration = rec.duration or (end_time(store.frame_count - 1) if len(times) else 0.0)
    return {"avs_project": F.project_key(store),
            "database": {vid: {"duration": round(float(duration), 3), "subset": subset,
                               "annotations": anns}}}


def avis_dict(store: Store, *, video_id: str | None = None) -> dict:
    rec = store.video()
    n = store.frame_count
    name_of = F.frame_namer(store)
    vid = video_id or F.sequence_name(store)
    objects = store.objects()
    cat_ids = {o.category_id for o in objects}
    annotations = []
    box_only: dict[int, list] = {}
    for b in box_only_boxes(store):
        box_only.setdefault(b.object_id, []).append(b)
    for o in objects:
        spans = [(s.start, s.end) for s in store.segments(o.id)]
        segs, boxes, areas = [None] * n, [None] * n, [None] * n
        for m in store.masks_of(o.id):
            if m.rle is None or not m.area or not any(a <= m.frame <= b for a, b in spans):
                continue
            segs[m.frame] = {"size": list(m.rle["size"]), "counts": m.rle["counts"]}
            boxes[m.frame], areas[m.frame] = list(m.bbox), int(m.area)
        for b in box_only.get(o.id, []):
            boxes[b.frame] = xywh(b.box)
            areas[b.frame] = boxes[b.frame][2] * boxes[b.frame][3]
        if not spans:
            continue
        annotations.append({"id": len(annotations) + 1, "video_id": 1,
                            "category_id": o.category_id, "iscrowd": 0,
                            "height": rec.height, "width": rec.width, "length": 1,
                            "segmentations": segs, "bboxes": boxes, "areas": areas,
                            "name": o.name, "audible_segments": [list(s) for s in spans]})
    return {"avs_project": F.project_key(store),
            "info": {"description": "AVS Annotator export (AVIS / YouTube-VIS layout)"},
            "videos": [{"id": 1, "name": vid, "file_names": [name_of(f) for f in range(n)],
                        "height": rec.height, "width": rec.width, "length": n,
                        "fps": float(rec.fps)}],
            "categories": [{"id": cid, "name": name} for cid, name in store.categories()
                           if cid in cat_ids],
            "annotations": annotations}


def _write_json(store: Store, out: Path, data: dict, overwrite: bool) -> None:
    F.check_target(out, store, overwrite)

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        if json.loads(tmp.read_text(encoding="utf-8")) != data:
            raise ExportError(f"{out}: read back differs from what was written")

    try:
        F.atomic_file(out, write)
    except OSError as exc:
        raise F.cannot(out, "write", exc) from None


def export_unav(store: Store, out: str | Path, *, subset: str = "train",
                video_id: str | None = None, overwrite: bool = False) -> dict:
    out = Path(out)
    data = unav_dict(store, subset=subset, video_id=video_id)
    _write_json(store, out, data, overwrite)
    (vid, entry), = data["database"].items()
    return {"path": str(out), "video_id": vid, "segments": len(entry["annotations"])}


def export_avis(store: Store, out: str | Path, *, video_id: str | None = None,
                overwrite: bool = False) -> dict:
    out = Path(out)
    data = avis_dict(store, video_id=video_id)
    _write_json(store, out, data, overwrite)
    masks = sum(s is not None for a in data["annotations"] for s in a["segmentations"])
    return {"path": str(out), "video_id": data["videos"][0]["name"],
            "tracks": len(data["annotations"]), "masks": masks}
