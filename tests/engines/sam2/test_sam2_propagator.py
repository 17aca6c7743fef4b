"""The SAM 2.1 propagator (the real Hiera-Tiny architecture, random weights from the package's
builder, object-score bias raised: see conftest.py).

* **Equal to the package's own video predictor**: on a DAVIS-2016 sequence (downscaled, written
  as the JPEG folder the predictor reads; both models built with the tests' 256² input size),
  our engine — fed the same frames one at a time by our
  decoder — gives masks with IoU ≥ 0.99 on every frame to those of ``SAM2VideoPredictor``
  (``init_state`` / ``add_new_mask`` / ``propagate_in_video``), same weights, same first mask.
* The protocol, as XMem's engine keeps it: anchors returned unchanged, an object joining mid-run,
  exclusive masks, a forgotten object, state saved and restored mid-run continuing exactly (the
  run's length with it), and memory that stops growing once SAM 2's windows are full.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import SKIP_REASON, TEST_OVERRIDES, TEST_SIZE, TINY, davis_frames

pytest.importorskip("sam2", reason=SKIP_REASON)
pytestmark = pytest.mark.slow  # each frame runs Hiera-Tiny (at 256², conftest.py) on the CPU


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def _ours(sam2_installed, **kw):
    from annotator.engines import registry

    reg = registry.start("cpu", precision="fp32")
    return reg.propagator("sam2", **kw)


def test_masks_equal_the_packages_own_video_predictor(sam2_installed, shared, tmp_path):
    import torch
    from PIL import Image
    from sam2.build_sam import build_sam2_video_predictor

    from annotator.core.video_open import open_video
    from annotator.engines import sam2_models

    n = 8
    frames, first = davis_frames(shared, n)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames):  # the frames both engines see
        Image.fromarray(f).save(folder / f"{i:05d}.jpg", quality=95)

    prop = _ours(sam2_installed, num_frames=n)
    ours = []
    with open_video(folder) as video:  # our decoder, one frame at a time
        for i in range(n):
            r = prop.step(np.asarray(video[i]), given={1: first} if i == 0 else None)
            ours.append(r.masks[1])
    assert ours[0] is not None and np.array_equal(ours[0], first)  # the anchor, unchanged

    pred = build_sam2_video_predictor(sam2_models.SAM2_CONFIGS[TINY], str(sam2_installed),
                                      device="cpu", hydra_overrides_extra=list(TEST_OVERRIDES))
    assert pred.image_size == prop.model.image_size == TEST_SIZE  # the same model
    theirs = {}
    with torch.inference_mode():
        state = pred.init_state(str(folder))
        pred.add_new_mask(state, 0, 1, first)
        for i, _, logits in pred.propagate_in_video(state):
            theirs[i] = (logits[0, 0] > 0).cpu().numpy()
    ious = [_iou(ours[i], theirs[i]) for i in range(1, n)]
    print("per-frame IoU, ours vs SAM2VideoPredictor:", [round(v, 4) for v in ious])
    assert all(theirs[i].any() and not theirs[i].all() for i in range(1, n))  # not trivial
    assert min(ious) >= 0.99, ious


def test_the_protocol_joining_forgetting_resuming_and_flat_memory(sam2_installed, shared):
    frames, first = davis_frames(shared, 20, size=(160, 90))
    second = np.zeros_like(first)
    second[5:30, 5:40] = True
    prop = _ours(sam2_installed)
    assert prop.kind == "sam2" and prop.name == "SAM 2.1 hiera_tiny (cpu, fp32)"
    prop.set_run_length(20)  # as the pipeline's job does after a reset
    r = prop.step(frames[0], given={1: first})
    assert np.array_equal(r.masks[1], first) and r.confidence[1] == 1.0
    r = prop.step(frames[1], given={2: second})  # object 2 joins on the second frame
    assert np.array_equal(r.masks[2], second) and not (r.masks[1] & second).any()
    sizes, saved = [], None
    for k in range(2, 20):
        if k == 12:
            saved = prop.get_state()
        r = prop.step(frames[k])
        assert set(r.masks) == {1, 2} and not (r.masks[1] & r.masks[2]).any()  # exclusive
        assert r.probs[1].shape == frames[k].shape[:2]
        sizes.append(prop.memory_bytes())
        if k == 12:
            after_12 = {o: m.copy() for o, m in r.masks.items()}
    # the windows (7 frames of spatial memory, 16 object pointers) are full by frame 17
    assert sizes[-1] == sizes[-2] == sizes[-3], sizes
    assert max(len(t.recent) for t in prop._tracks.values()) <= 16

    again = _ours(sam2_installed)
    again.set_state(saved)  # resume: the same masks as the uninterrupted run
    assert again.num_frames == 20  # the run's length travels in the state
    r = again.step(frames[12])
    for o in (1, 2):
        assert np.array_equal(r.masks[o], after_12[o])
    r = again.step(frames[13], active=[2])  # object 1's segment ended: forgotten
    assert set(r.masks) == {2} and set(again._tracks) == {2}
    with pytest.raises(ValueError, match="have no mask yet"):
        again.step(frames[14], active=[1])
    with pytest.raises(ValueError, match="not a state of the SAM 2.1 propagator"):
        again.set_state({"engine": "xmem", "version": 1})
