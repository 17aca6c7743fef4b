"""File ▸ Export ▸ … for every format the command line writes, as a person uses it: the menu
entry, the save dialog (faked: it returns the path typed, and records where it opened), the
job, and the files read back. The dialog opens beside the project, never inside its folder,
and next time where the last export went."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

ENTRIES = [  # (menu entry, name typed, what must be there afterwards)
    ("COCO RLE with the frames", "coco-frames", ["annotations.json"]),
    ("COCO in the Datumaro layout", "datumaro",
     ["annotations/instances_default.json", "images/default"]),
    ("YouTube-VOS with the frames", "ytvos", ["meta.json", "Annotations", "JPEGImages"]),
    ("CVAT for images", "cvat-images.xml", []),
]


@pytest.mark.parametrize("entry,name,expect", ENTRIES)
def test_every_export_from_the_menu(ui, qtbot, tmp_path, monkeypatch, entry, name, expect):
    oid, seg = ui.anchor_bell()
    opened_at: list[str] = []

    def save(parent, title, where, *a, **k):
        opened_at.append(where)
        return str(tmp_path / (name if len(opened_at) == 1 else "again.json")), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000) as done:
        ui.menu_action("File", "Export", entry).trigger()
    outcome = done.args[0]
    assert not outcome.failed, outcome.error
    out = tmp_path / name
    for rel in expect:
        assert (out / rel).exists(), rel
    project = ui.win.session.project.dir
    assert Path(opened_at[0]).parent == project.parent  # beside the project, not inside it
    said = ui.win.status.currentMessage()
    assert said.startswith("Exported ") and str(out) in said and " 1 masks" not in said
    if name == "ytvos":
        meta = json.loads((out / "meta.json").read_text())
        (video,) = meta["videos"].values()
        assert [o["name"] for o in video["objects"].values()] == ["bell"]  # the masked one
        assert len(list((out / "JPEGImages").rglob("*.jpg"))) >= 1
    if name.endswith(".xml"):
        images = ET.parse(out).getroot().findall("image")
        assert any(m.get("label") == "bell" for im in images for m in im.findall("mask"))
    # the next dialog opens where this export went
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000) as done:
        ui.menu_action("File", "Export", "COCO RLE (JSON)").trigger()
    assert not done.args[0].failed and (tmp_path / "again.json").exists()
    assert Path(opened_at[1]).parent == tmp_path
