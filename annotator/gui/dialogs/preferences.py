"""Edit ▸ Preferences: engines and model files, device, precision, refine policy; your name
(recorded with every change and review), the brush, the frame cache and the questions before an
accept or a re-propagation; shortcuts.

Values live in the JSON settings (:mod:`annotator.settings`, shared with the command line): OK
writes them in one go; the window takes the brush and the shortcuts at once, the engines their
device when next loaded, a project its frame cache when next opened.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotator import settings
from annotator.errors import UserError


def _propagators() -> list[str]:
    try:
        from annotator.engines.engine_table import available_engines

        return available_engines()
    except Exception:  # pragma: no cover
        return []


def _spin(key: str, box: QSpinBox | QDoubleSpinBox, suffix: str,
          maximum: float) -> QSpinBox | QDoubleSpinBox:
    """A spin box for the number setting ``key``: its bounds and tooltip from the defaults file."""
    sp = settings.spec(key)
    box.setRange(sp.minimum if sp.minimum is not None else 0,
                 sp.maximum if sp.maximum is not None else maximum)
    box.setSuffix(suffix)
    box.setToolTip(sp.help)
    box.setValue(settings.for_editing(key))  # type: ignore[arg-type]
    return box


def _auto_type() -> str:
    from annotator.engines.devices import automatic_device

    return automatic_device()



def sam2_choices() -> list[str]:
    """The SAM 2.1 model files by name (the segmenter can be any of them)."""
    from annotator.engines.sam2_models import SAM2_NAMES

    return list(SAM2_NAMES)

class PreferencesDialog(QDialog):
    def __init__(self, parent: QWidget | None, actions: dict[str, QAction]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.resize(560, 520)
        self.actions = actions
        tabs = QTabWidget()
        self.tabs = tabs
        # engines
        eng = QWidget()
        form = QFormLayout(eng)
        self.segmenter = QComboBox()
        self.segmenter.addItem("SAM when its model file is present, else the fallback", "auto")
        self.segmenter.addItem("SAM 2.1 (the largest model file present)", "sam2")
        for name in sam2_choices():
            self.segmenter.addItem(f"SAM 2.1 {name.removeprefix('sam2.1_')}", name)
        self.segmenter.addItem("Weight-free fallback (watershed + GrabCut)", "fallback")
        self._select(self.segmenter, settings.for_editing("engines.segmenter"))
        self.propagator = QComboBox()
        self.propagator.addItem("Best available", "auto")
        for name in _propagators():
            self.propagator.addItem(name, name)
        self._select(self.propagator, settings.for_editing("engines.propagator"))
        self.device = QComboBox()
        self.device_note = QLabel("")
        self.device_note.setWordWrap(True)
        self._fill_devices(str(settings.for_editing("device")))
        self.precision = QComboBox()
        self.precision_note = QLabel("")
        self.precision_note.setWordWrap(True)
        self._fill_precisions()
        release_btn = QPushButton("Unload models now")
        release_btn.setToolTip("Free the memory of the loaded SAM and XMem; they load again, "
                               "on the chosen device, when next needed")
        release_btn.clicked.connect(self._release)
        self.refine = QComboBox()
        self.refine.addItem("Automatic: every frame with SAM on a GPU, none on a CPU", "auto")
        self.refine.addItem("Where the propagator is unsure (and every 10th frame)", "uncertain")
        self.refine.addItem("Every frame (slow on a CPU)", "every")
        self.refine.addItem("Every 10th frame", "k=10")
        self.refine.addItem("Off: propagated masks only", "off")
        self._select(self.refine, settings.for_editing("pipeline.refine"))
        models_btn = QPushButton("Manage model files…")
        models_btn.clicked.connect(self._models)
        form.addRow("Segmenter", self.segmenter)
        form.addRow("Propagator", self.propagator)
        form.addRow("Device", self.device)
        form.addRow("", self.device_note)
        form.addRow("Precision", self.precision)
        form.addRow("", self.precision_note)
        form.addRow("Loaded models", release_btn)
        form.addRow("Refinement", self.refine)
        form.addRow("Model files", models_btn)
        self._form = form
        self._show_device_note()
        form.addRow(QLabel("Engine and device changes apply to the next project opened; the "
                           "device is shared with the command line (annotator doctor shows it)."))
        tabs.addTab(eng, "Engines")
        tabs.addTab(self._window_tab(), "Window")
        # shortcuts
        names = [n for n, a in actions.items() if a.text()]
        self.keys = QTableWidget(len(names), 2)
        self.keys.setHorizontalHeaderLabels(["Command", "Shortcut"])
        self.keys.verticalHeader().hide()
        self._edits: dict[str, QKeySequenceEdit] = {}
        for r, name in enumerate(names):
            act = actions[name]
            self.keys.setItem(r, 0, QTableWidgetItem(act.title))
            edit = QKeySequenceEdit(act.shortcut())
            edit.setClearButtonEnabled(True)  # a command may have no key at all
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

    def _window_tab(self) -> QWidget:
        """The brush, the frame cache and when the window asks before an accept or a
        re-propagation."""
        tab = QWidget()
        form = QFormLayout(tab)
        self.person_name = QLineEdit(str(settings.for_editing("person.name") or ""))
        self.person_name.setObjectName("person_name")
        self.person_name.setPlaceholderText(settings.login_name())
        self.person_name.setToolTip(settings.spec("person.name").help)
        form.addRow("Your name", self.person_name)
        self.brush = _spin("canvas.brush", QSpinBox(), " px", 200)
        self.cache = _spin("cache.frames_mb", QSpinBox(), " MB", 65536)
        self.area_factor = _spin("guards.area_factor", QDoubleSpinBox(), " ×", 100.0)
        self.area_factor.setSingleStep(0.5)
        self.reviewed = _spin("guards.reviewed_frames", QSpinBox(), " masks", 100_000)
        self.frame_share = _spin("guards.frame_share", QDoubleSpinBox(), "", 1.0)
        self.leak_share = _spin("guards.leak_share", QDoubleSpinBox(), "", 1.0)
        self.sam_score = _spin("guards.sam_score", QDoubleSpinBox(), "", 1.0)
        for box in (self.frame_share, self.leak_share, self.sam_score):
            box.setSingleStep(0.05)
        form.addRow("Brush radius", self.brush)
        form.addRow("Frame cache", self.cache)
        form.addRow("Ask before accepting an anchor this many times larger or smaller than its "
                    "neighbours", self.area_factor)
        form.addRow("Ask before accepting an anchor covering more of the frame than",
                    self.frame_share)
        form.addRow("… with more of it far past the points clicked on it than", self.leak_share)
        form.addRow("… that SAM rates under", self.sam_score)
        form.addRow("Ask before re-propagating over more reviewed masks than", self.reviewed)
        where = QLabel(f"Saved in {settings.settings_path()}, shared with the command line. "
                       "The frame cache applies to the next project opened.")
        where.setWordWrap(True)
        where.setTextInteractionFlags(where.textInteractionFlags()
                                      | Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(where)
        return tab

    def _fill_devices(self, stored: str) -> None:
        """Every device a person may name; those this machine lacks are disabled, with the
        reason. A stored device the machine lacks is shown as auto, and the note says so."""
        from annotator.engines.devices import machine_devices

        have = machine_devices()
        model = self.device.model()
        for name, missing in have.items():
            label = name if missing is None else f"{name} — {missing}"
            self.device.addItem(label, name)
            if missing is not None:
                item = model.item(self.device.count() - 1)
                item.setEnabled(False)
                item.setToolTip(missing)
        if stored not in have or have[stored] is not None:
            reason = have.get(stored) or "not a device name this app knows"
            self.device_note.setText(f"The stored device {stored!r} cannot be used here "
                                     f"({reason}): the models run on the automatic choice.")
            stored = "auto"
        self._select(self.device, stored)
        try:
            from annotator.engines import registry

            where = registry.get().devices()
            if where:
                now = ", ".join(f"{k} on {v}" for k, v in where.items())
                text = self.device_note.text()
                self.device_note.setText((text + " " if text else "") + f"Now: {now}.")
        except Exception:  # noqa: BLE001 - the dialog opens whatever the engines' state
            pass

    def _fill_precisions(self) -> None:
        """auto / fp32 / bf16 / fp16, from the shared ``precision`` setting; fp16 is disabled
        without CUDA; the note says what auto picks here and why (the CPU's flags)."""
        import torch

        from annotator.engines.devices import bf16_support

        native, why = bf16_support()
        cuda = torch.cuda.is_available()
        items = [("auto", "Automatic: fp16 on CUDA, bf16 on a CPU where it is native and "
                          "measured faster, else fp32"),
                 ("fp32", "fp32 (full precision)"),
                 ("bf16", "bf16 where it keeps fp32's results" + ("" if native else
                                                                   " (emulated here: slower)")),
                 ("fp16", "fp16 (CUDA only)")]
        for value, text in items:
            self.precision.addItem(text, value)
        if not cuda:
            item = self.precision.model().item(self.precision.findData("fp16"))
            item.setEnabled(False)
            item.setToolTip("no CUDA device on this machine")
        self._select(self.precision, settings.for_editing("precision"))
        self.precision_note.setText(f"This CPU's bf16: {'native' if native else 'not native'} "
                                    f"({why}).")

    def _release(self) -> None:
        from annotator.engines import registry

        registry.get().release()
        self.device_note.setText("Models unloaded: they load again when next needed.")
        self._show_device_note()

    def _show_device_note(self) -> None:
        """The device note's row only while it says something (no models loaded and the stored
        device usable: no empty gap under Device)."""
        self._form.setRowVisible(self.device_note, bool(self.device_note.text()))

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        """Show ``value``; a value the list lacks (``k=5`` written by hand, a propagator not
        installed here) is added as it is, so OK does not replace it unasked."""
        i = combo.findData(value)
        if i < 0 and isinstance(value, str) and value:
            combo.addItem(f"{value} (from the settings file)", value)
            i = combo.count() - 1
        combo.setCurrentIndex(max(0, i))

    def _models(self) -> None:
        from annotator.gui.dialogs.models_dialog import ModelsDialog

        ModelsDialog(self).open()

    def restore_shortcuts(self) -> None:
        for name, edit in self._edits.items():
            edit.setKeySequence(QKeySequence(self._default(name)))

    def _shortcut_values(self) -> dict[str, str | None]:
        """``shortcuts.<name>`` for every command: None where its keys are its own defaults."""
        out: dict[str, str | None] = {}
        for name, edit in self._edits.items():
            seq = edit.keySequence().toString()
            default = QKeySequence(self._default(name)).toString()
            out[f"shortcuts.{name}"] = None if seq == default else seq
        return out

    def _default(self, name: str) -> str:
        """The command's first built-in key ("" when it has none)."""
        keys = getattr(self.actions[name], "default_shortcuts", [])
        return keys[0] if keys else ""

    def save(self) -> None:
        """OK: every value into the JSON settings in one write, then into the running window
        and engines. A settings file that cannot be written keeps the dialog open, saying why."""
        from annotator.engines import registry

        device, precision = self.device.currentData(), self.precision.currentData()
        segmenter_changed = self.segmenter.currentData() != settings.for_editing(
            "engines.segmenter")
        precision_changed = precision != settings.for_editing("precision")
        try:
            settings.update({
                "engines.segmenter": self.segmenter.currentData(),
                "engines.propagator": self.propagator.currentData(),
                "device": device,  # the engines and the command line read it there
                "precision": precision,
                "pipeline.refine": self.refine.currentData(),
                "cache.frames_mb": self.cache.value(),
                "canvas.brush": self.brush.value(),
                "person.name": self.person_name.text().strip() or None,
                "guards.area_factor": self.area_factor.value(),
                "guards.reviewed_frames": self.reviewed.value(),
                "guards.frame_share": self.frame_share.value(),
                "guards.leak_share": self.leak_share.value(),
                "guards.sam_score": self.sam_score.value(),
                **self._shortcut_values(),
            })
        except UserError as exc:
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Preferences not saved", str(exc),
                                         parent=self)
            self.error_box.open()  # the dialog stays open, as it was
            return
        reg = registry.get()
        if str(reg.choice.device) != device and not (
                device == "auto" and reg.choice.device.type == _auto_type()):
            reg.set_device(None if device == "auto" else device)  # models load there next
        if precision_changed:
            reg.set_device(None if device == "auto" else device,
                           precision=None if precision == "auto" else precision)
        session = getattr(self.parent(), "session", None)  # the window's open project
        if segmenter_changed and session is not None:
            session.forget_segmenter()  # the next click loads the chosen one (on a worker)
        for name, edit in self._edits.items():
            act = self.actions[name]
            seq = edit.keySequence()
            if seq.toString() != act.shortcut().toString():
                act.setShortcut(seq)
        canvas = getattr(self.parent(), "canvas", None)  # the window's, when it opened us
        if canvas is not None:
            canvas.set_brush_radius(self.brush.value())
        self.accept()
