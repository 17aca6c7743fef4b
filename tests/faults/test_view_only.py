"""A project on read-only media opens in the window view-only (said in the title bar): its
masks are shown, the commands that would change it are off, and a click that would make a mask
is refused in words."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from tests.faults.conftest import remount_ro
from tests.gui.conftest import open_window


def test_read_only_project_opens_view_only(qtbot, mount_point, demo_dir):
    disk = mount_point("64m")
    shutil.copytree(demo_dir.parent, disk / "demo")
    project = disk / "demo" / demo_dir.name
    (project / "project.avs-shm").unlink(missing_ok=True)
    remount_ro(disk)
    win = open_window(qtbot, project)
    try:
        assert "view only" in win.windowTitle() and demo_dir.name in win.windowTitle()
        assert win.session.store.readonly
        assert len(win.session.store.objects()) == 2
        assert not win.actions_["import_segments"].isEnabled()  # File ▸ Import is off
        assert win.actions_["export_coco"].isEnabled()  # an export goes elsewhere
        qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton,
                         pos=win.canvas.to_widget(100.0, 100.0).toPoint())
        qtbot.waitUntil(lambda: "read-only" in win.status.currentMessage(), timeout=30000)
        assert str(project / "project.avs") in win.status.currentMessage()
        assert len(win.session.store.objects()) == 2 and win.session.store.mask_count() == 0
    finally:
        win.close_project()
