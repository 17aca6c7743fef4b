"""Objects, files and persistence on the real window: add/rename/delete with undo, export
from the menu (read back with pycocotools), import, reopening shows the same state, settings
and recent projects persist, a dropped video starts a project, bad input gets a clear answer."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox


def _anchor(ui):
    return ui.anchor_bell()


def test_export_coco_from_menu_reads_back(ui, qtbot, tmp_path, monkeypatch):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    oid, seg = _anchor(ui)
    out = tmp_path / "export.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "json"))
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=60000):
        ui.menu_action("File", "Export", "COCO RLE (JSON)").trigger()
    coco = COCO(str(out))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == ui.store.mask_count() == 1
    decoded = mask_utils.decode(anns[0]["segmentation"]).astype(bool)
    # clicked through the weight-free segmenter (no SAM here), and the file says so
    assert anns[0]["source"] == "grabcut"
    assert np.array_equal(decoded, ui.store.mask(oid, seg.start).decode())
    assert f"wrote {out}: 1 mask on 1 frame" in ui.win.status.currentMessage()


def test_export_png_and_import_segments(ui, qtbot, tmp_path, monkeypatch):
    _anchor(ui)
    oid, seg = ui.bell()
    out = tmp_path / "png"  # a new folder, typed into the save dialog: the export makes it
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=60000):
        ui.menu_action("File", "Export", "DAVIS PNG").trigger()
    # the DAVIS layout: every frame, ids 1..N in creation order (the bell is 1)
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == ui.win.session.frame_count
    from PIL import Image

    label = np.array(Image.open(out / f"{seg.start:05d}.png"))
    assert set(np.unique(label)) == {0, 1}
    assert np.array_equal(label == 1, ui.store.mask(oid, seg.start).decode())
    assert (out / "objects.json").exists()
    csv = tmp_path / "segs.csv"
    csv.write_text("object,category,start_s,end_s\nflute,flute,1.0,2.0\n")
    ui.win.files.import_segments(csv)
    ui.idle()
    flute = ui.store.object_by_name("flute")
    assert flute is not None and len(ui.store.segments(flute.id)) == 1
    assert any(ui.win.segments_panel.model.names.get(s.object_id) == "flute"
               for s in ui.win.segments_panel.model.rows)
    ui.trigger("undo")
    ui.idle()
    assert ui.store.object_by_name("flute") is None


def test_reopening_shows_the_same_state(ui, qtbot, demo_dir):
    oid, seg = _anchor(ui)
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=120000):
        ui.trigger("propagate")
    ui.idle()
    masks = {m.frame: m.rev_id for m in ui.store.masks_of(oid)}
    undo_text = ui.win.session.history.undoText()
    points = list(ui.win.canvas.points)
    statuses = [s.status for s in ui.store.segments()]
    win = ui.win
    win.close_project()
    assert win.session is None
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None, timeout=30000)
    ui.idle()
    assert {m.frame: m.rev_id for m in win.session.store.masks_of(oid)} == masks
    assert [s.status for s in win.session.store.segments()] == statuses
    assert win.session.history.undoText() == undo_text
    ui.go_to_segment(seg.id)
    ui.idle()
    assert win.canvas.points == points and len(points) == 1
    assert oid in win.canvas.view.anchors
    # the undo history survived the restart: undo the propagation, then the accept
    ui.trigger("undo")
    ui.idle()
    assert [m.frame for m in win.session.store.masks_of(oid)] == [seg.start]
    ui.trigger("undo")
    ui.idle()
    assert not win.session.store.mask(oid, seg.start).anchor


def test_layout_and_recent_projects_persist(ui, qtbot, demo_dir):
    from annotator.gui import settings as S
    from annotator.gui.main_window import MainWindow

    ui.win.docks["timeline"].hide()
    ui.win.close_project()
    assert S.recent_projects()[0] == str(demo_dir.resolve())
    assert S.app_settings().value("last_project") == str(demo_dir.resolve())
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert not again.docks["timeline"].isVisible()
    assert [a.text() for a in again.recent_menu.actions()] == [str(demo_dir.resolve())]


def test_drop_a_video_starts_a_project(qtbot, tmp_path, demo_dir):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    video = tmp_path / "clip.mp4"
    video.write_bytes((demo_dir.parent / "demo.mp4").read_bytes())
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video))])
    event = QDropEvent(QPoint(200, 200).toPointF(), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    win.dropEvent(event)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    assert win.session.project.dir == (tmp_path / "clip.mp4.avsproj").resolve()
    assert win.session.frame_count == 200
    win.close_project()


def test_unreadable_video_names_the_file_and_why(qtbot, tmp_path):
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_path(bad)
    qtbot.waitUntil(lambda: win.errors.last_error is not None, timeout=30000)
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert "broken.mp4" in box.text()
    assert win.session is None and win.isVisible()
    box.close()


def test_run_app_and_open_command_open_the_project(qtbot, demo_dir, monkeypatch):
    """``annotator open DIR`` → run_app → the window on that project. The real ``exec()`` is
    replaced by a loop that waits for the project and closes the window (a nested exec would
    leave pytest-qt's application without an event dispatcher)."""
    from annotator.cli import main
    from annotator.gui.main_window import MainWindow

    seen = []

    def fake_exec(self=None):
        win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)
                   and w.isVisible())
        qtbot.waitUntil(lambda: win.session is not None, timeout=30000)
        seen.append((win.session.project.dir, win.session.frame_count))
        win.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert main(["open", str(demo_dir)]) == 0
    assert seen == [(demo_dir.resolve(), 200)]


def test_moved_video_can_be_located(qtbot, tmp_path, demo_dir):
    from dataclasses import replace

    from annotator.core.project import Project
    from annotator.gui.app import application
    from annotator.gui.main_window import MainWindow

    application()
    moved = tmp_path / "elsewhere" / "demo.mp4"
    moved.parent.mkdir()
    (demo_dir.parent / "demo.mp4").rename(moved)
    with Project.open(demo_dir) as project:  # forget the copied-from location too
        rec = project.video_record()
        project.store.set_video(replace(rec, path=str(tmp_path / "gone" / "demo.mp4")))
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_path(demo_dir)
    qtbot.waitUntil(lambda: win.errors.last_error is not None, timeout=30000)
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert "relink" in box.text() and "demo.mp4" in box.text()
    assert box.button(QMessageBox.StandardButton.Open).text() == "Locate video…"
    box.close()
    win.projects.relink_and_open(demo_dir, moved)
    qtbot.waitUntil(lambda: win.session is not None and win.canvas.view is not None,
                    timeout=30000)
    assert win.session.project.video_path() == moved.resolve()
    win.close_project()


def test_export_cvat_from_menu(ui, qtbot, tmp_path, monkeypatch):
    """File ▸ Export CVAT for video: one track for the bell, its mask on its frame."""
    import xml.etree.ElementTree as ET

    oid, seg = _anchor(ui)
    out = tmp_path / "tracks.xml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "xml"))
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=60000):
        ui.menu_action("File", "Export", "CVAT for video").trigger()
    root = ET.parse(out).getroot()
    tracks = root.findall("track")
    assert [t.get("label") for t in tracks] == ["bell"]
    masks = [m for m in tracks[0].findall("mask") if m.get("outside") == "0"]
    assert [int(m.get("frame")) for m in masks] == [seg.start]
    assert "Exported CVAT for video 1.1" in ui.win.status.currentMessage()
