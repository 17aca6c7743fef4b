"""Indexed PNG masks as the video object segmentation benchmarks lay them out.

- **DAVIS** (``export_davis``): one indexed PNG per frame (``00000.png`` …, the source frame's
  stem for a frame folder), empty frames included, pixel value = the object's position 1..N
  among the exported objects (in creation order, whatever ids the project gave them), the
  DAVIS palette, and ``objects.json`` (id → name, category, track). This is the folder a DAVIS
  evaluator reads as one sequence (``results/<sequence>/``).
- **YouTube-VOS** (``export_youtube_vos``): ``Annotations/<video>/<frame>.png`` on the frames
  that hold a mask, ``JPEGImages/<video>/<frame>.jpg`` with ``with_frames``, and ``meta.json``
  ``{"videos": {video: {"objects": {"1": {"category": …, "frames": [stem, …]}}}}}``.

Where masks of two objects overlap the pixel goes to the later object (the higher index).
Both write atomically: a temporary sibling folder, then one rename.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from annotator.core import export_files as F
from annotator.core.export_files import ExportError
from annotator.core.records import ObjectRecord
from annotator.core.store import Store

Progress = Callable[[int, int], None]


def davis_palette() -> list[int]:
    """The palette of the DAVIS annotations (index i → the colour the benchmark uses)."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def vos_objects(store: Store) -> list[tuple[int, ObjectRecord]]:
    """``(index 1..N, object)`` of the objects that hold at least one mask, in creation order."""
    with_masks = {oid for (oid,) in store._q("SELECT DISTINCT object_id FROM masks")}
    objs = [o for o in store.objects() if o.id in with_masks]
    if len(objs) > 255:
        raise ExportError(f"{len(objs)} objects with masks: indexed PNGs hold at most 255; "
                          "export COCO instead")
    return list(enumerate(objs, start=1))


def label_image(store: Store, frame: int, index_of: dict[int, int]) -> np.ndarray:
    h, w = store.size_hw
    label = np.zeros((h, w), np.uint8)
    for oid, m in sorted(store.frame_masks(frame).items(), key=lambda kv: index_of.get(kv[0], 0)):
        if oid in index_of:
            label[m.decode()] = index_of[oid]
    return label


def _save(label: np.ndarray, path: Path, pal: list[int]) -> None:
    img = Image.fromarray(label, mode="P")
    img.putpalette(pal)
    img.save(path, format="PNG")


def objects_json(objs: list[tuple[int, ObjectRecord]]) -> dict:
    return {str(i): {"name": o.name, "category": o.category, "track_id": o.id, "color": o.color}
            for i, o in objs}


def export_davis(store: Store, out_dir: str | Path, *, all_frames: bool = True,
                 overwrite: bool = False, progress: Progress | None = None) -> dict:
    """DAVIS layout in ``out_dir`` (see the module doc); ``all_frames=False`` writes only the
    frames that hold a mask (not what an evaluator expects)."""
    out_dir = Path(out_dir)
    objs = vos_objects(store)
    index_of = {o.id: i for i, o in objs}
    stem = F.frame_stem(store)
    frames = list(range(store.frame_count)) if all_frames else store.masked_frames()
    pal = davis_palette()

    def fill(tmp: Path) -> None:
        for k, frame in enumerate(frames):
            _save(label_image(store, frame, index_of), tmp / f"{stem(frame)}.png", pal)
            if progress:
                progress(k + 1, len(frames))
        (tmp / "objects.json").write_text(json.dumps(objects_json(objs), indent=1),
                                          encoding="utf-8")

    F.atomic_dir(out_dir, store, overwrite, fill, {"format": "davis"})
    return {"path": str(out_dir), "frames": len(frames), "objects": len(objs)}


def export_youtube_vos(store: Store, out_dir: str | Path, *, with_frames: bool = False,
                       overwrite: bool = False, video=None,
                       progress: Progress | None = None) -> dict:
    """YouTube-VOS layout in ``out_dir`` (see the module doc)."""
    out_dir = Path(out_dir)
    objs = vos_objects(store)
    index_of = {o.id: i for i, o in objs}
    stem = F.frame_stem(store)
    name = F.sequence_name(store)
    frames = store.masked_frames()
    pal = davis_palette()

    def fill(tmp: Path) -> None:
        ann = tmp / "Annotations" / name
        ann.mkdir(parents=True)
        seen: dict[int, list[str]] = {i: [] for i, _o in objs}
        for k, frame in enumerate(frames):
            label = label_image(store, frame, index_of)
            for i in np.unique(label):
                if i:
                    seen[int(i)].append(stem(frame))
            _save(label, ann / f"{stem(frame)}.png", pal)
            if progress:
                progress(k + 1, len(frames))
        meta = {"videos": {name: {"objects": {
            str(i): {"category": o.category, "name": o.name, "track_id": o.id,
                     "frames": seen[i]} for i, o in objs}}}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if with_frames:
            namer = F.frame_namer(store)
            F.write_frames(store, frames, tmp / "JPEGImages" / name,
                           lambda f: stem(f) + (Path(namer(f)).suffix or ".jpg"), video=video)

    F.atomic_dir(out_dir, store, overwrite, fill, {"format": "youtube-vos"})
    return {"path": str(out_dir), "frames": len(frames), "objects": len(objs), "video": name}
