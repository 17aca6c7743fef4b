"""Per-frame quality and the clips the check view lists worst first."""

import numpy as np

from annotator.pipeline.clips import clips_of
from annotator.pipeline.flags import assess, badness
from annotator.pipeline.policy import RefinePolicy


def square(x, size=20, shape=(100, 100)):
    m = np.zeros(shape, bool)
    m[10:10 + size, x:x + size] = True
    return m


def test_assess_measures_and_flags_a_jump_and_a_loss():
    prev = square(10)
    ok = assess(square(12), prev, 0.9, 400.0)
    assert ok.flags == () and ok.score == 1.0 and ok.quality["area"] == 400
    jump = assess(square(60), prev, 0.9, 400.0)
    assert "centroid_jump" in jump.flags and jump.score < 1
    lost = assess(np.zeros((100, 100), bool), prev, 0.1, 400.0)
    assert "lost" in lost.flags and lost.score == 0.0
    disagree = assess(square(10), prev, 0.9, 400.0, other=square(70))
    assert "disagreement" in disagree.flags and disagree.quality["disagreement"] == 1.0


def test_clips_bridge_short_gaps_and_rank_long_failures_first():
    frames = [(f, ("lost",) if f in (3, 4, 6) else ()) for f in range(12)]
    frames += [(20, ("low_confidence",))]
    clips = clips_of(frames, object_id=1)
    assert [(c.start, c.end, c.flagged) for c in clips] == [(3, 6, 3), (20, 20, 1)]
    assert clips[0].score == 3 * badness(("lost",)) and clips[0].worst_frame == 3


def test_refine_policies():
    assert RefinePolicy.parse("k=3").wants(3, 0.9, ()) and not RefinePolicy.parse("k=3").wants(4, 0.9, ())
    unsure = RefinePolicy.parse("uncertain")
    assert unsure.wants(1, 0.2, ()) and unsure.wants(1, 0.9, ("area_jump",))
    assert not unsure.wants(1, 0.95, ()) and unsure.wants(10, 0.95, ())
    assert not RefinePolicy.parse("off").wants(10, 0.0, ("lost",))
    assert str(RefinePolicy.parse(" K=4 ")) == "k=4"


def test_quick_refine_trigger_agrees_with_the_full_flags(shared):
    from PIL import Image

    from annotator.core.quality import frame_flags
    from annotator.pipeline.policy import quick_flags

    seq = shared("data", "davis2016", "bmx-bumps")  # the rider vanishes: lost frames too
    gts = [np.array(Image.open(p)) > 0 for p in sorted((seq / "Annotations").glob("*.png"))]
    ref = float(gts[0].sum())
    pairs = [(gts[i], gts[i - 1]) for i in range(1, len(gts))]
    pairs += [(gts[i], gts[i - 9]) for i in range(9, len(gts), 9)]  # bigger jumps
    agree = sum(set(quick_flags(m, p, ref)) == set(frame_flags(m, p, None, ref))
                for m, p in pairs)
    assert agree >= 0.95 * len(pairs)


def test_auto_policy_refines_every_frame_on_a_gpu_and_none_on_the_cpu():
    from types import SimpleNamespace

    import torch

    auto = RefinePolicy.parse(None)
    assert auto == RefinePolicy.parse("auto") and auto.mode == "auto"
    assert auto.resolve("cpu").mode == "off"
    assert auto.resolve("cuda").mode == "every" and auto.resolve("mps").mode == "every"
    assert auto.resolve(None).mode == "off"  # no SAM: nothing refines
    assert RefinePolicy.parse("k=5").resolve("cpu") == RefinePolicy("k", 5)  # asked for: kept
    assert not auto.wants(10, 0.0, ("lost",))  # unresolved, it refines nothing

    # the refiner's segmenter says where SAM runs (a stand-in object with SAM's attribute)
    def refiner(device):
        return SimpleNamespace(segmenter=SimpleNamespace(
            device_choice=SimpleNamespace(device=torch.device(device))))

    assert auto.for_refiner(refiner("cpu")).mode == "off"
    assert auto.for_refiner(refiner("cuda")).mode == "every"
    assert auto.for_refiner(None).mode == "off"
    assert RefinePolicy.parse("uncertain").for_refiner(refiner("cpu")).mode == "uncertain"
