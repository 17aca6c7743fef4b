"""The leak measure of the first-mask guards (:func:`annotator.core.guards.leak`) on a real
mask: DAVIS bus's ground truth, a large object (a fifth of the frame). Clicked once in its
middle it does not leak; clicked once at one end, most of it lies far from the click and the
guard asks; a second click at its other end answers the question."""

from __future__ import annotations

import numpy as np
from PIL import Image

from annotator.core.guards import LEAK_REACH, GuardBars, leak


def test_a_large_object_clicked_at_one_end_asks_until_its_other_end_is_clicked(shared):
    mask = np.array(Image.open(shared("data", "davis2016", "bus", "Annotations",
                                      "00000.png"))) > 0
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    left = (float(xs.min()), float(ys[xs.argmin()]), True)
    right = (float(xs.max()), float(ys[xs.argmax()]), True)
    middle = (float(np.median(xs)), float(np.median(ys)), True)
    bar = GuardBars().leak_share
    assert mask[int(middle[1]), int(middle[0])]
    assert leak(mask, [middle]).share <= bar
    one = leak(mask, [left])
    assert one.share > bar and one.reach == LEAK_REACH * np.hypot(h, w) and one.clicks == 1
    two = leak(mask, [left, right])
    assert two.share <= bar and two.reach > one.reach  # the clicks' spread is the reach now
    assert leak(mask, [(*left[:2], False)]) is None  # background points measure nothing
