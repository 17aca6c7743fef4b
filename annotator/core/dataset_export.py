"""One deliverable for a whole dataset: every video's project through its own exporter, then
joined, with the vocabulary's label ids and the splits' subsets.

``OUT`` is a folder, built in a hidden sibling and moved into place by one rename
(:func:`annotator.core.export_files.atomic_dir_of`: a kill leaves no half-written ``OUT``, and
exporting again replaces an earlier export of the same dataset only)::

    lu-avs   seg_<subset>.json, bbox_segs_<subset>.json, <subset>/<video>__<label>__st__…/,
             format.json                         (annotator.core.lu_avs, per video, joined)
    coco     instances_<subset>.json             (annotator.core.export, per video, joined;
                                                  file_name <video_id>/<frame>, global ids)
    avis     <subset>.json                       (annotator.core.export_bench.avis_dict)
    unav     annotations.json                    (one "database", each video with its subset)
    every    dataset.json                        the videos and subsets, the vocabulary, counts

Every category an object of an exported project uses must be accepted (it has a label id);
a proposed one stops the export before anything is written, naming it and its videos.
Each project is read from a snapshot of its store (SQLite's backup of the file, taken
without the project's lock, made inside the export's hidden folder and removed after): an
export runs while annotators work and holds, of each video, what its project had committed
when the snapshot was taken. ``approved_only`` keeps, in each snapshot, only the segments
whose review state in that snapshot is ``approved`` (:func:`annotator.core.review.segment_reviews`:
the newest verdict approves it and nothing changed since), and their masks and boxes. The
project exporters write each segment's ``review`` and ``reviewed_by`` (COCO, LU-AVS); the
joined files keep them.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path

from annotator.core import export_files as F
from annotator.core.dataset_summary import summaries
from annotator.core.export_files import ExportError
from annotator.core.project import DB_NAME, is_project
from annotator.core.review import segment_reviews
from annotator.core.store import Store
from annotator.core.vocabulary import label_ids
from annotator.core.words import plural
from annotator.errors import UserError

FORMATS = ("lu-avs", "coco", "unav", "avis")


def export_dataset(ds, fmt: str, out: str | Path, *, approved_only: bool = False,
                   overwrite: bool = False, on_line=print) -> dict:
    """Write the dataset as ``fmt`` into the folder ``out`` (see the module doc)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown dataset export format {fmt!r}: one of {', '.join(FORMATS)}")
    out = Path(out)
    ids = label_ids(ds)
    _check_vocabulary(ds, ids)
    splits = ds.splits()
    videos = ds.videos()
    summary = {"path": str(out), "format": fmt, "videos": len(videos), "segments": 0,
               "masks": 0, "subsets": {}}

    def fill(tmp: Path) -> None:
        joined = _Joined(fmt, ids)
        for k, v in enumerate(videos):
            subset = splits[v.video_id]
            if not is_project(v.project):
                raise UserError(f"{v.project}: no project there; run 'annotator dataset "
                                f"check {ds.root}'; nothing was exported")
            with _snapshot(v.project, v.video_id, approved_only, tmp) as store:
                part = joined.add(store, v.video_id, subset, tmp)
            summary["segments"] += part["segments"]
            summary["masks"] += part.get("masks", 0)
            summary["subsets"][subset] = summary["subsets"].get(subset, 0) + 1
            on_line(f"  [{k + 1}/{len(videos)}] {v.video_id} ({subset}): "
                    f"{plural(part['segments'], 'segment')}")
        joined.write(tmp)
        manifest = {"dataset": str(ds.root), "format": fmt, "approved_only": approved_only,
                    "videos": {v.video_id: splits[v.video_id] for v in videos},
                    "vocabulary": [{"label_id": i, "label": lab}
                                   for lab, i in sorted(ids.items(), key=lambda x: x[1])],
                    "segments": summary["segments"], "masks": summary["masks"]}
        (tmp / "dataset.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    F.atomic_dir_of(out, str(ds.path), overwrite, fill, {"format": f"dataset-{fmt}"},
                    what="dataset")
    return summary


def _check_vocabulary(ds, ids: dict[str, int]) -> None:
    """Every category the projects' objects use has a label id, else one line naming them."""
    missing: dict[str, list[str]] = {}
    for vid, s in summaries(ds).items():
        if "error" in s:
            raise UserError(f"{s['error']} (video {vid}); nothing was exported")
        for cat in s["categories"]:
            if cat not in ids:
                missing.setdefault(cat, []).append(vid)
    if missing:
        cat, vids = sorted(missing.items())[0]
        more = f" (and {plural(len(missing) - 1, 'other category', 'other categories')})" \
            if len(missing) > 1 else ""
        raise UserError(f"category {cat!r} of {', '.join(vids[:3])}{', …' if len(vids) > 3 else ''}"
                        f" is proposed, not in the vocabulary{more}: accept it with 'annotator "
                        f"dataset accept {ds.root} {cat}', or rename or merge it; nothing was "
                        "exported")


@contextlib.contextmanager
def _snapshot(project_dir: Path, video_id: str, approved_only: bool, tmp: Path):
    """A read-only store on a copy of the project's store as it is now (SQLite's backup, one
    step: one consistent snapshot, however the project's annotator writes meanwhile), holding
    only the approved segments (and their masks and boxes) when ``approved_only``."""
    folder = tmp / ".snapshots" / video_id
    folder.mkdir(parents=True)
    src = sqlite3.connect(f"{(project_dir / DB_NAME).resolve().as_uri()}?mode=ro", uri=True,
                          timeout=60)
    dst = sqlite3.connect(folder / DB_NAME)
    try:
        src.backup(dst)
        if approved_only:
            dst.commit()
            with Store(folder / DB_NAME, readonly=True) as snap:
                keep = {sid for sid, r in segment_reviews(snap).items()
                        if r.state == "approved"}
            marks = ",".join("?" * len(keep))  # (NOT IN (NULL) would keep every segment)
            dst.execute("UPDATE segments SET deleted=1" + (f" WHERE id NOT IN ({marks})"
                                                           if keep else ""), tuple(keep))
            for table in ("masks", "boxes"):
                dst.execute(f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM segments s "
                            f"WHERE s.deleted=0 AND s.object_id={table}.object_id AND "
                            f"{table}.frame BETWEEN s.start_frame AND s.end_frame)")
            dst.commit()
    except sqlite3.Error as exc:
        raise UserError(f"{project_dir / DB_NAME}: cannot be read for the export ({exc}); "
                        f"run 'annotator check {project_dir}'") from None
    finally:
        src.close()
        dst.close()
    store = Store(folder / DB_NAME, readonly=True)
    try:
        yield store
    finally:
        store.close()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


class _Joined:
    """The per-video exports, joined into one deliverable."""

    def __init__(self, fmt: str, ids: dict[str, int]) -> None:
        self.fmt, self.ids = fmt, ids
        self.by_subset: dict[str, dict] = {}
        self.extra: dict[str, list] = {"without_masks": [], "joined": []}

    def add(self, store: Store, vid: str, subset: str, tmp: Path) -> dict:
        from annotator.core import export, export_bench, lu_avs

        cats = dict(store.categories())
        label_of = {cid: self.ids[name] for cid, name in cats.items() if name in self.ids}
        if self.fmt == "lu-avs":
            part = tmp / ".parts" / vid
            res = lu_avs.export_lu_avs(store, part, subset=subset, video_id=vid)
            self._lu_avs(part, subset)
            self.extra["without_masks"] += res["without_masks"]
            self.extra["joined"] += res["joined"]
            return {"segments": res["segments"] + res["box_segments"], "masks": res["frames"]}
        if self.fmt == "unav":
            data = export_bench.unav_dict(store, subset=subset, video_id=vid)["database"]
            for entry in data.values():
                for a in entry["annotations"]:
                    a["label_id"] = self.ids[a["label"]]
            self.by_subset.setdefault("all", {}).update(data)
            return {"segments": sum(len(e["annotations"]) for e in data.values())}
        if self.fmt == "avis":
            data = export_bench.avis_dict(store, video_id=vid)
            _join_avis(self.by_subset.setdefault(subset, _empty(self.ids)), data, label_of)
            return {"segments": sum(len(a["audible_segments"]) for a in data["annotations"]),
                    "masks": sum(s is not None for a in data["annotations"]
                                 for s in a["segmentations"])}
        path = tmp / ".parts" / f"{vid}.json"
        export.export_coco(store, path)  # checked with pycocotools against the store
        data = json.loads(path.read_text(encoding="utf-8"))
        path.unlink()
        _join_coco(self.by_subset.setdefault(subset, _empty(self.ids)), data, vid, label_of)
        return {"segments": len(data["audible_segments"]), "masks": len(data["annotations"])}

    def _lu_avs(self, part: Path, subset: str) -> None:
        joined = self.by_subset.setdefault(subset, {"seg": {}, "bbox": {}})
        for key, name in (("seg", f"seg_{subset}.json"), ("bbox", f"bbox_segs_{subset}.json")):
            if (part / name).is_file():
                data = json.loads((part / name).read_text(encoding="utf-8"))
                for entry in data.values():
                    for a in entry["annotations"]:
                        a["label_id"] = self.ids[a["label"]]
                joined[key].update(data)
        if (part / subset).is_dir():
            dest = part.parent.parent / subset
            dest.mkdir(exist_ok=True)
            for folder in sorted((part / subset).iterdir()):
                folder.replace(dest / folder.name)

    def write(self, tmp: Path) -> None:
        import shutil

        for hidden in (".parts", ".snapshots"):
            shutil.rmtree(tmp / hidden, ignore_errors=True)
        files: dict[str, object] = {}
        if self.fmt == "lu-avs":
            from annotator.core.lu_avs import FORMAT, FORMAT_FILE

            for subset, j in self.by_subset.items():
                files[f"seg_{subset}.json"] = j["seg"]
                if j["bbox"]:
                    files[f"bbox_segs_{subset}.json"] = j["bbox"]
            files[FORMAT_FILE] = {**FORMAT, "end": "inclusive", "box": "xyxy",
                                  "subsets": sorted(self.by_subset), **self.extra}
        elif self.fmt == "unav":
            files["annotations.json"] = {"database": self.by_subset.get("all", {})}
        else:
            stem = "instances_{}.json" if self.fmt == "coco" else "{}.json"
            for subset, data in self.by_subset.items():
                files[stem.format(subset)] = data
        for name, data in files.items():
            path = tmp / name
            path.write_text(json.dumps(data), encoding="utf-8")
            if json.loads(path.read_text(encoding="utf-8")) != data:
                raise ExportError(f"{path}: read back differs from what was written; check "
                                  "the disk and export again")
            if self.fmt == "coco":
                _check_coco(path, data)


def _empty(ids: dict[str, int]) -> dict:
    return {"info": {"description": "AVS Annotator dataset export"}, "videos": [],
            "images": [], "annotations": [], "audible_segments": [], "objects": [],
            "categories": [{"id": i, "name": lab}
                           for lab, i in sorted(ids.items(), key=lambda x: x[1])]}


def _join_coco(into: dict, data: dict, vid: str, label_of: dict[int, int]) -> None:
    image_of, track_of, seg_of = {}, {}, {}
    base_t = len(into["objects"])
    for k, o in enumerate(data["objects"]):
        track_of[o["track_id"]] = base_t + k + 1
        into["objects"].append({**o, "track_id": track_of[o["track_id"]], "video_id": vid,
                                "category_id": label_of[o["category_id"]]})
    for s in data["audible_segments"]:
        seg_of[s["id"]] = len(into["audible_segments"]) + 1
        into["audible_segments"].append({**s, "id": seg_of[s["id"]], "segment_id": s["id"],
                                         "video_id": vid, "track_id": track_of[s["track_id"]],
                                         "category_id": label_of[s["category_id"]]})
    for im in data["images"]:
        image_of[im["id"]] = len(into["images"]) + 1
        name = im["file_name"]
        into["images"].append({**im, "id": image_of[im["id"]], "video_id": vid,
                               "file_name": name if name.startswith(f"{vid}/")
                               else f"{vid}/{name}"})
    for a in data["annotations"]:
        t = track_of[a["track_id"]]
        into["annotations"].append({
            **a, "id": len(into["annotations"]) + 1, "image_id": image_of[a["image_id"]],
            "category_id": label_of[a["category_id"]], "track_id": t, "video_id": vid,
            "segment_id": seg_of.get(a.get("segment_id")),
            "attributes": {**a.get("attributes", {}), "track_id": t}})
    into["videos"].append({"id": len(into["videos"]) + 1, "name": vid,
                           "frames": data["info"]["frames"], "fps": data["info"]["fps"]})


def _join_avis(into: dict, data: dict, label_of: dict[int, int]) -> None:
    v = {**data["videos"][0], "id": len(into["videos"]) + 1}
    into["videos"].append(v)
    for a in data["annotations"]:
        into["annotations"].append({**a, "id": len(into["annotations"]) + 1,
                                    "video_id": v["id"],
                                    "category_id": label_of[a["category_id"]]})


def _check_coco(path: Path, data: dict) -> None:
    """pycocotools reads the joined file and decodes its masks (each video's part was checked
    pixel for pixel against its store before it was joined)."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    anns = [a for a in coco.dataset["annotations"] if a.get("segmentation") != []]
    if len(coco.dataset["annotations"]) != len(data["annotations"]):
        raise ExportError(f"{path}: pycocotools reads a different number of annotations; "
                          "nothing was exported")
    for a in anns[:: max(1, len(anns) // 200)]:
        if int(coco.annToMask(a).sum()) != int(a["area"]):
            raise ExportError(f"{path}: annotation {a['id']} does not decode to its area; "
                              "nothing was exported")
