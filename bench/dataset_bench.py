"""Dataset benchmark: ``annotator dataset status`` on thousands of small projects, and the
export of a hundred.

    python bench/dataset_bench.py [--videos 2000] [--export 100] [--frames 8] [--dir DIR]

Builds a dataset of ``--videos`` generated frame folders (``--frames`` frames of 64×48 each,
hard links of one set of JPEGs) through the real code (``Dataset.add``: one ordinary project
per video; ``dataset import`` for one audible segment per video; masks written into every
project's store), then times the command as a person runs it (a new process each time):
``dataset status`` with an empty cache (every project read), again (every summary from the
cache: one ``stat`` per project), and after one project changed; and ``dataset export
--format lu-avs`` and ``--format coco`` of a dataset of ``--export`` of those videos. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.core.dataset import Dataset  # noqa: E402
from annotator.core.project import Project  # noqa: E402

H, W = 48, 64


def frames_template(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        img = rng.integers(0, 80, (H, W, 3), dtype=np.uint8)
        img[10:30, 5 + i: 25 + i] = (230, 200, 40)
        out.append(folder / f"{i:05d}.jpg")
        cv2.imwrite(str(out[-1]), img)
    return out


def build(root: Path, template: list[Path], n: int, frames: int) -> float:
    videos = root.parent / f"{root.name}-videos"
    for k in range(n):
        d = videos / f"clip{k:05d}"
        d.mkdir(parents=True)
        for f in template:
            os.link(f, d / f.name)
    vocab = root.parent / f"{root.name}-vocab.csv"
    vocab.write_text("label_id,label\n1,dog\n2,guitar\n3,speech\n")
    t = time.perf_counter()
    with Dataset.create(root, vocabulary=vocab) as ds:
        ds.add(sorted(videos.iterdir()), on_line=lambda _line: None)
    took = time.perf_counter() - t
    segs = root.parent / f"{root.name}-segs.csv"
    segs.write_text("video,object,category,start_frame,end_frame\n" + "".join(
        f"clip{k:05d},thing,{('dog', 'guitar', 'speech')[k % 3]},0,{frames - 1}\n"
        for k in range(n)))
    cli("dataset", "import", root, "--segments", segs)
    mask = np.zeros((H, W), bool)
    for k in range(n):
        with Project.open(root / "projects" / f"clip{k:05d}") as p:
            oid = p.store.objects()[0].id
            items = []
            for f in range(frames):
                m = mask.copy()
                m[10:30, 5 + f: 25 + f] = True
                items.append(dict(object_id=oid, frame=f, mask=m, source="imported"))
            p.store.put_masks(items)
    return took


def cli(*args) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "annotator.cli", *map(str, args)],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"annotator {' '.join(map(str, args))}: {r.stderr}")
    return took


def best(runs: int, *args) -> float:
    return min(cli(*args) for _ in range(runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--videos", type=int, default=2000)
    ap.add_argument("--export", type=int, default=100)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--dir", type=Path, help="where to build (default: a temporary folder)")
    args = ap.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="dataset-bench-"))
    template = frames_template(base / "template", args.frames)
    startup = best(3, "--version")
    print(f"python + annotator start-up: {startup:.2f} s (included in every command below)")

    root = base / "big"
    took = build(root, template, args.videos, args.frames)
    print(f"{args.videos} videos added (a project each): {took:.1f} s, "
          f"{1000 * took / args.videos:.1f} ms a video")
    db = sqlite3.connect(root / "dataset.avsds")
    db.execute("DELETE FROM summaries")
    db.commit()
    db.close()
    cold = cli("dataset", "status", root, "--json")
    warm = best(3, "dataset", "status", root, "--json")
    with Project.open(root / "projects" / "clip00000") as p:
        p.store.add_object("other", "speech")
    one = cli("dataset", "status", root, "--json")
    table = best(3, "dataset", "status", root)
    print(f"dataset status --json, {args.videos} projects: cold cache {cold:.2f} s, "
          f"cached {warm:.2f} s, one project changed {one:.2f} s; the table: {table:.2f} s")
    t = time.perf_counter()
    with Dataset.open(root, readonly=True) as ds:
        from annotator.core.dataset_summary import status_rows

        rows = status_rows(ds)
    print(f"  in-process status_rows (cached, {len(rows)} rows): "
          f"{time.perf_counter() - t:.3f} s")

    small = base / "hundred"
    build(small, template, args.export, args.frames)
    for fmt in ("lu-avs", "coco"):
        took = cli("dataset", "export", small, "--format", fmt, "-o", base / f"out-{fmt}")
        print(f"dataset export --format {fmt}, {args.export} projects × {args.frames} masks: "
              f"{took:.2f} s")
    print(f"(built in {base}; delete it when done)")


if __name__ == "__main__":
    main()
