"""Edit ▸ Preferences: engines and model files, device, refine policy, cache size, shortcuts.

Values live in QSettings; engines are re-created with the new choice when next needed.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.settings import app_settings


def _propagators() -> list[str]:
    try:
        from annotator.engines.propagator import available_engines

        return available_engines()
    except Exception:  # pragma: no cover
        return []


class PreferencesDialog(QDialog):
    def __init__(self, parent: QWidget | None, actions: dict[str, QAction]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.resize(560, 520)
        self.actions = actions
        s = app_settings()
        tabs = QTabWidget()
        # engines
        eng = QWidget()
        form = QFormLayout(eng)
        self.segmenter = QComboBox()
        self.segmenter.addItem("SAM when its model file is present, else the fallback", "auto")
        self.segmenter.addItem("Weight-free fallback (watershed + GrabCut)", "fallback")
        self._select(self.segmenter, s.value("engines/segmenter", "auto"))
        self.propagator = QComboBox()
        self.propagator.addItem("Best available", "auto")
        for name in _propagators():
            self.propagator.addItem(name, name)
        self._select(self.propagator, s.value("engines/propagator", "auto"))
        self.device = QComboBox()
        for d in ("auto", "cpu", "cuda", "mps"):
            self.device.addItem(d, d)
        self._select(self.device, s.value("engines/device", "auto"))
        self.refine = QComboBox()
        self.refine.addItem("Automatic: every frame with SAM on a GPU, none on a CPU", "auto")
        self.refine.addItem("Where the propagator is unsure (and every 10th frame)", "uncertain")
        self.refine.addItem("Every frame (slow on a CPU)", "every")
        self.refine.addItem("Every 10th frame", "k=10")
        self.refine.addItem("Off: propagated masks only", "off")
        self._select(self.refine, s.value("pipeline/refine", "auto"))
        self.cache = QSpinBox()
        self.cache.setRange(64, 65536)
        self.cache.setSuffix(" MB")
        self.cache.setValue(int(s.value("cache/frames_mb", 512)))
        models_btn = QPushButton("Manage model files…")
        models_btn.clicked.connect(self._models)
        form.addRow("Segmenter", self.segmenter)
        form.addRow("Propagator", self.propagator)
        form.addRow("Device", self.device)
        form.addRow("Refinement", self.refine)
        form.addRow("Frame cache", self.cache)
        form.addRow("Model files", models_btn)
        form.addRow(QLabel("Engine and device changes apply to the next project opened; the "
                           "device is shared with the command line (annotator doctor shows it)."))
        tabs.addTab(eng, "Engines")
        # shortcuts
        names = [n for n, a in actions.items() if a.text()]
        self.keys = QTableWidget(len(names), 2)
        self.keys.setHorizontalHeaderLabels(["Command", "Shortcut"])
        self.keys.verticalHeader().hide()
        self._edits: dict[str, QKeySequenceEdit] = {}
        for r, name in enumerate(names):
            act = actions[name]
            self.keys.setItem(r, 0, QTableWidgetItem(act.text().replace("&", "")))
            edit = QKeySequenceEdit(act.shortcut())
            self.keys.setCellWidget(r, 1, edit)
            self._edits[name] = edit
        self.keys.resizeColumnToContents(0)
        self.keys.horizontalHeader().setStretchLastSection(True)
        tabs.addTab(self.keys, "Shortcuts")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self.restore_shortcuts)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs)
        lay.addWidget(buttons)

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        i = combo.findData(value)
        combo.setCurrentIndex(max(0, i))

    def _models(self) -> None:
        from annotator.gui.dialogs.models_dialog import ModelsDialog

        ModelsDialog(self).open()

    def restore_shortcuts(self) -> None:
        for name, edit in self._edits.items():
            keys = getattr(self.actions[name], "default_shortcuts", "")
            first = keys[0] if isinstance(keys, list) else keys
            edit.setKeySequence(QKeySequence(first or ""))

    def save(self) -> None:
        s = app_settings()
        s.setValue("engines/segmenter", self.segmenter.currentData())
        s.setValue("engines/propagator", self.propagator.currentData())
        s.setValue("engines/device", self.device.currentData())
        # the device is also the engines' own user setting (XMem, SAM, the CLI read it there)
        from annotator import settings as user_settings

        device = self.device.currentData()
        if str(user_settings.get("device", "auto") or "auto") != device:
            user_settings.set("device", None if device == "auto" else device)
        s.setValue("pipeline/refine", self.refine.currentData())
        s.setValue("cache/frames_mb", self.cache.value())
        for name, edit in self._edits.items():
            act = self.actions[name]
            seq = edit.keySequence()
            if seq.toString() != act.shortcut().toString():
                act.setShortcut(seq)
                s.setValue(f"shortcuts/{name}", seq.toString())
        s.sync()
        self.accept()
