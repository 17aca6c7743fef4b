"""Project sub-commands: new, info, import, export, relink, demo."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from annotator.core.words import plural
from annotator.errors import UserError

EXPORT_FORMATS = ["coco", "davis", "png", "youtube-vos", "cvat", "cvat-images", "lu-avs", "unav",
                  "avis", "mot"]


def register(sub) -> None:
    p = sub.add_parser("new", help="create a project for a video or a folder of frames")
    p.add_argument("video", type=Path, help="media file (mp4, mkv, avi, …) or folder of frames")
    p.add_argument("--project", type=Path, help="project folder (default: VIDEO.avsproj beside it)")
    p.add_argument("--segments", type=Path, help="CSV/JSON of audible segments to import")
    p.add_argument("--fps", type=float, help="frame rate of a folder of frames (default 30)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("info", help="summary of a project")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("import", help="import audible segments, masks or box keyframes into a "
                                      "project")
    p.add_argument("project", type=Path)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--segments", type=Path, help="CSV or JSON: object, category, start, end")
    g.add_argument("--masks", type=Path,
                   help="folder of PNG masks (DAVIS / YouTube-VOS too), COCO JSON, or CVAT "
                        "for video 1.1 XML")
    g.add_argument("--boxes", type=Path, metavar="FILE",
                   help="box keyframes: CSV object,category,frame,x0,y0,x1,y1[,outside] in "
                        "pixels, a COCO .json whose annotations have a bbox and no "
                        "segmentation, or a CVAT 1.1 .xml with <box> tracks (keyframes and "
                        "outside) (frames inside the objects' segments)")
    g.add_argument("--lu-avs", type=Path, metavar="PATH",
                   help="an LU-AVS export folder or seg_<subset>.json (segments and masks)")
    p.add_argument("--object", metavar="NAME",
                   help="the object binary PNG masks belong to: one of the project's (see "
                        "annotator info) or a new name (default in a project without objects: "
                        "the folder's name)")
    p.add_argument("--category", help="category of new objects")
    p.add_argument("--unit", choices=["seconds", "frames"], default="seconds",
                   help="unit of start/end columns in a segments file (default seconds)")
    p.add_argument("--fit", choices=["error", "pad-crop"], default="error",
                   help="masks of another size: refuse (default) or pad/crop explicitly")
    p.add_argument("--end", choices=["inclusive", "exclusive"],
                   help="--lu-avs: the file's end frame convention (default: its format.json, "
                        "else inclusive)")
    p.add_argument("--video-id", help="--lu-avs: which of the file's videos (default: the only "
                                      "one, else the project's video name)")
    p.add_argument("--labels", action="store_true",
                   help="greyscale PNGs are label images (values = object ids), even with "
                        "many grey levels")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export masks and boxes as COCO, DAVIS / YouTube-VOS "
                                      "PNGs, CVAT XML, the LU-AVS, UnAV, AVIS and MOTChallenge "
                                      "layouts")
    p.add_argument("project", type=Path)
    p.add_argument("--format", choices=EXPORT_FORMATS, default="coco",
                   help="coco (RLE JSON), davis or png (indexed PNG per frame, empty ones too, "
                        "ids 1..N, objects.json), youtube-vos, cvat (CVAT for video 1.1 XML: a track "
                        "per object), cvat-images (CVAT for images 1.1: what Datumaro reads), "
                        "lu-avs (seg_<subset>.json + masks.npy/bbox.npy per segment), unav "
                        "(segments in seconds), avis (YouTube-VIS JSON)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="JSON file (coco) or XML file (cvat, cvat-images), else a folder")
    p.add_argument("--with-frames", action="store_true",
                   help="coco, youtube-vos: write the frame images too (-o is then a folder)")
    p.add_argument("--layout", choices=["coco", "datumaro"], default="coco",
                   help="coco: datumaro = annotations/instances_default.json + images/default/")
    p.add_argument("--all-frames", action="store_true",
                   help="kept for older scripts: davis/png always write every frame")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing file or folder that is not an earlier export of "
                        "this project")
    p.add_argument("--subset", choices=["train", "val", "test"],
                   help="lu-avs, unav: the video's split (default train)")
    p.add_argument("--video-id", help="lu-avs, unav, avis: the video's id (default: the video "
                                      "file's stem or the frame folder's name)")
    p.add_argument("--end", choices=["inclusive", "exclusive"],
                   help="lu-avs: whether a segment's end frame is its last (default inclusive)")
    p.add_argument("--box", choices=["xyxy", "xywh"],
                   help="lu-avs: bbox.npy rows as x0 y0 x1 y1 (default) or x y w h")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("relink", help="point a project at its moved video")
    p.add_argument("project", type=Path)
    p.add_argument("video", type=Path)
    p.add_argument("--force", action="store_true", help="accept a video whose content differs")
    p.set_defaults(func=cmd_relink)

    p = sub.add_parser("demo", help="generate the demo video and project, and open it")
    p.add_argument("--headless", action="store_true", help="no window: print path and summary")
    p.add_argument("--dir", type=Path, help="where to put the demo (default: per-user data)")
    p.add_argument("--fresh", action="store_true", help="start the demo project over")
    from annotator.commands import add_device_option

    add_device_option(p)  # the window it opens runs the models
    p.set_defaults(func=cmd_demo, gui_starts_engines=True)


def _time_to_frame(project):
    def convert(seconds: float) -> int:
        if seconds < 0:
            raise ValueError(f"negative time {seconds}")
        return video.index_at(seconds)

    video = project.open_video()
    return video, convert


def cmd_new(args: argparse.Namespace) -> int:
    from annotator.core.project import Project, default_project_dir

    video = args.video
    directory = Path(args.project or default_project_dir(video))
    before = set(directory.iterdir()) if directory.is_dir() else None
    notes: list[str] = []
    project = Project.create(directory, video, fps=args.fps, notes=notes)
    try:
        for note in notes:
            print(f"note: {note}")
        if args.segments:
            _import_segments(project, args.segments, "seconds")
        _print_summary(project.summary())
    except BaseException as exc:  # a bad segments file: no project is left half made
        project.close()
        _unmake(directory, before)
        if isinstance(exc, UserError):
            raise UserError(f"{exc}; no project made") from None
        raise
    project.close()
    return 0


def _unmake(directory: Path, before: set | None) -> None:
    """Remove what ``annotator new`` made in ``directory`` (all of it when it made the folder)."""
    import shutil

    if before is None:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for entry in set(directory.iterdir()) - before:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _import_segments(project, path: Path, unit: str) -> None:
    from annotator.core.importers import import_segments

    video, convert = _time_to_frame(project)
    with video:
        report = import_segments(project.store, path, convert, unit=unit)
    for line in report.lines():
        print(line)


def cmd_info(args: argparse.Namespace) -> int:
    from annotator.core.project import Project

    with Project.open(args.project, readonly=True) as project:
        summary = project.summary()
        try:
            project.video_path()
            summary["video_status"] = "ok"
        except UserError as exc:
            summary["video_status"] = str(exc)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            _print_summary(summary)
            if summary["video_status"] != "ok":
                print(f"warning: {summary['video_status']}")
    return 0


def _print_summary(s: dict) -> None:
    print(f"project   {s['project']}")
    print(f"video     {s['video']}")
    print(f"          {plural(s['frames'], 'frame')}, {s['fps']:.3f} fps, {s['size'][0]}×{s['size'][1]}, "
          f"{s['duration_s']:.2f} s, audio: {'yes' if s['has_audio'] else 'no'}")
    objs = ", ".join(f"{o['name']} ({o['category']})" for o in s["objects"]) or "none"
    print(f"objects   {objs}")
    status = ", ".join(f"{k}: {v}" for k, v in sorted(s["segment_status"].items()))
    print(f"segments  {s['segments']}" + (f" ({status})" if status else ""))
    print(f"masks     {s['masks']} on {plural(s['masked_frames'], 'frame')}")


def cmd_import(args: argparse.Namespace) -> int:
    from annotator.core import importers
    from annotator.core.project import Project

    with Project.open(args.project) as project:
        if args.segments:
            _import_segments(project, args.segments, args.unit)
            return 0
        if args.boxes:
            from annotator.core.box_import import import_boxes

            for line in import_boxes(project.store, args.boxes).lines():
                print(line)
            return 0
        if args.lu_avs:
            from annotator.core.lu_avs_import import import_lu_avs

            report = import_lu_avs(project.store, args.lu_avs, end=args.end,
                                   video_id=args.video_id)
            for line in report.lines():
                print(line)
            return 0
        src = args.masks
        if src.is_dir():
            if args.object is None:
                _object_needed(args, project)
            src = src.resolve()  # '.' or 'masks' typed inside: the folder's real name counts
            report = importers.import_png_masks(project.store, src, object_name=args.object,
                                                category=args.category, fit=args.fit,
                                                labels=args.labels)
        elif src.suffix.lower() == ".json":
            report = importers.import_coco(project.store, src, fit=args.fit)
        elif src.suffix.lower() == ".xml":
            from annotator.core.cvat import import_cvat

            report = import_cvat(project.store, src, fit=args.fit)
        elif not src.exists():
            raise UserError(f"{src}: no such file or folder")
        else:
            raise UserError(f"{src}: expected a folder of PNG masks, a COCO .json or a CVAT "
                            ".xml file")
        for line in report.lines():
            print(line)
    return 0


def _object_needed(args: argparse.Namespace, project) -> None:
    """Binary PNG masks are one object's: into a project that has objects, which one is for the
    person to say (``--object``) unless the folder is named after one of them — a name made up
    from the folder would start a new object that no segment of the others uses. A folder
    without a name (the file system's root) always needs it."""
    from annotator.core import importers

    folder = args.masks.resolve()
    objects = [o.name for o in project.store.objects()]
    if folder.name and (not objects or {folder.name, folder.parent.name} & set(objects)):
        return
    pngs = sorted(folder.glob("*.png"))
    if not pngs or importers.read_png_mask(pngs[0], labels=args.labels)[1]:
        return  # no masks (the import says so) or label images: one object per index
    names = ", ".join(objects[:6]) + (", …" if len(objects) > 6 else "")
    example = shlex.quote(objects[0] if objects else "NAME")
    raise UserError(
        f"{args.masks}: binary masks are one object's; say which with --object NAME ("
        + (f"this project's objects: {names}; " if objects else "")
        + f"a new name makes a new object), e.g. annotator import "
          f"{shlex.quote(str(args.project))} --masks {shlex.quote(str(args.masks))} "
          f"--object {example}")


def cmd_export(args: argparse.Namespace) -> int:
    from annotator.core.project import Project
    from annotator.pipeline.exports import check_options, resolve, run_export

    fmt = resolve(args.format, with_frames=args.with_frames, layout=args.layout)
    options = {"subset": args.subset, "video_id": args.video_id, "end": args.end,
               "box": args.box}
    check_options(fmt, options)
    with Project.open(args.project, readonly=True) as project:
        _res, text = run_export(project, fmt, args.output, overwrite=args.overwrite,
                                options=options)
    print(text)
    return 0


def cmd_relink(args: argparse.Namespace) -> int:
    from annotator.core.project import Project

    with Project.open(args.project) as project:
        project.relink(args.video, force=args.force)
        print(f"{args.project} now uses {args.video.resolve()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from annotator.demo import make_demo

    project = make_demo(args.dir, fresh=args.fresh)
    summary = project.summary()
    if args.headless:
        with project:
            print(summary["project"])
            _print_summary(summary)
            for seg in project.store.segments():
                name = project.store.object(seg.object_id).name
                print(f"  audible: {name:6s} frames {seg.start:4d}–{seg.end:4d}")
        return 0
    project.close()
    from annotator.commands.gui import window_app

    run_app = window_app(f"; the demo project is ready without it: {summary['project']} "
                         "(annotator demo --headless prints its summary)")
    return run_app(project_dir=Path(summary["project"]), device=args.device)
