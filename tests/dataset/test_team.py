"""A team in one dataset folder: two processes (two annotators) work on different videos at
once — one propagates, one edits mask by mask — while a third runs ``dataset status`` and
``dataset export`` again and again. No command fails, nothing is lost, and the last export
holds both annotators' work."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

from annotator.core import lu_avs
from annotator.core.project import Project
from tests.dataset.conftest import sequence
from tests.faults.conftest import run

EDIT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from PIL import Image
    from annotator.core.project import Project
    project, annotations = sys.argv[1], sys.argv[2]
    with Project.open(project) as p:
        oid = p.store.object_by_name("bike").id
        for f in range(43):  # one person's strokes: a commit each
            m = np.asarray(Image.open(f"{annotations}/{f:05d}.png")) > 0
            p.store.put_mask(oid, f, m, source="brush")
            time.sleep(0.15)  # ~7 s of editing
""")


def test_two_annotators_and_a_reader_at_once(dataset, shared, tmp_path):
    propagating = subprocess.Popen(
        [sys.executable, "-m", "annotator.cli", "propagate", dataset / "projects" / "rollerblade",
         "--engine", "fallback", "--refine", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    editing = subprocess.Popen(
        [sys.executable, "-c", EDIT, dataset / "projects" / "motorbike",
         sequence(shared, "motorbike") / "Annotations"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads = overlapping = 0
    while propagating.poll() is None or editing.poll() is None or reads < 2:
        overlapping += propagating.poll() is None and editing.poll() is None
        r = run("dataset", "status", dataset, "--json")
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)) == 3
        r = run("dataset", "export", dataset, "--format", "coco", "-o", tmp_path / "live")
        assert r.returncode == 0, r.stderr
        reads += 1
    assert overlapping >= 1  # a round began while both annotators were at work
    assert propagating.wait() == 0, propagating.communicate()
    assert editing.wait() == 0, editing.communicate()
    r = run("dataset", "status", dataset, "--json")
    rows = {row["video_id"]: row for row in json.loads(r.stdout)}
    assert rows["motorbike"]["masks"] == 43
    assert rows["rollerblade"]["masks"] == 20  # frames 0–19 (25–34 has no anchor)
    assert rows["dog-agility"]["masks"] == 25
    out = tmp_path / "release"
    r = run("dataset", "export", dataset, "--format", "lu-avs", "-o", out)
    assert r.returncode == 0, r.stderr
    tracks = {(t.video, t.start): t for t in lu_avs.release_tracks(out)}
    with Project.open(dataset / "projects" / "rollerblade", readonly=True) as p:
        oid = p.store.object_by_name("skater").id
        for f in (0, 7, 19):  # the export holds what the propagation wrote
            assert np.array_equal(tracks[("rollerblade", 0)].mask(f),
                                  p.store.mask(oid, f).decode())
    from PIL import Image

    for f in (0, 21, 42):
        want = np.asarray(Image.open(sequence(shared, "motorbike") / "Annotations"
                                     / f"{f:05d}.png")) > 0
        assert np.array_equal(tracks[("motorbike", 0)].mask(f), want)
    print(f"{reads} status + export rounds, {overlapping} begun while both worked")
