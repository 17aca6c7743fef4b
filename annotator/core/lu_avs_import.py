"""Import an LU-AVS export or release (its JSON and the segment folders beside it) into a
project: the video's audible segments, and every frame of their ``masks.npy``.

The project's video is the JSON's only video, else the one named ``video_id`` (default: the
project's video file stem or frame folder name). Each annotation's object is its ``object``
key (what ``annotator export --format lu-avs`` writes), else its label; the label is the
object's category. Every frame of ``masks.npy`` becomes an imported mask (an anchor: a person
made it), an empty one too — in the layout an empty frame says the object is not visible.
Segments the project holds already are left as they are; everything is checked first and
written as one undoable operation. Boxes of a segment without masks (``bbox_segs_*.json``)
are not kept: the store has no box rows yet; their spans are imported and the report says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annotator.core import export_files as F
from annotator.core import masks as M
from annotator.core.importers import ImportError_, ImportReport
from annotator.core.lu_avs import entry_arrays, npy_array, read_entries
from annotator.core.segments import segment_problem
from annotator.core.store import Store
from annotator.core.words import plural
from annotator.errors import UserError

BATCH = 200  # frames encoded and written at a time


def import_lu_avs(store: Store, path: str | Path, *, end: str | None = None,
                  video_id: str | None = None, progress=None) -> ImportReport:
    path = Path(path)
    entries = read_entries(path, end=end)
    videos = sorted({e.video_id for e in entries})
    want = video_id or (videos[0] if len(videos) == 1 else F.sequence_name(store))
    entries = [e for e in entries if e.video_id == want]
    if not entries:
        shown = ", ".join(videos[:8]) + (", …" if len(videos) > 8 else "")
        raise UserError(f"{path}: no video {want!r} in it (it has {plural(len(videos), 'video')}"
                        f": {shown}); say which with --video-id")
    h, w = store.size_hw
    problems: list[str] = []
    existing = {(s.object_id, s.start, s.end) for s in store.segments()}
    planned: list = []  # (name, category, entry, masks path)
    spans: list = []  # the segments to add, for the overlap rule among themselves
    box_only = 0
    for k, e in enumerate(entries):
        name = e.object or e.label
        obj = store.object_by_name(name)
        where = f"{e.label} {e.start}–{e.end}"
        try:
            masks, boxes = entry_arrays(e)
        except UserError as exc:
            problems.append(str(exc))
            continue
        if masks is not None and npy_array(masks).shape[1:] != (h, w):
            problems.append(f"{masks}: masks are {npy_array(masks).shape[2]}×{npy_array(masks).shape[1]}"
                            f" pixels, the video {w}×{h}")
            continue
        box_only += masks is None and boxes is not None
        key = obj.id if obj else name
        if obj and (obj.id, e.start, e.end) in existing:
            planned.append((name, e.label, e, masks, True))
            continue
        segs = list(store.segments(obj.id)) if obj else []
        problem = segment_problem(segs + spans, key, e.start, e.end, store.frame_count,
                                  name=name)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        spans.append(_Span(k, key, e.start, e.end))
        planned.append((name, e.label, e, masks, False))
    if problems:
        raise ImportError_(path, problems)
    report = ImportReport()
    total = sum(e.end - e.start + 1 for _n, _c, e, m, _a in planned if m is not None)
    done = 0
    with store.transaction():
        op = store.new_op("import_segments", f"Import LU-AVS from {path.name}")
        report.op_id = op
        frames: set[int] = set()
        for name, cat, e, masks, already in planned:
            obj = store.object_by_name(name)
            if obj is None:
                oid = store.add_object(name, cat, op=op)
                report.objects_created.append(name)
            else:
                oid = obj.id
            if already:
                report.already += 1
            else:
                store.add_segment(oid, e.start, e.end, op=op)
                report.segments += 1
            if masks is None:
                continue
            arr = npy_array(masks)
            for a in range(0, arr.shape[0], BATCH):
                block = np.asarray(arr[a:a + BATCH], bool)
                store.put_masks([dict(object_id=oid, frame=e.start + a + i,
                                      mask=M.encode(block[i]), source="imported", anchor=True)
                                 for i in range(block.shape[0])], op=op)
                done += block.shape[0]
                if progress:
                    progress(done, total)
            report.masks += arr.shape[0]
            frames.update(range(e.start, e.end + 1))
        report.frames = len(frames)
    if box_only:
        report.notes.append(f"{plural(box_only, 'segment')} with boxes only: spans imported, "
                            "boxes not kept (the project stores masks)")
    return report


class _Span:
    def __init__(self, id_, object_id, start, end):
        self.id, self.object_id, self.start, self.end = id_, object_id, start, end
