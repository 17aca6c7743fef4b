"""*Propagate ▸ Batch* with "Run on: Ray": the dialog offers the cluster choice (and says how
to install Ray where it is missing), and the window runs the batch on the local Ray instance —
the person picks the projects and the choice in the dialog and presses OK; the status shows
the batch's lines; the projects get the local queue's masks. Real widgets, real stores."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from annotator import settings
from annotator.gui import settings as S
from annotator.gui.dialogs.batch_dialog import BatchDialog
from tests.cluster.conftest import make_projects, masks_of
from tests.conftest import shared_path
from tests.gui.conftest import _private_settings, window  # noqa: F401


def press_ok(qtbot, dlg) -> None:
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def choose(qtbot, dlg, steps: int) -> None:
    """Move the "Run on" choice ``steps`` down with the keyboard, as a person does."""
    dlg.run_on.setFocus()
    for _ in range(steps):
        qtbot.keyClick(dlg.run_on, Qt.Key.Key_Down)


def test_the_dialog_remembers_the_cluster_choice(qtbot):
    pytest.importorskip("ray")
    dlg = BatchDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.run_on.currentData() == "" and not dlg.address.isVisible()
    choose(qtbot, dlg, 3)  # a Ray cluster through its client
    assert dlg.address.isVisible()
    dlg.address.clear()
    qtbot.keyClicks(dlg.address, "ray://head:10001")
    press_ok(qtbot, dlg)
    assert settings.get("pipeline.cluster") == "ray://head:10001"
    assert S.app_settings().value("pipeline/cluster") is None  # a preference: not in QSettings
    again = BatchDialog()  # the next batch starts from the same choice
    qtbot.addWidget(again)
    assert again.cluster() == "ray://head:10001"


def test_without_ray_the_choices_are_shown_disabled_with_the_install_line(qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as where the extra is not installed
    dlg = BatchDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    assert "pip install 'avs-annotator[cluster]'" in dlg.ray_hint.text()
    assert dlg.ray_hint.isVisible()
    choose(qtbot, dlg, 3)  # the disabled entries cannot be chosen
    assert dlg.run_on.currentData() == ""
    press_ok(qtbot, dlg)
    assert settings.get("pipeline.cluster") == ""


@pytest.mark.slow
def test_the_window_runs_the_batch_on_ray(qtbot, window, ray_local, local_masks,  # noqa: F811
                                          tmp_path):
    dirs = make_projects(tmp_path / "batch", shared_path, ["boat", "bus"])
    for d in dirs:
        S.add_recent(d)
    statuses: list[str] = []
    window.session.job_progress.connect(lambda done, total, msg: statuses.append(msg))

    def in_dialog():
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, BatchDialog)
        for row in range(dlg.list.count()):
            item = dlg.list.item(row)
            if item.text() in {str(d) for d in dirs}:
                rect = dlg.list.visualItemRect(item)
                qtbot.mouseClick(dlg.list.viewport(), Qt.MouseButton.LeftButton,
                                 pos=rect.center())
        choose(qtbot, dlg, 1)  # Ray on this machine
        press_ok(qtbot, dlg)

    QTimer.singleShot(300, in_dialog)
    with qtbot.waitSignal(window.session.job_finished, timeout=120000) as blocker:
        window.actions_["batch"].trigger()  # Propagate ▸ Batch over several projects…
    message = blocker.args[0].message
    assert message.startswith("Batch on Ray (ray): batch: 2/2 projects done")
    assert "boat: done, 19 masks written" in message and "bus: done" in message
    assert any("started on worker" in m and "total:" in m for m in statuses)
    assert masks_of(dirs) == local_masks(("boat", "bus"))
    assert window.session.store.mask_count() == 0  # the open project is untouched
