"""New project: which video, and where its project folder goes.

The default place is beside the video (``VIDEO.avsproj``); when the video's folder cannot be
written to (read-only media, a shared folder) it is the per-user projects folder, and the
dialog says so. The person may choose any other folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from annotator.core.project import default_project_dir, folder_is_writable, suggested_project_dir

VIDEO_FILTER = "Videos (*.mp4 *.mkv *.avi *.mov *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"


class NewProjectDialog(QDialog):
    """Fill ``video`` and ``location`` (typed, pasted or chosen with Browse…), then OK."""

    def __init__(self, parent: QWidget | None = None, video: str | Path = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("New project from a video")
        self.setMinimumWidth(520)
        self.video = QLineEdit(str(video))
        self.video.setPlaceholderText("a video file or a folder of frames")
        self.location = QLineEdit()
        self.location.setPlaceholderText("the project folder (VIDEO.avsproj)")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #c0392b")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.video_btn = QPushButton("Browse…")
        self.video_btn.clicked.connect(lambda: self._browse_video())
        self.location_btn = QPushButton("Browse…")
        self.location_btn.clicked.connect(lambda: self._browse_location())
        form = QFormLayout(self)
        form.addRow("Video", _row(self.video, self.video_btn))
        form.addRow("Project folder", _row(self.location, self.location_btn))
        form.addRow("", self.note)
        form.addRow(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._suggested = ""
        self.video.textChanged.connect(self._suggest)
        self.location.textChanged.connect(self._note_follows)
        self._suggest()

    def _suggest(self) -> None:
        """Propose a project folder for the video (unless the person typed their own)."""
        text = self.video.text().strip()
        if not text or not Path(text).name or not Path(text).exists():
            self.note.setText("")
            return
        folder, why = suggested_project_dir(text)
        if self.location.text().strip() in ("", self._suggested):
            self.location.setText(str(folder))
            self._suggested = str(folder)
            self.note.setText(f"Suggested: {why}.")

    def _note_follows(self, text: str) -> None:
        """The note speaks of the suggestion only while the location is the suggestion."""
        if self._suggested and text.strip() != self._suggested:
            self.note.setText("")

    def _browse_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "New project from video",
                                              self.video.text(), VIDEO_FILTER)
        if path:
            self.video.setText(path)
            self._suggest()

    def _browse_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Put the project folder in…")
        if folder:
            name = default_project_dir(self.video.text().strip() or "video").name
            self.location.setText(str(Path(folder) / name))

    def _ok(self) -> None:
        self._suggest()
        problem = self.check()
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            self._fit_height()
            return
        self.accept()

    def _fit_height(self) -> None:
        """Grow to show a wrapped reason whole (a window does not follow its layout's
        height-for-width by itself, so a second line was cut)."""
        lay = self.layout()
        lay.activate()
        need = lay.totalHeightForWidth(self.width())
        if need > self.height():
            self.resize(self.width(), need)

    def check(self) -> str:
        """What is wrong with the values ('' when they can be used)."""
        video, location = self.video.text().strip(), self.location.text().strip()
        if not video:
            return "Choose the video (a file, or a folder of frames)."
        if not Path(video).exists():
            return f"{video} does not exist: check the path or choose it with Browse…"
        if not location:
            return "Choose where the project folder goes."
        parent = Path(location)
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not folder_is_writable(parent):
            return (f"{parent} cannot be written to: choose another place for the project "
                    "(Browse…).")
        return ""

    def values(self) -> tuple[Path, Path]:
        return Path(self.video.text().strip()), Path(self.location.text().strip())


def _row(edit: QLineEdit, button: QPushButton) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    lay.addWidget(button)
    return w
