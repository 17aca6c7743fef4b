"""Every export by name: what it writes, where, and the sentence that says what was written.

The command line (``annotator export --format …``) and the window (File ▸ Export) both call
:func:`run_export`, so a format, its checks and its words exist once. The formats themselves
live in :mod:`annotator.core.export` (COCO), :mod:`annotator.core.export_vos` (DAVIS,
YouTube-VOS), :mod:`annotator.core.cvat` (CVAT), :mod:`annotator.core.export_boxes` (MOT), :mod:`annotator.core.lu_avs` (LU-AVS) and
:mod:`annotator.core.export_bench` (UnAV, AVIS); each verifies what it wrote and writes
atomically. ``options`` carry the benchmark layouts' choices: ``subset``, ``video_id``, and
LU-AVS's ``end`` and ``box`` conventions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotator.core.words import plural
from annotator.errors import UserError


@dataclass(frozen=True)
class ExportFormat:
    key: str  # the command line's --format (and --with-frames / --layout, folded in)
    title: str  # the window's menu entry
    target: str  # "file" or "folder"
    suffix: str = ""  # a file's suffix
    note: str = ""  # what it is for (the menu's status tip)


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("coco", "COCO RLE (JSON)", "file", ".json",
                 "COCO JSON with RLE masks and the audible segments (pycocotools reads it)"),
    ExportFormat("coco-frames", "COCO RLE with the frames", "folder", "",
                 "annotations.json and every annotated frame as an image, in one folder"),
    ExportFormat("datumaro", "COCO in the Datumaro layout", "folder", "",
                 "annotations/instances_default.json + images/default/ (Datumaro, CVAT import)"),
    ExportFormat("davis", "DAVIS PNG masks", "folder", "",
                 "an indexed PNG for every frame, ids 1..N (a DAVIS evaluator reads it)"),
    ExportFormat("youtube-vos", "YouTube-VOS", "folder", "",
                 "Annotations/<video>/ and meta.json (VOS trainers read it)"),
    ExportFormat("youtube-vos-frames", "YouTube-VOS with the frames", "folder", "",
                 "YouTube-VOS plus JPEGImages/<video>/"),
    ExportFormat("cvat", "CVAT for video 1.1 (XML)", "file", ".xml",
                 "one track per object, to review or fix tracks in CVAT"),
    ExportFormat("cvat-images", "CVAT for images 1.1 (XML)", "file", ".xml",
                 "a mask per object per frame (Datumaro reads it)"),
    ExportFormat("lu-avs", "LU-AVS release layout", "folder", "",
                 "seg_<subset>.json + a masks.npy and bbox.npy per audible segment"),
    ExportFormat("mot", "MOTChallenge boxes (gt.txt)", "folder", "",
                 "every object's box on every frame (masks' boxes and box tracks)"),
    ExportFormat("unav", "UnAV temporal JSON", "file", ".json",
                 "the audible segments in seconds (UnAV-100's layout)"),
    ExportFormat("avis", "AVIS / YouTube-VIS JSON", "file", ".json",
                 "one track per object with per-frame RLE masks and boxes"),
)
BY_KEY = {f.key: f for f in FORMATS}


def resolve(fmt: str, *, with_frames: bool = False, layout: str = "coco") -> ExportFormat:
    """The format the command line's ``--format``, ``--with-frames`` and ``--layout`` name."""
    if fmt == "png":
        fmt = "davis"
    if layout != "coco" and fmt != "coco":
        raise UserError(f"--layout {layout} is a COCO layout; use it with --format coco")
    if with_frames and fmt not in ("coco", "youtube-vos"):
        raise UserError(f"--with-frames goes with --format coco or youtube-vos, not {fmt}")
    if fmt == "coco" and layout == "datumaro":
        fmt = "datumaro"
    elif with_frames:
        fmt += "-frames"
    if fmt not in BY_KEY:
        raise UserError(f"unknown export format {fmt!r}: one of "
                        + ", ".join(f.key for f in FORMATS))
    return BY_KEY[fmt]


#: the benchmark layouts' options and the formats each goes with
OPTION_FORMATS = {"subset": ("lu-avs", "unav"), "video_id": ("lu-avs", "unav", "avis"),
                  "end": ("lu-avs",), "box": ("lu-avs",)}


def check_options(fmt: ExportFormat, options: dict,
                  spell: Callable[[str], str] = lambda name: f"--{name.replace('_', '-')}",
                  format_word: str = "--format") -> None:
    """A ``UserError`` for an option given with a format it does not go with; ``spell`` names
    an option as the caller's user typed it (the command line's ``--video-id``)."""
    for name, formats in OPTION_FORMATS.items():
        if options.get(name) is not None and fmt.key not in formats:
            raise UserError(f"{spell(name)} goes with {format_word} {' or '.join(formats)}, "
                            f"not {fmt.key}")


def run_export(project: Any, fmt: str | ExportFormat, out: str | Path, *,
               overwrite: bool = False,
               progress: Callable[[int, int], None] | None = None,
               options: dict | None = None) -> tuple[dict, str]:
    """Write ``project`` as ``fmt`` to ``out``; returns the export's summary and one sentence
    saying what was written where. Exports that hold the frames read them from a video of
    their own (the project's, opened here and closed after)."""
    from annotator.core import export, export_vos
    from annotator.core.cvat import export_cvat

    f = fmt if isinstance(fmt, ExportFormat) else BY_KEY[fmt]
    store, out = project.store, Path(out)
    frames = f.key in ("coco-frames", "datumaro", "youtube-vos-frames")
    video = project.open_video() if frames and not store.video().is_folder else None
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    try:
        if f.key in ("lu-avs", "unav", "avis"):
            return _bench_export(store, f.key, out, overwrite, progress, opts)
        if f.key in ("coco", "coco-frames", "datumaro"):
            res = export.export_coco(store, out, with_frames=f.key == "coco-frames",
                                     layout="datumaro" if f.key == "datumaro" else "coco",
                                     overwrite=overwrite, video=video, progress=progress)
            extra = (f", {plural(res['frames_written'], 'frame image')} beside it"
                     if res["frames_written"] else "")
            boxes = f", {plural(res['boxes'], 'box', 'boxes')}" if res["boxes"] else ""
            return res, (f"wrote {res.get('json', res['path'])}: "
                         f"{plural(res['annotations'], 'mask')}{boxes} on "
                         f"{plural(res['images'], 'frame')}, "
                         f"{plural(res['audible_segments'], 'audible segment')} "
                         f"(verified with pycocotools){extra}")
        if f.key == "davis":
            res = export_vos.export_davis(store, out, overwrite=overwrite, progress=progress)
            n = res["objects"]
            return res, (f"wrote {plural(res['frames'], 'indexed PNG mask')} of "
                         f"{plural(n, 'object')} (DAVIS layout, {'id 1' if n == 1 else f'ids 1–{n}'}, "
                         "objects.json) to "
                         f"{res['path']}")
        if f.key.startswith("youtube-vos"):
            res = export_vos.export_youtube_vos(store, out, with_frames=frames,
                                                overwrite=overwrite, video=video,
                                                progress=progress)
            return res, (f"wrote YouTube-VOS {res['path']}: Annotations/{res['video']} "
                         f"({plural(res['frames'], 'frame')}, {plural(res['objects'], 'object')})"
                         " and meta.json")
        if f.key == "mot":
            from annotator.core.export_boxes import export_mot

            res = export_mot(store, out, overwrite=overwrite)
            return res, (f"wrote MOTChallenge {res['path']}/{res['sequence']}/gt/gt.txt: "
                         f"{plural(res['boxes'], 'box', 'boxes')} of "
                         f"{plural(res['objects'], 'object')} on "
                         f"{plural(res['frames'], 'frame')} (read back), and seqinfo.ini")
        images = f.key == "cvat-images"
        res = export_cvat(store, out, overwrite=overwrite, images=images)
        return res, (f"wrote CVAT for {'images' if images else 'video'} 1.1 {res['path']}: "
                     f"{plural(res['tracks'], 'track')}, {plural(res['masks'], 'mask')}"
                     + (f", {plural(res['boxes'], 'box', 'boxes')}" if res["boxes"] else ""))
    finally:
        if video is not None:
            video.close()


def _bench_export(store: Any, key: str, out: Path, overwrite: bool, progress,
                  opts: dict) -> tuple[dict, str]:
    from annotator.core import export_bench, lu_avs

    vid = opts.get("video_id")
    if key == "unav":
        res = export_bench.export_unav(store, out, subset=opts.get("subset", "train"),
                                       video_id=vid, overwrite=overwrite)
        return res, (f"wrote UnAV {res['path']}: {plural(res['segments'], 'audible segment')} "
                     f"of {res['video_id']} in seconds")
    if key == "avis":
        res = export_bench.export_avis(store, out, video_id=vid, overwrite=overwrite)
        return res, (f"wrote AVIS / YouTube-VIS {res['path']}: {plural(res['tracks'], 'track')}, "
                     f"{plural(res['masks'], 'mask')}")
    res = lu_avs.export_lu_avs(store, out, subset=opts.get("subset", "train"), video_id=vid,
                               end=opts.get("end", "inclusive"), box=opts.get("box", "xyxy"),
                               overwrite=overwrite, progress=progress)
    text = (f"wrote LU-AVS {res['path']}: seg_{res['subset']}.json with "
            f"{plural(res['segments'], 'audible segment')} of {res['video_id']}, "
            f"{plural(res['frames'], 'frame')} of masks and boxes (read back)")
    if res["box_segments"]:
        text += (f"; {plural(res['box_segments'], 'box-only segment')} in "
                 f"bbox_segs_{res['subset']}.json (bbox.npy, no masks)")
    if res["empty_frames"]:
        text += (f"; {plural(res['empty_frames'], 'frame')} inside segments had no mask and "
                 "are empty (not visible)")
    if res["joined"]:
        text += (f"; {plural(len(res['joined']), 'segment')} joins objects of one category "
                 "over the same frames")
    if res["without_masks"]:
        text += (f"; {plural(len(res['without_masks']), 'segment')} without masks left out "
                 "(named in format.json; --format unav keeps every span)")
    return res, text
