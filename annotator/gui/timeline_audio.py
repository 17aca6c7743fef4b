"""The timeline's sound rows: the waveform, the log-mel spectrogram and the proposals.

The analysis cache (:class:`annotator.core.audio.AudioAnalysis`) is built on a thread of its
own when the project opens; until then the rows say how far it got. Images are made off the
GUI thread (``session.run``) for one view ``(v0, v1, width)`` by
:func:`annotator.gui.timeline_sound.render`; the GUI thread only paints the last finished
images, stretched to the current view while a newer one renders. The waveform has a vertical
gain of its own track's loudness (:func:`~annotator.gui.timeline_sound.track_gain`), and the
row's name says it (``waveform ×24``).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt, QThreadPool, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from annotator.core.segments import segment_problem
from annotator.core.words import plural
from annotator.gui.timeline_geometry import SOUND_H, TimelineGeometry
from annotator.gui.timeline_sound import gain_label, measure, render
from annotator.gui.workers import TaskRunner

PROPOSAL_COLORS = {"open": "#ffa726", "accepted": "#66bb6a", "rejected": "#616161"}


class AudioRows:
    """The sound rows of one timeline: analysis state, rendered images, proposals.

    ``geom`` says where the rows and frames are; ``widget`` is the one they are drawn on (it
    is repainted when an image or the analysis' state arrives)."""

    def __init__(self, geom: TimelineGeometry, session: Any, state: Any,
                 widget: QWidget) -> None:
        self.geom = geom
        self.session = session
        self.view_state = state
        self.widget = widget
        self.analysis: Any = None
        self.state = "starting"  # "building", "ready", "none" (no audio track), "failed"
        self.text = "sound: looking for an audio track…"
        self.progress = 0.0  # written by the build thread, read by a timer
        self.gain = 1.0  # the waveform's vertical gain (track_gain), once the cache is ready
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
        pool = QThreadPool(session)
        pool.setMaxThreadCount(1)
        self._builder = TaskRunner(pool, session)
        self._poll = QTimer(widget)
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
            return analysis, edges, measure(analysis, edges) if ready else None

        session.run(open_analysis, self._opened, self._failed)

    def _opened(self, result: tuple) -> None:
        if self.session.closed:
            return
        self.analysis, self._edges, measured = result
        if not self.analysis.has_audio:
            self.state, self.text = "none", "no audio track"
            self.widget.update()
            return
        if measured is not None:  # the cache was there already
            self._ready(measured)
            return
        self.state, self.text = "building", "analysing the sound…"
        session, cancel = self.session, self._cancel

        def progress(fraction: float) -> None:
            self.progress = float(fraction)
            if getattr(session, "closed", True):
                cancel.set()

        analysis, edges = self.analysis, self._edges

        def build() -> tuple | None:
            return measure(analysis, edges) if analysis.build(progress, cancel) else None

        self._poll.start()
        self._builder.submit(build, self._ready, self._failed)
        self.widget.update()

    def _show_progress(self) -> None:
        if self.state == "building":
            self.text = f"analysing the sound… {self.progress:.0%}"
            self.widget.update()

    def _failed(self, exc: BaseException) -> None:
        if self.session.closed:  # the timeline is gone with it
            return
        self._poll.stop()
        self.state, self.text = "failed", f"sound not shown: {exc}"
        self.session.say(f"The sound cannot be shown: {exc}", True)
        self.widget.update()

    def _ready(self, measured: tuple | None) -> None:
        """The cache is built (``measured``: the onsets' frame boundaries and the waveform's
        gain), or the build was cancelled (None)."""
        if self.session.closed:  # the timeline is gone with it
            return
        self._poll.stop()
        if measured is None:
            return
        self.state, self.text = "ready", ""
        self.onset_bounds, self.gain = measured
        self.widget.update()

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
        analysis, edges, gain = self.analysis, self._edges, self.gain

        def done(images: tuple[QImage, QImage]) -> None:
            self._rendering = False
            self.images = (key, *images)
            if self._want != key:
                self.request(*self._want)
            self.widget.update()

        def failed(exc: BaseException) -> None:
            self._rendering = False
            self.session.failed.emit(exc)

        self.session.run(lambda: render(analysis, edges, *key, gain), done, failed)

    def paint_rows(self, p: QPainter, selected_segment: int | None) -> None:
        """Waveform, spectrogram and proposals, with the current object's segments (and the
        selected one, ``selected_segment``) drawn across them."""
        g = self.geom
        x0, width, top = g.label_w, g.plot_w, g.wave_top
        wave = QRectF(x0, top, width, g.wave_h - 2)
        spec = QRectF(x0, g.spec_top, width, max(0, g.spec_h - 2))
        sound = QRectF(x0, g.sound_top, width, SOUND_H - 2)
        self.request(g.v0, g.v1, width, int(wave.height()), int(spec.height()))
        self.paint(p, wave, spec)
        self.paint_sound(p, sound)
        p.setPen(QColor("#bbbbbb"))
        name = " ".join(filter(None, ("waveform", gain_label(self.gain))))
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        for rect, text in ((wave, name), (spec, "spectrogram"), (sound, "sound")):
            if rect.height() >= 10:
                p.drawText(QRectF(6, rect.top(), x0 - 8, rect.height()), left, text)
        if g.sound_hint and self.state == "ready":  # no room for the spectrogram: say so
            hint = QRectF(x0 + 6, wave.top(), width - 12, wave.height())
            p.setPen(QColor("#e0e0e0"))
            box = p.boundingRect(hint, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                                 g.sound_hint)
            p.fillRect(box.adjusted(-4, 0, 4, 0), QColor(27, 28, 30, 210))
            p.drawText(hint, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                       g.sound_hint)
        current = self.view_state.object_id
        obj = self.session.object(current)
        p.save()  # spans that begin or end out of view stop at the plot's edges (not the labels)
        p.setClipRect(QRectF(x0, top, width, sound.bottom() - top))
        for s in self.session.segments:
            chosen = s.id == selected_segment
            if not (chosen or (obj is not None and s.object_id == current)) \
                    or s.end < g.v0 or s.start >= g.v1:
                continue
            c = QColor("#ffffff") if chosen else QColor(obj.color)
            a, b = g.x(s.start), g.x(s.end + 1)
            span = QRectF(a, top, max(1.0, b - a), sound.bottom() - top)
            c.setAlpha(40)
            p.fillRect(span, c)
            c.setAlpha(200)
            p.setPen(QPen(c, 1))
            p.drawLine(span.topLeft(), span.bottomLeft())
            p.drawLine(span.topRight(), span.bottomRight())
        p.restore()

    def paint(self, p: QPainter, wave: QRectF, spec: QRectF) -> None:
        """The waveform and spectrogram rows (the last finished images, or the state's text)."""
        p.fillRect(wave, QColor("#1b1c1e"))
        if spec.height() > 0:
            p.fillRect(spec, QColor("#101012"))
        bottom = spec.bottom() if spec.height() > 0 else wave.bottom()
        if self.images is None or self.state != "ready":
            p.setPen(QColor("#9e9e9e"))
            p.drawText(QRectF(wave.left() + 6, wave.top(), wave.width() - 12,
                              bottom - wave.top()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.text)
            return
        (k0, k1, _kw, _wh, _sh), wimg, simg = self.images
        # a stale image (another zoom or scroll) is drawn where its frames are now
        left, right = self.geom.x(k0), self.geom.x(k1)
        p.save()
        p.setClipRect(QRectF(wave.left(), wave.top(), wave.width(), bottom - wave.top()))
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
        self.widget.update()

    def proposal_at(self, frame: int) -> Any | None:
        """The open proposal over ``frame``, if any."""
        return next((r for r in self.proposals if r.state == "open"
                     and r.start <= frame <= r.end), None)

    def current(self) -> Any | None:
        """The selected open proposal, else the open one under the playhead."""
        chosen = next((r for r in self.proposals if r.id == self.selected
                       and r.state == "open"), None)
        return chosen or self.proposal_at(self.view_state.frame)

    def paint_sound(self, p: QPainter, row: QRectF) -> None:
        p.fillRect(row, QColor("#1b1c1e"))
        if self.state != "ready":
            return
        if not self.proposals:
            p.setPen(QColor("#757575"))
            p.drawText(row.adjusted(6, 0, -6, 0),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                       "no proposals yet: Review ▸ Propose segments from audio")
            return
        g = self.geom
        for r in self.proposals:
            if r.state == "rejected" or r.end < g.v0 or r.start >= g.v1:
                continue
            a, b = g.x(r.start), g.x(r.end + 1)
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
        r, session = self.current(), self.session
        if r is None:
            session.say("No open sound proposal here: click one on the sound row, "
                                 "or move the playhead onto one.", True)
            return
        if object_id is None:
            session.say("Select the object that makes this sound first (Objects "
                                 "panel, or keys 1–9).", True)
            return
        problem = segment_problem(session.segments, object_id, r.start, r.end, self.geom.n,
                                  name=getattr(session.object(object_id), "name", None))
        if problem:
            session.say(f"Proposal not assigned: {problem}.", True)
            return
        store = session.store
        obj = session.object(object_id)
        name = obj.name if obj is not None else "?"
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
            session.say(f"{plural(k, 'open sound proposal')} on the sound row: A "
                        "assigns one to the selected object, Shift+R rejects it.")

        session.say("Finding the sounds…", False)
        session.run(detect, lambda spans: session.apply_report(
            "Propose segments from audio", lambda: write(spans), stored))
