"""Audible segments for many videos of a dataset from one file.

Rows ``video,object,category,start,end`` (CSV, or a JSON list of objects with those keys;
``start``/``end`` in ``unit``, or the columns a project's import reads:
:func:`annotator.core.importers.check_segment_rows`). Each video's rows are checked against
its project exactly as ``annotator import DIR --segments`` checks them, and every problem of
every video is reported, line by line: a file with one bad line imports nothing. The check
takes no lock but asks each project's lock whether another process has the project open,
so a file that cannot be written everywhere is refused before anything is written.

Then each project gets its rows in one transaction (one undoable operation, named after the
file). A kill between two projects leaves the first ones imported; running the same import
again completes it, because a row a project holds already is skipped.
"""

from __future__ import annotations

from pathlib import Path

from annotator.core.importers import (
    ImportError_,
    ImportReport,
    check_segment_rows,
    read_segment_rows,
    write_segment_rows,
)
from annotator.core.lock import ProjectLock
from annotator.core.project import Project

EXTRA = frozenset({"video", "video_id"})


def _groups(ds, path: Path, rows) -> tuple[dict, list[tuple[int, str]]]:
    known = {v.video_id: v for v in ds.videos()}
    entry = "entry" if path.suffix.lower() == ".json" else "line"
    by_video: dict[str, list] = {}
    problems = []
    for line, row in rows:
        vid = str(row.get("video") or row.get("video_id") or "").strip()
        if not vid:
            problems.append((line, f"{entry} {line}: no video id (the video column)"))
        elif vid not in known:
            problems.append((line, f"{entry} {line}: no video {vid[:60]!r} in the dataset"))
        else:
            by_video.setdefault(vid, []).append((line, row))
    return {v: (known[v], r) for v, r in by_video.items()}, problems


def _check(project: Project, rows, unit: str, entry: str):
    if unit == "frames" or all(_in_frames(r) for _line, r in rows):
        return check_segment_rows(project.store, rows, _no_seconds, unit=unit, entry=entry,
                                  extra=EXTRA)
    video = project.open_video()
    with video:
        def to_frame(seconds: float) -> int:
            if seconds < 0:
                raise ValueError(f"negative time {seconds}")
            return video.index_at(seconds)

        return check_segment_rows(project.store, rows, to_frame, unit=unit, entry=entry,
                                  extra=EXTRA)


def _in_frames(row: dict) -> bool:
    return "start_frame" in row or str(row.get("unit", "")).lower() in ("frame", "frames")


def _no_seconds(seconds: float) -> int:  # pragma: no cover - only rows in frames reach it
    raise ValueError("a time in seconds needs the video")


def import_dataset_segments(ds, path: str | Path, *, unit: str = "seconds",
                            on_line=print) -> dict[str, int]:
    """Import a dataset segments file (see the module doc); returns segments added per
    video."""
    path = Path(path)
    rows = read_segment_rows(path)
    entry = "entry" if path.suffix.lower() == ".json" else "line"
    groups, problems = _groups(ds, path, rows)
    for vid, (v, vrows) in sorted(groups.items()):
        lock = ProjectLock(v.project)
        lock.acquire()  # open elsewhere: one line naming the project, nothing written
        lock.release()
        with Project.open(v.project, readonly=True) as project:
            checked = _check(project, vrows, unit, entry)
        problems += [(line, f"{words} (video {vid})") for line, words in checked.problems]
    if problems:
        raise ImportError_(path, [w for _line, w in sorted(problems, key=lambda p: p[0])])
    added: dict[str, int] = {}
    for vid, (v, vrows) in sorted(groups.items()):
        with Project.open(v.project) as project:
            checked = _check(project, vrows, unit, entry)  # again, under the lock
            if checked.problems:  # changed since the check above (another annotator)
                raise ImportError_(path, [f"{w} (video {vid}; the videos before it were "
                                          "imported)" for _line, w in checked.problems])
            if not checked.rows:  # all there already: no empty step in the project's undo
                report = ImportReport(already=checked.already)
            else:
                report = write_segment_rows(project.store, checked,
                                            f"Import segments from {path.name} (dataset)")
        added[vid] = report.segments
        on_line(f"{vid}: " + "; ".join(report.lines()))
    return added
