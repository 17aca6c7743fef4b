"""The timeline's sound rows: the waveform, the log-mel spectrogram and the proposals.

The analysis cache (:class:`annotator.core.audio.AudioAnalysis`) is built on a thread of its
own when the project opens; until then the rows say how far it got. Images are made off the
GUI thread (``session.run``) for one view ``(v0, v1, width)``: the envelope and spectrogram are
read for the columns' time spans — frame ``f`` spans ``[time_of(f), time_of(f + 1))`` — and
turned into ``QImage``s. The GUI thread only paints the last finished images, stretched to the
current view while a newer one renders.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QRectF, Qt, QThreadPool, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from annotator.gui.workers import TaskRunner

if TYPE_CHECKING:  # pragma: no cover
    from annotator.gui.timeline import Timeline

SOUND_H = 12  # the proposals' row
WAVE_COLOR = (102, 204, 255)
#: a magma-like colormap (dark = quiet, yellow = loud), interpolated to 256 entries
_ANCHORS = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                     (245, 125, 21), (250, 193, 39), (252, 255, 164)], np.float64)
LUT = np.stack([np.interp(np.linspace(0, len(_ANCHORS) - 1, 256), np.arange(len(_ANCHORS)),
                          _ANCHORS[:, c]) for c in range(3)], axis=1).astype(np.uint8)
PROPOSAL_COLORS = {"open": "#ffa726", "accepted": "#66bb6a", "rejected": "#616161"}


def column_times(edges: np.ndarray, v0: int, v1: int, width: int) -> np.ndarray:
    """Seconds at the ``width + 1`` column edges of the frames [v0, v1), through the frames'
    own times (``edges``: the start of every frame, then the end of the last)."""
    pos = np.linspace(v0, v1, width + 1)
    return np.interp(pos, np.arange(len(edges)), edges)


def _bins(te: np.ndarray, fine: int) -> np.ndarray:
    """The first fine bin of every column, for ``fine`` bins evenly over [te[0], te[-1])."""
    span = max(1e-9, te[-1] - te[0])
    return np.clip(((te[:-1] - te[0]) / span * fine).astype(np.int64), 0, fine - 1)


def render(analysis: Any, edges: np.ndarray, v0: int, v1: int, width: int, wave_h: int,
           spec_h: int) -> tuple[QImage, QImage]:
    """The waveform and spectrogram images of frames [v0, v1) at ``width`` columns (worker)."""
    te = column_times(edges, v0, v1, width)
    fine = 4 * width
    lo, hi = analysis.envelope(float(te[0]), float(te[-1]), fine)
    idx = _bins(te, fine)
    cmin, cmax = np.minimum.reduceat(lo, idx), np.maximum.reduceat(hi, idx)
    rows = np.arange(wave_h, dtype=np.float32)[:, None]
    top = np.floor((1 - np.clip(cmax, -1, 1)) / 2 * (wave_h - 1))
    bot = np.ceil((1 - np.clip(cmin, -1, 1)) / 2 * (wave_h - 1))
    on = (rows >= top[None, :]) & (rows <= bot[None, :])
    wave = np.zeros((wave_h, width, 4), np.uint8)
    wave[on] = (*WAVE_COLOR, 255)
    wave[wave_h // 2, :] = np.maximum(wave[wave_h // 2, :], (70, 90, 110, 255))
    if spec_h <= 0:
        return _qimage(wave), QImage()
    spec_fine = analysis.spectrogram(float(te[0]), float(te[-1]), 2 * width)
    idx2 = _bins(te, 2 * width)
    spec = np.maximum.reduceat(spec_fine, idx2, axis=1) if spec_fine.shape[1] else \
        np.zeros((spec_fine.shape[0], width), np.float32)
    n_mels = max(1, spec.shape[0])
    band = (n_mels - 1) - (np.arange(spec_h) * n_mels // max(1, spec_h))  # top row = high
    values = (np.clip(spec[band, :], 0, 1) * 255).astype(np.uint8)
    spec_rgba = np.empty((spec_h, width, 4), np.uint8)
    spec_rgba[..., :3] = LUT[values]
    spec_rgba[..., 3] = 255
    return _qimage(wave), _qimage(spec_rgba)


def _onset_bounds(analysis: Any, edges: np.ndarray) -> np.ndarray:
    """The frame boundaries nearest the audio onsets (worker: reads the cache)."""
    pos = np.interp(analysis.onsets(), edges, np.arange(len(edges)))
    return np.unique(np.round(pos).astype(np.int64))


def _qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class AudioRows:
    """The sound rows of one timeline: analysis state, rendered images, proposals."""

    def __init__(self, timeline: Timeline) -> None:
        self.t = timeline
        self.session = timeline.session
        self.analysis: Any = None
        self.state = "starting"  # "building", "ready", "none" (no audio track), "failed"
        self.text = "sound: looking for an audio track…"
        self.progress = 0.0  # written by the build thread, read by a timer
        self.images: tuple[tuple, QImage, QImage] | None = None  # (key, wave, spectrogram)
        self._want: tuple | None = None
        self._rendering = False
        self.selected: int | None = None  # proposal id
        self.onset_bounds = np.zeros(0, np.int64)
        self._edges: np.ndarray | None = None
        self._cancel = threading.Event()
        # the build takes a thread of its own (an hour of sound takes a while) so that frame
        # loads keep the session's pool; it stops at its next progress report once the project
        # closes (the pool belongs to the session, which waits for it when it is deleted)
        pool = QThreadPool(self.session)
        pool.setMaxThreadCount(1)
        self._builder = TaskRunner(pool, self.session)
        self._poll = QTimer(timeline)
        self._poll.setInterval(200)
        self._poll.timeout.connect(self._show_progress)

    # -- the analysis ----------------------------------------------------------------------------
    def start(self) -> None:
        session = self.session
        video, cache = session.video, session.project.cache_dir

        def open_analysis() -> tuple:
            from annotator.core.audio import AudioAnalysis

            times = np.asarray(getattr(video, "times", np.arange(len(video)) / session.fps),
                               np.float64)
            edges = np.append(times, max(float(getattr(video, "duration", 0.0)),
                                         times[-1] + 1.0 / session.fps))
            analysis = AudioAnalysis(video, cache)
            ready = analysis.has_audio and analysis.ready  # reads the cache's description
            return analysis, edges, _onset_bounds(analysis, edges) if ready else None

        session.run(open_analysis, self._opened, self._failed)

    def _opened(self, result: tuple) -> None:
        if self.session.closed:
            return
        self.analysis, self._edges, bounds = result
        if not self.analysis.has_audio:
            self.state, self.text = "none", "no audio track"
            self.t.update()
            return
        if bounds is not None:  # the cache was there already
            self._ready(bounds)
            return
        self.state, self.text = "building", "analysing the sound…"
        session, cancel = self.session, self._cancel

        def progress(fraction: float) -> None:
            self.progress = float(fraction)
            if getattr(session, "closed", True):
                cancel.set()

        analysis, edges = self.analysis, self._edges

        def build() -> np.ndarray | None:
            return _onset_bounds(analysis, edges) if analysis.build(progress, cancel) else None

        self._poll.start()
        self._builder.submit(build, self._ready, self._failed)
        self.t.update()

    def _show_progress(self) -> None:
        if self.state == "building":
            self.text = f"analysing the sound… {self.progress:.0%}"
            self.t.update()

    def _failed(self, exc: BaseException) -> None:
        if self.session.closed:  # the timeline is gone with it
            return
        self._poll.stop()
        self.state, self.text = "failed", f"sound not shown: {exc}"
        self.session.say(f"The sound cannot be shown: {exc}", True)
        self.t.update()

    def _ready(self, bounds: np.ndarray | None) -> None:
        """The cache is built (``bounds``: the onsets' frame boundaries), or the build was
        cancelled (None)."""
        if self.session.closed:  # the timeline is gone with it
            return
        self._poll.stop()
        if bounds is None:
            return
        self.state, self.text = "ready", ""
        self.onset_bounds = bounds
        self.t.update()

    # -- images ----------------------------------------------------------------------------------
    def request(self, v0: int, v1: int, width: int, wave_h: int, spec_h: int) -> None:
        """Make the images of this view unless they are there or on their way."""
        key = (v0, v1, width, wave_h, spec_h)
        if self.state != "ready" or width <= 0 or (self.images and self.images[0] == key):
            return
        self._want = key
        if self._rendering:
            return
        self._rendering = True
        analysis, edges = self.analysis, self._edges

        def done(images: tuple[QImage, QImage]) -> None:
            self._rendering = False
            self.images = (key, *images)
            if self._want != key:
                self.request(*self._want)
            self.t.update()

        def failed(exc: BaseException) -> None:
            self._rendering = False
            self.session.failed.emit(exc)

        self.session.run(lambda: render(analysis, edges, *key), done, failed)

    def paint_rows(self, p: QPainter, label_w: int, top: int, width: int) -> None:
        """Waveform, spectrogram and proposals from ``top`` down, with the current object's
        segments (and the selected one) drawn across them."""
        t = self.t
        wave_h, spec_h = t.sound_heights()
        wave = QRectF(label_w, top, width, wave_h - 2)
        spec = QRectF(label_w, top + wave_h, width, max(0, spec_h - 2))
        sound = QRectF(label_w, t.sound_top, width, SOUND_H - 2)
        self.request(t.v0, t.v1, width, int(wave.height()), int(spec.height()))
        self.paint(p, label_w, width, wave, spec)
        self.paint_sound(p, label_w, width, sound)
        p.setPen(QColor("#bbbbbb"))
        for rect, text in ((wave, "waveform"), (spec, "spectrogram"), (sound, "sound")):
            if rect.height() >= 10:  # a short window's strip of waveform goes unnamed
                p.drawText(QRectF(6, rect.top(), label_w - 8, rect.height()),
                           Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        color = next((QColor(o.color) for o in t.objects if o.id == t.current_object), None)
        for s in t.segments:
            chosen = s.id == t.editor.selected
            if not (chosen or (color is not None and s.object_id == t.current_object)) \
                    or s.end < t.v0 or s.start >= t.v1:
                continue
            c = QColor("#ffffff") if chosen else QColor(color)
            x0, x1 = t._x(s.start), t._x(s.end + 1)
            span = QRectF(x0, top, max(1.0, x1 - x0), sound.bottom() - top)
            c.setAlpha(40)
            p.fillRect(span, c)
            c.setAlpha(200)
            p.setPen(QPen(c, 1))
            p.drawLine(span.topLeft(), span.bottomLeft())
            p.drawLine(span.topRight(), span.bottomRight())

    def paint(self, p: QPainter, x0: float, width: int, wave: QRectF, spec: QRectF) -> None:
        """The waveform and spectrogram rows (the last finished images, or the state's text)."""
        p.fillRect(QRectF(x0, wave.top(), width, wave.height()), QColor("#1b1c1e"))
        if spec.height() > 0:
            p.fillRect(QRectF(x0, spec.top(), width, spec.height()), QColor("#101012"))
        if self.images is None or self.state != "ready":
            p.setPen(QColor("#9e9e9e"))
            p.drawText(QRectF(x0 + 6, wave.top(), width - 12, max(wave.height(),
                                                                     spec.bottom() - wave.top())),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.text)
            return
        (k0, k1, kw, _wh, _sh), wimg, simg = self.images
        # a stale image (another zoom or scroll) is drawn where its frames are now
        left, right = self.t._x(k0), self.t._x(k1)
        p.save()
        p.setClipRect(QRectF(x0, wave.top(), width, spec.bottom() - wave.top()))
        p.drawImage(QRectF(left, wave.top(), right - left, wave.height()), wimg)
        if spec.height() > 0 and not simg.isNull():
            p.drawImage(QRectF(left, spec.top(), right - left, spec.height()), simg)
        p.restore()

    # -- proposals -------------------------------------------------------------------------------
    @property
    def proposals(self) -> tuple:
        """The session's sound proposals, once the sound rows are shown."""
        return self.session.proposals if self.state == "ready" else ()

    def proposals_changed(self) -> None:
        if self.selected is not None and not any(r.id == self.selected and r.state == "open"
                                                 for r in self.proposals):
            self.selected = None
        self.t.update()

    def proposal_at(self, frame: int) -> Any | None:
        """The open proposal over ``frame``, if any."""
        return next((r for r in self.proposals if r.state == "open"
                     and r.start <= frame <= r.end), None)

    def current(self) -> Any | None:
        """The selected open proposal, else the open one under the playhead."""
        chosen = next((r for r in self.proposals if r.id == self.selected
                       and r.state == "open"), None)
        return chosen or self.proposal_at(self.t.frame)

    def paint_sound(self, p: QPainter, x0: float, width: int, row: QRectF) -> None:
        p.fillRect(QRectF(x0, row.top(), width, row.height()), QColor("#1b1c1e"))
        if self.state != "ready":
            return
        if not self.proposals:
            p.setPen(QColor("#757575"))
            p.drawText(QRectF(x0 + 6, row.top(), width - 12, row.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                       "no proposals yet: Review ▸ Propose segments from audio")
            return
        for r in self.proposals:
            if r.state == "rejected" or r.end < self.t.v0 or r.start >= self.t.v1:
                continue
            a, b = self.t._x(r.start), self.t._x(r.end + 1)
            c = QColor(PROPOSAL_COLORS.get(r.state, "#888888"))
            c.setAlpha(200 if r.state == "open" else 70)
            rect = QRectF(a, row.top() + 2, max(2.0, b - a), row.height() - 4)
            p.fillRect(rect, c)
            if r.id == self.selected:
                p.setPen(QPen(QColor("#ffffff"), 2))
                p.drawRect(rect)

    # -- proposal commands (keys and menu actions of the window) -----------------------------------
    def assign(self, object_id: int | None) -> None:
        """The current proposal becomes a segment of ``object_id`` (one undoable step)."""
        from annotator.gui.timeline_edit import span_problem

        r, session = self.current(), self.session
        if r is None:
            session.say("No open sound proposal here: click one on the sound row, "
                                 "or move the playhead onto one.", True)
            return
        if object_id is None:
            session.say("Select the object that makes this sound first (Objects "
                                 "panel, or keys 1–9).", True)
            return
        problem = span_problem(self.t.segments, object_id, r.start, r.end, self.t.n)
        if problem:
            session.say(f"Proposal not assigned: {problem}.", True)
            return
        store = session.store
        name = next((o.name for o in self.t.objects if o.id == object_id), "?")
        session.apply(f"Assign sound {r.start}–{r.end} to {name}",
                      lambda op: store.accept_proposal(r.id, object_id, op=op) and [],
                      "accept_proposal", structure=True)

    def reject(self) -> None:
        """The current proposal is not a sound of interest (one undoable step)."""
        r, session = self.current(), self.session
        if r is None:
            session.say("No open sound proposal here: click one on the sound row, "
                                 "or move the playhead onto one.", True)
            return
        store = session.store
        session.apply(f"Reject sound {r.start}–{r.end}",
                      lambda op: store.reject_proposal(r.id, op=op) or [],
                      "reject_proposal", structure=True)

    def propose(self) -> None:
        """Run the sound-activity detector in the background and store its proposals."""
        session = self.session
        if self.state != "ready":
            session.say({"none": "This video has no audio track to propose from.",
                                  "failed": self.text}.get(
                self.state, "The sound is still being analysed: propose again when the sound "
                "rows show it."), True)
            return
        if session.store.readonly:
            session.say("The project is open view-only: proposals cannot be stored.",
                                 True)
            return
        analysis, store, times = self.analysis, session.store, self._edges[:-1]

        def detect() -> list[tuple[int, int, float]]:
            from annotator.core import sound_activity

            return sound_activity.to_frames(sound_activity.detect(analysis), times)

        def write(spans: list) -> Any:
            from types import SimpleNamespace

            before = store.history(1)
            store.set_proposals(spans)  # one undoable operation, none when nothing changed
            after = store.history(1)
            new = after[0] if after and (not before or after[0].id != before[0].id) else None
            return SimpleNamespace(op_id=new.id if new else None,
                                   open=len(store.proposals("open")))

        def stored(report: Any) -> None:
            k = report.open
            session.say(f"{k} open sound proposal{'s' if k != 1 else ''} on the sound row: A "
                        "assigns one to the selected object, Shift+R rejects it.")

        session.say("Finding the sounds…", False)
        session.run(detect, lambda spans: session.apply_report(
            "Propose segments from audio", lambda: write(spans), stored))
