"""Damaged project databases: every command names the damage on one line (exit 2) and points
at ``annotator check`` / ``annotator salvage``; ``salvage`` of a file cut in half returns every
mask row whose pages survived (counted with SQLite's own ``dbstat`` before the cut)."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from annotator.core.records import VideoRecord
from annotator.core.salvage import check
from annotator.core.store import Store
from tests.faults.conftest import one_line_exit_2, run

READERS_AND_WRITERS = [
    ("info", "{p}"),
    ("export", "{p}", "-o", "{tmp}/out.json"),
    ("review", "{p}"),
    ("import", "{p}", "--segments", "{tmp}/segs.csv"),
    ("propagate", "{p}", "--engine", "fallback", "--refine", "off"),
    ("relink", "{p}", "{tmp}/frames"),
]


def overwrite_from_page_3(db):
    data = bytearray(db.read_bytes())
    data[2 * 4096:] = np.random.default_rng(0).integers(0, 256, len(data) - 2 * 4096,
                                                        dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))


def cut_in_half(db):
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)


DAMAGE = {
    "pages 3.. overwritten": (overwrite_from_page_3, "damaged"),
    "cut in half": (cut_in_half, "salvage"),
    "zero bytes": (lambda db: db.write_bytes(b""), "0 bytes"),
    "a text file": (lambda db: db.write_text("these are my notes\n" * 50), "damaged"),
    "another program's database": (
        lambda db: (db.unlink(), sqlite3.connect(db).execute("CREATE TABLE t(x)").connection
                    .commit()), "not an AVS Annotator project database"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_command_names_the_damage(damage, project, tmp_path, frames):
    (tmp_path / "segs.csv").write_text("object,category,start_frame,end_frame\nx,x,1,2\n")
    (tmp_path / "frames").symlink_to(frames)
    db = project / "project.avs"
    before = db.read_bytes()
    hurt, needle = DAMAGE[damage]
    hurt(db)
    damaged = db.read_bytes()
    for args in READERS_AND_WRITERS:
        r = run(*[a.format(p=project, tmp=tmp_path) for a in args])
        one_line_exit_2(r, needle, str(project))
    assert db.read_bytes() == damaged != before  # nothing made it worse
    r = run("check", project)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "salvage" in r.stderr


H, W, N = 120, 160, 150


def noise(i):
    return np.random.default_rng(i).random((H, W)) < 0.5  # a long RLE: overflow pages


def test_salvage_of_a_file_cut_in_half_returns_every_surviving_mask(tmp_path):
    db = tmp_path / "p" / "project.avs"
    db.parent.mkdir()
    s = Store(db, create=True)
    s.set_video(VideoRecord(str(tmp_path / "v.mp4"), None, False, 1, "x", N, 25.0, W, H,
                            N / 25, False))
    dog, cat = s.add_object("dog"), s.add_object("cat", "pet")
    s.add_segment(dog, 0, N - 1)
    for i in range(N):
        s.put_mask(dog if i % 3 else cat, i, noise(i), source="propagated")
    s.set_proposals([(2, 5, 1.5), (8, 9, 0.5)])  # a person's decision on one survives too
    s.reject_proposal(s.proposals()[1].id)
    s.close()
    con = sqlite3.connect(db)
    rles = dict(con.execute("SELECT id, rle FROM mask_revs"))
    ps = con.execute("PRAGMA page_size").fetchone()[0]
    keep = db.stat().st_size // 2 // ps
    # which mask rows live wholly in the first `keep` pages: leaves in tree order hold the
    # rows in rowid order; a row's overflow pages are listed under its leaf and cell
    leaves = con.execute("SELECT path, pageno, ncell FROM dbstat WHERE name='mask_revs' AND "
                         "pagetype='leaf' ORDER BY path").fetchall()
    over = con.execute("SELECT path, pageno FROM dbstat WHERE name='mask_revs' AND "
                       "pagetype='overflow'").fetchall()
    con.close()
    ids = sorted(rles)
    surviving, k = set(), 0
    for path, page, ncell in leaves:
        for cell in range(ncell):
            pages = [page] + [p for op, p in over if op.startswith(f"{path}{cell:03x}+")]
            if max(pages) <= keep:
                surviving.add(ids[k])
            k += 1
    assert k == len(ids) == N and 0 < len(surviving) < N, len(surviving)
    print("surviving", len(surviving), "of", N)
    with open(db, "r+b") as fh:
        fh.truncate(keep * ps)
    r = run("salvage", db.parent, "-o", tmp_path / "saved")
    assert r.returncode == 0, r.stderr
    assert f"{len(surviving)} mask_revs" in r.stdout
    new = Store(tmp_path / "saved" / "project.avs", readonly=True)
    got = {m.rev_id: m for m in new.iter_masks()}
    assert set(got) == surviving
    for rid, m in got.items():
        assert m.rle["counts"] == rles[rid]
    assert check(tmp_path / "saved" / "project.avs") == []
    assert [(q.start, q.end, q.state) for q in new.proposals()] == [(2, 5, "open"),
                                                                   (8, 9, "rejected")]
    assert {o.name for o in new.objects()} <= {"dog", "cat"} | {f"recovered-{i}" for i in (1, 2)}
    new.close()
    assert run("info", tmp_path / "saved").returncode == 0
    assert not os.path.exists(tmp_path / ".saved.salvaging")


def test_check_names_broken_rules_of_the_store(project):
    """SQLite finds nothing wrong here; the store's own rules do."""
    assert run("check", project).returncode == 0
    con = sqlite3.connect(project / "project.avs")
    (rid,) = con.execute("SELECT rev_id FROM masks ORDER BY frame LIMIT 1").fetchone()
    con.execute("UPDATE mask_revs SET rle = 'garbage!' WHERE id = ?", (rid,))
    (rid2,) = con.execute("SELECT rev_id FROM masks ORDER BY frame DESC LIMIT 1").fetchone()
    con.execute("UPDATE mask_revs SET source = 'propagated', prev_id = ? WHERE id = ?",
                (rid2, rid2))
    con.commit()
    con.close()
    r = run("check", project)
    assert r.returncode == 2 and "3 problem(s)" in r.stderr and "salvage" in r.stderr
    assert f"(revision {rid}) does not decode" in r.stdout
    assert f"(revision {rid2}) is an anchor but was made by 'propagated'" in r.stdout
    assert f"revision {rid2} (object" in r.stdout
