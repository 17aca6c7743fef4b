"""The failure score: how likely a propagated mask is wrong (J < 0.5), from signals that do not
ask the propagator whether it is sure.

A propagator that drifts onto a look-alike region or a neighbour stays confident, so the score
compares each propagated mask with what the annotator gave — the run's *anchor* (frame and
mask) — and with the previous frame of the run, using cues the propagator did not use to make
the mask:

``off_colour``
    share of the mask's pixels whose colour the anchor says belongs to the object's
    surroundings rather than the object (more than on the anchor itself): the mask sits on
    something else, or leaked into the background.
``missed_colour``
    share of the band just outside the mask whose colour the anchor says is the object's (more
    than around the anchor): part of the object was left out, or the mask moved off it.
``unlike``
    1 − the Bhattacharyya coefficient of the mask's colour mix and the anchor's: a region with
    object-like colours in the wrong proportions (another person, a red banner).
``area_change``
    |log(area / the anchor's area)|: the object cannot usually double or halve.
``shape_change``
    1 − IoU of the mask's and the anchor's shapes, each moved to its centre and scaled to the
    same area: the silhouette changed.
``weak_edges``
    how much weaker the image's edges are along the mask's outline than along the anchor's:
    a right mask follows the object's outline, a drifted one cuts across surfaces.
``redetect``
    1 − IoU of the mask and the anchor's mask carried to this frame by the anchor's own
    keypoints found again in it (:mod:`annotator.pipeline.anchor_match`; 0 where too few are
    found): the object's features say it is elsewhere, or of another size — a leak into a
    reflection, a slide onto a look-alike neighbour.
``area_jump``, ``centroid_jump``
    area and position change since the previous frame (the old rule flags, as numbers).
``lost``
    the mask is empty or almost (under 2 % of the anchor's area).
``distance``
    log(1 + frames since the anchor): errors accumulate along a run.

The tracker also keeps each signal's running average along the run (``_ema``) and that
average's maximum since the anchor (``_max``). :func:`failure_probability` turns them into an
estimated P(J < 0.5) with a logistic model
(:class:`FailureModel`; :data:`DEFAULT_MODEL`'s features, coefficients, threshold and
extension were chosen and fitted on the twenty DAVIS-2016 sequences of
``../shared/data/davis2016`` by ``bench/flags_bench.py --fit``, with the procedure that bench
measures by nested leave-one-sequence-out: see ``bench/flags_fit.py``);
:func:`annotator.pipeline.clips.clips_from_probability` groups frames at or above the threshold
into clips scored by their expected number of failed frames.
:func:`reasons` says in words which signals made a frame suspicious.

Chosen on the twenty sequences, the model uses the shape's running maximum, the outline's
edges, the colour mix, the share of the mask on the surroundings' colours, the running maximum
of the object's colour left just outside, and where the anchor's keypoints put the object
(``redetect``'s running average: it finds the leaks into look-alike surroundings that every
other signal here misses, boat's reflection first — though with boat left out the selection
does not take it, and boat's failures go unfound); an empty mask is not in itself a failure (a hidden object's right
answer), nor is being far from the anchor. Held out (nested leave-one-sequence-out) the
procedure finds 86 % of the failed frames at precision 0.55: the goal of 90 % at 0.6 is not met
(``docs/benchmarks.md``). Tried and not kept: the colour mix per quadrant,
gradient-orientation histograms, blur, solidity, compactness, box fill, fragments, spread and
aspect ratio against the anchor's, GrabCut's disagreement, a scale chained over keypoint
matches, a decaying maximum, smoothing P(fail), clips kept by their sum; for cost, the
keypoints looked for only near the mask (2026-12-02, leave-one-out recall 0.93 -> 0.83); and
(2026-12-07, nested on the fourteen development sequences alone, none clearly better than the
procedure) each signal relative to its first frames after the anchor, the propagator's own
confidence (engine-specific besides), a non-negative lasso over every feature, choosing the
features or the recipe by the recall at the target precision instead of the log-loss, fixed
ridges, each training label alone (J < 0.4 … 0.6).

Cost: the frame at half resolution, colours and edges in the object's box, ORB on the frame on
every third frame (:data:`REDETECT_EVERY`): about 4 CPU milliseconds per object-frame, an
eighth of the weight-free engine's step (a third of it ``redetect``), well under 1 % of XMem's
on the CPU (``bench/flags_bench.py`` measures it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from annotator.engines.appearance import ColourModel, colour_index, local_band
from annotator.pipeline.anchor_match import AnchorKeypoints

__all__ = [
    "DEFAULT_MODEL",
    "FEATURES",
    "SIGNALS",
    "SIGNAL_INFO",
    "SignalTracker",
    "Anchor",
    "FailureModel",
    "failure_probability",
    "frame_signals",
    "base_signal",
    "reasons",
    "signal_matrix",
    "track_signals",
]

SIGNALS = ("off_colour", "missed_colour", "unlike", "area_change", "shape_change",
           "weak_edges", "redetect", "area_jump", "centroid_jump", "lost", "distance")

EMA = 0.3  # weight of the newest frame in a signal's running average along the run
#: what the tracker reports: every signal, its running average (``_ema``) and the running
#: maximum of that average since the anchor (``_max``: a failure tends to persist)
FEATURES = SIGNALS + tuple(f"{n}_ema" for n in SIGNALS) + tuple(f"{n}_max" for n in SIGNALS)

#: each signal's name for people and what it means for the mask
SIGNAL_INFO: dict[str, tuple[str, str]] = {
    "off_colour": ("covers the background",
                   "much of the mask has the colours of the object's surroundings on the anchor "
                   "frame: it leaked or sits on something else"),
    "missed_colour": ("misses part of the object",
                      "just outside the mask there is much of the object's colour: part of the "
                      "object was left out, or the mask slid off it"),
    "unlike": ("does not look like the anchor",
               "the mask's mix of colours differs from the object's on the anchor frame: it "
               "may be on another, similar object"),
    "area_change": ("size changed",
                    "the mask is much larger or smaller than on the anchor frame"),
    "shape_change": ("shape changed", "the mask's shape differs a lot from the anchor's"),
    "weak_edges": ("outline off the edges",
                   "the mask's outline does not follow the image's edges as the anchor's did"),
    "redetect": ("anchor's features elsewhere",
                 "the object's features from the anchor frame, found again in this frame, "
                 "place it elsewhere or at another size than the mask: it may have leaked or "
                 "slid onto a look-alike"),
    "area_jump": ("area jump", "the area changed a lot since the previous frame"),
    "centroid_jump": ("position jump", "the mask moved a lot since the previous frame"),
    "lost": ("lost object", "the mask is empty or almost"),
    "distance": ("far from the anchor", "many frames since the last frame a person checked"),
}

_SCALE = 2  # signals are measured at 1/_SCALE of the frame's size
#: ``redetect`` (the dearest signal) is measured on the first frame after the anchor and every
#: REDETECT_EVERY-th after it, its value carried over the frames between: a third of its cost
#: for the same leave-one-out recall in ``bench/flags_bench.py`` (2026-12-02: precision 0.642
#: -> 0.638)
REDETECT_EVERY = 3


def _down(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = mask.shape
    size = (max(1, w // _SCALE), max(1, h // _SCALE))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 127
    return small, m


def _edges(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _outline(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)


def _band(mask: np.ndarray) -> np.ndarray:
    return local_band(mask, max(3, int(0.25 * math.sqrt(max(int(mask.sum()), 1)))))


def _area_centre(mask: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Area and (x, y) centre of a boolean mask (image moments: no coordinate arrays), of its
    bounding box only (a 0/1 image: its moments are the binary ones, without the threshold)."""
    m8 = np.ascontiguousarray(mask).view(np.uint8)
    x, y, w, h = cv2.boundingRect(m8)
    if w == 0:
        return 0.0, (0.0, 0.0)
    m = cv2.moments(m8[y:y + h, x:x + w])
    return m["m00"], (x + m["m10"] / m["m00"], y + m["m01"] / m["m00"])


def _canonical(mask: np.ndarray, size: int = 48) -> np.ndarray:
    """The mask moved to its centroid and scaled to a fixed area, on a size×size grid."""
    area, (cx, cy) = _area_centre(mask)
    if area == 0:
        return np.zeros((size, size), bool)
    scale = (size / 4) / math.sqrt(area / math.pi)  # the same area as a disc of radius size/4
    affine = np.float32([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
    return cv2.warpAffine(mask.astype(np.uint8), affine, (size, size),
                          flags=cv2.INTER_NEAREST).astype(bool)


def _shape_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


class Anchor:
    """What the signals compare a propagated mask with: the anchor's colours, size, shape and
    outline (built from the anchor's frame and mask, nothing from the propagator)."""

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        small, m = _down(image, np.asarray(mask, bool))
        self.area = float(m.sum())
        self.full_area = float(np.count_nonzero(mask))
        self.colour = ColourModel()
        index = colour_index(small)
        band = _band(m)
        self.colour.learn_anchor(index, m, band)
        ratio = self.colour.log_ratio(index)
        self.off0 = float((ratio[m] < 0).mean()) if m.any() else 0.0
        self.missed0 = float((ratio[band] > 0).mean()) if band.any() else 0.0
        outline = _outline(m)
        self.edge0 = float(_edges(small)[outline].mean()) if outline.any() else 0.0
        self.shape = _canonical(m)
        self.keypoints = AnchorKeypoints(small, m)


def frame_signals(anchor: Anchor, image: np.ndarray, mask: np.ndarray,
                  prev: np.ndarray | None = None, distance: int = 1,
                  redetect: float | None = None) -> dict[str, float]:
    """Every signal of :data:`SIGNALS` for one propagated ``mask`` on ``image`` (RGB);
    ``redetect``: that signal's value carried from an earlier frame (not measured here)."""
    mask = np.ascontiguousarray(mask, dtype=bool)  # one copy of a decoded (column-major) mask
    full_area = float(np.count_nonzero(mask))
    out = dict.fromkeys(SIGNALS, 0.0)
    out["distance"] = math.log1p(max(0, distance))
    if prev is not None:
        a0, c0 = _area_centre(np.asarray(prev, bool))
        a1, c1 = _area_centre(mask)
        if max(a0, a1) > 0:
            out["area_jump"] = abs(a1 - a0) / max(a0, a1)
        if a0 > 0 and a1 > 0:
            jump = math.hypot(c1[0] - c0[0], c1[1] - c0[1]) / math.sqrt(max(a0, a1))
            out["centroid_jump"] = min(2.0, jump)
    if full_area < max(0.02 * anchor.full_area, 1.0) or anchor.area == 0:
        out["lost"] = 1.0
        out["area_change"] = min(5.0, math.log((anchor.full_area + 1) / (full_area + 1)))
        return out
    out["area_change"] = min(5.0, abs(math.log(full_area / max(anchor.full_area, 1.0))))
    small, m = _down(image, mask)
    if not m.any():
        return out
    x, y, w, h = cv2.boundingRect(m.view(np.uint8))
    pad = max(4, int(0.6 * math.sqrt(np.count_nonzero(m))))
    y0, y1 = max(y - pad, 0), min(y + h + pad, m.shape[0])
    x0, x1 = max(x - pad, 0), min(x + w + pad, m.shape[1])
    crop, mc = small[y0:y1, x0:x1], m[y0:y1, x0:x1]
    index = colour_index(crop)
    ratio = anchor.colour.log_ratio(index)
    band = _band(mc)
    out["off_colour"] = max(0.0, float((ratio[mc] < 0).mean()) - anchor.off0)
    if band.any():
        out["missed_colour"] = max(0.0, float((ratio[band] > 0).mean()) - anchor.missed0)
    out["unlike"] = 1.0 - anchor.colour.likeness(index, mc)
    out["shape_change"] = 1.0 - _shape_iou(anchor.shape, _canonical(m))
    out["redetect"] = (anchor.keypoints.disagreement(small, m) if redetect is None
                       else redetect)
    outline = _outline(mc)
    if outline.any() and anchor.edge0 > 0:
        edge = float(_edges(crop)[outline].mean())
        out["weak_edges"] = max(0.0, math.log(anchor.edge0 / max(edge, 1e-3)))
    return {k: round(float(v), 4) for k, v in out.items()}


class SignalTracker:
    """The signals of every object along one sweep of a job, frame after frame.

    :meth:`anchor` when a person's mask is given for an object (the run's first frame, a
    correction), :meth:`measure` for each of its propagated masks in sweep order (forward or
    backward). Besides each frame's :func:`frame_signals` it keeps, per object, the running
    average of every signal (``<name>_ema``) and that average's maximum since the anchor
    (``<name>_max``): a failure tends to persist, a one-frame blip does not.
    """

    def __init__(self) -> None:
        self._anchors: dict[int, Anchor] = {}
        self._distance: dict[int, int] = {}
        self._ema: dict[int, dict[str, float]] = {}
        self._max: dict[int, dict[str, float]] = {}
        self._redetect: dict[int, float] = {}  # the last measured ``redetect``, carried

    def anchor(self, object_id: int, image: np.ndarray, mask: np.ndarray) -> None:
        """``mask`` (a person's) is the object's anchor from this frame on."""
        self._anchors[object_id] = Anchor(image, mask)
        self._distance[object_id] = 0
        self._ema[object_id] = dict.fromkeys(SIGNALS, 0.0)
        self._max[object_id] = dict.fromkeys(SIGNALS, 0.0)
        self._redetect[object_id] = 0.0

    def knows(self, object_id: int) -> bool:
        """Whether the object's anchor was seen (else its masks cannot be measured)."""
        return object_id in self._anchors

    def measure(self, object_id: int, image: np.ndarray, mask: np.ndarray,
                prev: np.ndarray | None) -> dict[str, float]:
        """Every feature of :data:`FEATURES` for the object's propagated ``mask`` (RGB
        ``image``; ``prev``: its mask on the sweep's previous frame, for the jumps)."""
        self._distance[object_id] += 1
        distance = self._distance[object_id]
        due = (distance - 1) % REDETECT_EVERY == 0  # the first frame after the anchor, …
        out = frame_signals(self._anchors[object_id], image, mask, prev, distance,
                            None if due else self._redetect[object_id])
        self._redetect[object_id] = out["redetect"]
        ema, top = self._ema[object_id], self._max[object_id]
        for n in SIGNALS:
            ema[n] = EMA * out[n] + (1 - EMA) * ema[n]
            top[n] = max(top[n], ema[n])
            out[f"{n}_ema"] = round(ema[n], 4)
            out[f"{n}_max"] = round(top[n], 4)
        return out


def track_signals(images: Sequence[np.ndarray], masks: Sequence[np.ndarray]
                  ) -> dict[str, np.ndarray]:
    """Every feature of a whole run anchored on its first frame (frame 0 gets zeros)."""
    tracker = SignalTracker()
    tracker.anchor(1, images[0], masks[0])
    rows = [dict.fromkeys(FEATURES, 0.0)]
    for f in range(1, len(masks)):
        rows.append(tracker.measure(1, images[f], masks[f], masks[f - 1]))
    return {k: np.array([r[k] for r in rows], float) for k in FEATURES}


def signal_matrix(signals: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """N×len(names) matrix of a run's signals (from :func:`track_signals`)."""
    return np.stack([np.asarray(signals[n], float) for n in names], axis=1)


@dataclass(frozen=True)
class FailureModel:
    """Logistic model of P(J < 0.5): ``sigmoid(bias + Σ coef·signal)``; frames at or above
    ``threshold`` are flagged."""

    signals: tuple[str, ...]
    coef: tuple[float, ...]
    bias: float
    threshold: float
    extend: float = 1.0  # a clip extends over neighbours with P(fail) ≥ extend × threshold

    def logit(self, values: Mapping[str, float]) -> float:
        return self.bias + sum(c * float(values.get(n, 0.0))
                               for n, c in zip(self.signals, self.coef))

    def probability(self, values: Mapping[str, float]) -> float:
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, self.logit(values)))))


#: chosen and fitted by ``python bench/flags_bench.py --fit`` on the twenty DAVIS-2016
#: sequences of ``../shared/data/davis2016`` with the procedure the bench measures held out
#: (``bench/flags_fit.py``): features by greedy forward selection on leave-one-sequence-out
#: log-loss (coefficients never negative), the ridge penalty (3, 10 or 30) and label (J < 0.5
#: or J < 0.6) by that log-loss, threshold and extension as the largest leave-one-out recall
#: whose precision reaches 0.6. Nested leave-one-sequence-out, that procedure finds 0.862 of
#: the failed frames at precision 0.546 (2026-12-07: docs/benchmarks.md#finding-the-failures)
DEFAULT_MODEL = FailureModel(
    signals=("shape_change_max", "weak_edges", "unlike", "redetect_ema", "off_colour",
             "missed_colour_max"),
    coef=(7.2788, 4.0269, 11.0209, 5.2675, 9.4628, 3.7783),
    bias=-8.7006,
    threshold=0.375,
    extend=0.35,
)


def failure_probability(signals: Mapping[str, np.ndarray],
                        model: FailureModel | None = None) -> np.ndarray:
    """Estimated P(J < 0.5) of every frame of a run (frame 0, the anchor: 0)."""
    model = model or DEFAULT_MODEL
    X = signal_matrix(signals, model.signals)
    z = model.bias + X @ np.asarray(model.coef, float)
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    p[0] = 0.0
    return p


def base_signal(feature: str) -> str:
    """``shape_change_max`` → ``shape_change``."""
    for suffix in ("_ema", "_max"):
        if feature.endswith(suffix):
            return feature[: -len(suffix)]
    return feature


def reasons(values: Mapping[str, float], model: FailureModel | None = None,
            top: int = 2) -> tuple[str, ...]:
    """The signals that raised this frame's score most (base names, largest share first)."""
    model = model or DEFAULT_MODEL
    share: dict[str, float] = {}
    for n, c in zip(model.signals, model.coef):
        name = base_signal(n)
        share[name] = share.get(name, 0.0) + c * float(values.get(n, 0.0))
    ranked = sorted(((v, n) for n, v in share.items() if v > 0), reverse=True)
    return tuple(n for _, n in ranked[:top])
