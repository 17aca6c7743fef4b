"""File ▸ Export PNG masks into a folder that holds other files: the window refuses it in its
own words (choose an empty or a new folder), not with the command line's --overwrite, and
writes nothing there; a new folder's name typed into the dialog is made. The dialog is faked
(it returns the path typed), the rest is the real menu entry, job and export."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog


def _export_png(ui, qtbot):
    with qtbot.waitSignal(ui.win.session.job_finished, timeout=60000) as done:
        ui.menu_action("File", "Export", "DAVIS PNG").trigger()
    return done.args[0]


def test_a_folder_of_other_files_is_refused_in_the_windows_words(ui, qtbot, tmp_path,
                                                                 monkeypatch):
    ui.anchor_bell()
    taken = tmp_path / "holiday photos"
    taken.mkdir()
    (taken / "beach.jpg").write_bytes(b"not ours")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(taken), ""))
    result = _export_png(ui, qtbot)
    assert result.failed
    said = ui.win.status.currentMessage()
    assert str(taken) in said and "choose an empty or a new folder" in said
    assert "--overwrite" not in said and "--overwrite" not in result.error
    assert sorted(p.name for p in taken.iterdir()) == ["beach.jpg"]  # nothing written there
    # a new folder's name typed into the dialog is made
    fresh = tmp_path / "masks"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(fresh), ""))
    result = _export_png(ui, qtbot)
    assert not result.failed and len(list(fresh.glob("*.png"))) == ui.win.session.frame_count
