"""The Propagator protocol's contract, checked on both weight-free engines.

Synthetic frames (a textured disc moving over a textured background) keep these fast; the
real-data checks are in ``test_propagator_davis.py``.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from annotator.core.quality import region_similarity
from annotator.engines import engine_table
from annotator.engines.appearance import ColourModel, colour_index, local_band
from annotator.engines.engine_table import available_engines, kind_of
from annotator.engines.fallback_propagator import FallbackPropagator
from annotator.engines.flow import FlowWarpPropagator
from annotator.engines.guided_filter import guided_filter
from annotator.engines.propagator import (
    PropagationResult,
    Propagator,
    check_given,
    exclusive_masks,
)
from annotator.engines.registry import make_propagator

ENGINES = [FallbackPropagator, FlowWarpPropagator]
H, W = 120, 160


R = 18  # disc radius


@functools.cache
def textures() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    background = rng.integers(0, 120, (H, W + 200, 3), dtype=np.uint8)
    background = cv2.GaussianBlur(background, (0, 0), 2)  # smooth texture, as in real footage
    background[..., 1] += 100
    patch = cv2.GaussianBlur(rng.integers(0, 80, (2 * R, 2 * R), dtype=np.uint8), (0, 0), 2)
    return background, patch


def scene(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame t: a red textured disc moving on a panning green textured background, its mask."""
    background, patch = textures()
    frame = background[:, t % 200 : t % 200 + W].copy()  # the camera pans 1 px/frame
    r = R
    disc = np.hypot(*np.mgrid[-r:r, -r:r] + 0.5) < r
    x0 = round(50 + 30 * np.sin(t / 15)) - r
    y0 = round(60 + 20 * np.cos(t / 20)) - r
    mask = np.zeros((H, W), bool)
    mask[y0 : y0 + 2 * r, x0 : x0 + 2 * r] = disc
    colour = np.stack([170 + patch, 30 + patch, 30 + patch], -1)
    frame[y0 : y0 + 2 * r, x0 : x0 + 2 * r][disc] = colour[disc]
    return frame, mask


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_implement_the_protocol(engine):
    prop = engine()
    assert isinstance(prop, Propagator)
    assert isinstance(prop.name, str) and prop.name


@pytest.mark.parametrize("engine", ENGINES)
def test_tracks_a_moving_object_with_bounded_memory(engine):
    prop = engine()
    frame, mask = scene(0)
    first = prop.step(frame, given={1: mask})
    assert np.array_equal(first.masks[1], mask)  # an anchor is returned unchanged
    sizes = []
    for t in range(1, 80):
        frame, mask = scene(t)
        out = prop.step(frame)
        sizes.append(prop.memory_bytes())
    if engine is FallbackPropagator:  # plain warping drifts off the disc: no claim on it
        assert region_similarity(out.masks[1], mask) > 0.7
    assert 0 <= out.confidence[1] <= 1
    assert out.probs[1].dtype == np.float32
    assert max(sizes) == sizes[10]  # nothing grows with the run's length


@pytest.mark.parametrize("engine", ENGINES)
def test_reset_forgets_everything(engine):
    prop = engine()
    frame, mask = scene(0)
    prop.step(frame, given={1: mask})
    prop.step(scene(1)[0])
    assert prop.memory_bytes() > 0
    prop.reset()
    assert prop.memory_bytes() == 0
    assert prop.step(scene(2)[0]).masks == {}
    with pytest.raises(ValueError, match="no mask yet"):
        prop.step(scene(3)[0], active=[1])
    # After a reset a video of another size is fine.
    prop.reset()
    small = np.zeros((60, 80, 3), np.uint8)
    assert prop.step(small, given={1: np.ones((60, 80), bool)}).masks[1].all()


def test_inactive_objects_are_forgotten_and_sizes_are_checked():
    prop = FallbackPropagator()
    frame, mask = scene(0)
    other = np.zeros_like(mask)
    other[100:, 120:] = True
    prop.step(frame, given={1: mask, 2: other})
    both = prop.memory_bytes()
    out = prop.step(scene(1)[0], active=[2])
    assert set(out.masks) == {2}
    assert prop.memory_bytes() < both
    with pytest.raises(ValueError, match="no mask yet"):
        prop.step(scene(2)[0], active=[1, 2])
    with pytest.raises(ValueError, match="pad, crop or resize"):
        prop.step(scene(3)[0], given={3: np.zeros((H, W - 1), bool)})
    with pytest.raises(ValueError, match="differs from the run"):
        prop.step(np.zeros((H + 1, W, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB"):
        prop.step(np.zeros((H, W), np.uint8))


def test_exclusive_masks_take_the_most_probable_label():
    p1 = np.array([[0.9, 0.6, 0.2, 0.1]], np.float32)
    p2 = np.array([[0.5, 0.7, 0.3, 0.1]], np.float32)
    masks = exclusive_masks({1: p1, 2: p2})
    assert masks[1].tolist() == [[True, False, False, False]]
    assert masks[2].tolist() == [[False, True, False, False]]
    # background = (1 - 0.2)(1 - 0.3) = 0.56 beats both objects in the third pixel
    assert exclusive_masks({1: p1})[1].tolist() == [[True, True, False, False]]


def test_overlapping_given_masks_go_to_the_higher_id():
    a = np.zeros((4, 4), bool)
    a[:, :3] = True
    b = np.zeros((4, 4), bool)
    b[:, 2:] = True
    given = check_given({1: a, 2: b}, (4, 4))
    assert not (given[1] & given[2]).any()
    assert given[2][:, 2:].all() and given[1][:, :2].all() and not given[1][:, 2].any()


def test_engine_choice_prefers_available_engines_and_can_be_overridden(monkeypatch):
    usable = available_engines()
    assert "fallback" in usable and "flow-warp" in usable  # weight-free: always there
    assert usable.index("fallback") < usable.index("flow-warp")
    if "xmem" not in usable:  # no XMem model file installed here
        assert isinstance(make_propagator(), FallbackPropagator)
    assert isinstance(make_propagator("flow-warp"), FlowWarpPropagator)
    # FAKE row: an engine of the highest priority that cannot run here is never chosen
    monkeypatch.setitem(engine_table.ENGINES, "test-unavailable", engine_table.Engine(
        "test-unavailable", 99, lambda: FlowWarpPropagator, lambda: False))
    assert "test-unavailable" not in available_engines()
    assert available_engines() == usable
    with pytest.raises(RuntimeError, match="cannot run here"):
        make_propagator("test-unavailable")
    with pytest.raises(ValueError, match="unknown propagation engine"):
        make_propagator("nope")


def test_every_engine_class_names_its_row_of_the_table():
    """One row per engine, XMem's included: the class each row loads says which row it is
    (``kind``), so a running engine's row is known without comparing class names."""
    for name, row in engine_table.ENGINES.items():
        assert row.name == name and row.load().kind == name
    assert kind_of(FallbackPropagator()) == "fallback"
    assert kind_of(FlowWarpPropagator()) == "flow-warp"
    assert kind_of(object()) is None
    xmem = engine_table.ENGINES["xmem"]
    assert xmem.installed is engine_table.xmem_installed and xmem.xmem_network


def test_result_helpers():
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:4] = True
    result = PropagationResult(masks={3: mask}, probs={3: mask[::2, ::2].astype(np.float32)})
    assert result.label_map()[1, 2] == 3 and result.label_map()[0, 0] == 0
    assert result.prob_at(3, (4, 6)).shape == (4, 6)


def test_guided_filter_snaps_a_soft_edge_to_the_guide():
    guide = np.zeros((40, 60, 3), np.float32)
    guide[:, 30:] = 1.0  # the image edge is between columns 29 and 30
    soft = np.clip((np.arange(60, dtype=np.float32) - 22) / 16, 0, 1)[None].repeat(40, 0)
    out = guided_filter(guide, soft, radius=5, eps=1e-3)
    assert out[20, 29] < 0.35 and out[20, 30] > 0.65  # a sharp step where the guide has one
    assert soft[20, 30] - soft[20, 29] < 0.1  # (the input rose gently there)
    flat = guided_filter(guide, np.full((40, 60), 0.3, np.float32), radius=5, eps=1e-3)
    assert np.allclose(flat, 0.3, atol=1e-4)


def test_colour_model_tells_the_object_from_look_alikes():
    frame, mask = scene(0)
    model = ColourModel()
    index = colour_index(frame)
    model.learn_anchor(index, mask, local_band(mask, 10))
    assert model.likeness(index, mask) == pytest.approx(1.0)
    assert model.log_ratio(index)[mask].mean() > 2 > model.log_ratio(index)[~mask].mean()
    background = np.zeros_like(mask)
    background[:30, 100:] = True
    assert model.likeness(index, background) < 0.2
