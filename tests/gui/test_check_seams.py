"""The check view after a fix whose re-propagation left a bad frame (issue 25), pressed as a
person presses it: DAVIS mallard-fly, the first frame's ground truth as the anchor, propagated
with Shift+P by the real pipeline (weight-free engines), a fix on frame 50 by clicks on the
canvas (the real weight-free segmenter), Enter, the Re-propagate action (R), then the list.

The re-propagation runs backward from the fix to frame 26 and loses the bird again; frame 25,
beside its range, keeps the good mask of the run from frame 0. No frame of that run looks
wrong against its own anchor, so before the seam score the list held no row covering frame 26
(the run's own scores, ``p_run``, are checked below to give none); where the two runs meet the
mask jumps, and the list shows the seam."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from annotator.pipeline.flags import flag_label
from tests.gui.conftest import open_window
from tests.person import iou, next_click

SEQ = "mallard-fly"
FIX = 50
SEAM = (25, 26)
LEFT = Qt.MouseButton.LeftButton


def _rows(cv) -> list[tuple[int, int, str]]:
    out = []
    for i in range(cv.tree.topLevelItemCount()):
        it = cv.tree.topLevelItem(i)
        a, _, b = it.text(1).partition("–")
        out.append((int(a), int(b), it.text(2)))
    return out


def test_a_bad_frame_left_beside_the_re_propagated_range_is_listed(qtbot, tmp_path, shared):
    from annotator.core.project import Project
    from annotator.pipeline.seams import clips_without_seams
    from tests.gui.conftest import _UI

    src = shared("data", "davis2016", SEQ)

    def truth(f: int) -> np.ndarray:
        return np.array(Image.open(src / "Annotations" / f"{f:05d}.png")) > 0

    with Project.create(tmp_path / "mallard.avsproj", src / "JPEGImages", fps=24) as project:
        st = project.store
        oid = st.add_object("mallard", "bird")
        st.add_segment(oid, 0, st.frame_count - 1)
        st.put_mask(oid, 0, truth(0), source="imported")  # stands in for an accepted first mask
    win = open_window(qtbot, tmp_path / "mallard.avsproj", size=(1366, 768))
    ui = _UI(qtbot, win)
    try:
        with qtbot.waitSignal(win.session.job_finished, timeout=300000):
            ui.key(Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)  # propagate everything
        ui.key(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # the check view
        cv = win.check_view
        qtbot.waitUntil(lambda: cv.tree.topLevelItemCount() > 0, timeout=30000)
        assert any(a <= FIX <= b for a, b, _ in _rows(cv))  # frame 50 lies in a listed clip
        row = cv.tree.topLevelItem(0)
        qtbot.mouseClick(cv.tree.viewport(), LEFT, pos=cv.tree.visualItemRect(row).center())
        ui.idle()
        assert win.state.object_id == oid
        # the person re-propagates by hand: the check view's automatic re-propagation off
        auto = cv.auto_repropagate
        qtbot.mouseClick(auto, LEFT, pos=QPoint(8, auto.height() // 2))  # its box
        assert not auto.isChecked()
        ui.key(Qt.Key.Key_Home)
        for _ in range(FIX // 10):
            ui.key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
        ui.idle()
        assert win.state.frame == FIX
        ui.key(Qt.Key.Key_Delete)  # start the fix afresh
        ui.idle()
        assert ui.store.mask(oid, FIX) is None
        mask, good = None, truth(FIX)
        for _ in range(10):  # clicks on the canvas until the mask is right
            x, y, positive = next_click(mask, good)
            ui.click(x, y, positive)
            ui.idle()
            mask = ui.store.mask(oid, FIX).decode()
            if iou(mask, good) >= 0.8:
                break
        assert iou(mask, good) >= 0.8
        ui.key(Qt.Key.Key_Return)  # the fix becomes an anchor (no guard questions it)
        ui.idle()
        assert ui.store.mask(oid, FIX).anchor and win.dialog is None
        with qtbot.waitSignal(win.session.job_finished, timeout=300000):
            ui.key(Qt.Key.Key_R)  # Re-propagate between anchors
        ui.idle()

        st = ui.store
        bad = {f for f in range(st.frame_count) if not st.mask(oid, f).anchor
               and iou(st.mask(oid, f).decode(), truth(f)) < 0.5}
        assert SEAM[1] in bad and SEAM[0] not in bad  # the premise: the fix's run went wrong
        assert not any(c.start <= SEAM[1] <= c.end for c in clips_without_seams(st, oid))
        # the list: a row covers the bad frame, and says why in words
        qtbot.waitUntil(lambda: any(a <= SEAM[1] <= b for a, b, _ in _rows(cv)), timeout=30000)
        i, (a, b, flags) = next((i, r) for i, r in enumerate(_rows(cv)) if r[0] <= SEAM[1] <= r[1])
        assert flag_label("seam") in flags and "_" not in flags
        assert "Two propagations from different anchors meet here" in \
            cv.tree.topLevelItem(i).toolTip(2)
        assert "No flagged frames" not in cv.summary.text()
        item = cv.tree.topLevelItem(i)
        qtbot.mouseClick(cv.tree.viewport(), LEFT, pos=cv.tree.visualItemRect(item).center())
        ui.idle()
        assert win.state.frame in SEAM  # the row goes to the seam
    finally:
        win.close_project()
