"""A dataset of real DAVIS-2016 sequences from ../shared/data, built through the command line
(in this process: ``annotator.cli.main``), with a vocabulary, audible segments and real masks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annotator.cli import main

SEQS = ("dog-agility", "rollerblade", "motorbike")  # 25, 35 and 43 frames of 854×480
VOCAB = "label_id,label\n4,dog\n9,person\n12,motorcycle\n"
SEGMENTS = ("video,object,category,start_frame,end_frame\n"
            "dog-agility,dog,dog,0,24\n"
            "rollerblade,skater,person,0,19\n"
            "rollerblade,skater,person,25,34\n"
            "motorbike,bike,motorcycle,0,42\n")


@pytest.fixture
def annotator(capsys):
    """``annotator(*args)`` runs the command line here: ``(exit status, stdout, stderr)``."""
    def run(*args) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err
    return run


@pytest.fixture(autouse=True)
def _log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_LOG_DIR", str(tmp_path / "logs"))


def sequence(shared, name: str) -> Path:
    return shared("data", "davis2016", name)


def build(root: Path, shared, annotator) -> Path:
    """``root``: the three sequences, the vocabulary, the segments, DAVIS masks on every frame
    of dog-agility and on frame 0 of rollerblade (an anchor to propagate from)."""
    vocab = root.parent / f"{root.name}-vocab.csv"
    vocab.write_text(VOCAB)
    segs = root.parent / f"{root.name}-segs.csv"
    segs.write_text(SEGMENTS)
    rc, _out, err = annotator("dataset", "new", root, "--vocabulary", vocab, "--videos",
                              *(sequence(shared, s) for s in SEQS))
    assert rc == 0, err
    rc, _out, err = annotator("dataset", "import", root, "--segments", segs)
    assert rc == 0, err
    rc, _out, err = annotator("import", root / "projects" / "dog-agility", "--masks",
                              sequence(shared, "dog-agility") / "Annotations", "--object", "dog")
    assert rc == 0, err
    first = root.parent / f"{root.name}-rollerblade-anchor"
    first.mkdir()
    shutil.copy(sequence(shared, "rollerblade") / "Annotations" / "00000.png", first)
    rc, _out, err = annotator("import", root / "projects" / "rollerblade", "--masks", first,
                              "--object", "skater")
    assert rc == 0, err
    return root


@pytest.fixture
def dataset(tmp_path, shared, annotator) -> Path:
    return build(tmp_path / "ds", shared, annotator)
