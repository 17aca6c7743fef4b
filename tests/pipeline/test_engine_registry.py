"""The process's engine registry in the pipeline and the GUI session: one SAM for everyone, and a
CUDA out-of-memory that moves a job to the CPU without losing a frame."""

from __future__ import annotations

import pytest
import torch

from annotator.engines import engine_table, registry
from annotator.engines.devices import DeviceChoice
from annotator.engines.fallback_propagator import FallbackPropagator
from tests.pipeline.conftest import all_masks

xmem = pytest.importorskip("xmem")


class OomOnGpu(FallbackPropagator):
    """FAKE: the weight-free engine, pretending to run on the registry's device; on a "cuda"
    device its ``FAIL_AT``-th step raises ``torch.cuda.OutOfMemoryError`` (this machine may
    have no GPU: the test is about the job's logic around the engine, not about CUDA)."""

    FAIL_AT = 7
    kind = "test-oom"  # its row of the engine table (the fixture adds it)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.device = registry.get().choice.device
        self.name = f"Fallback ({self.device})"
        self.steps = 0

    def step(self, frame, given=None, active=None):
        self.steps += 1
        if self.device.type == "cuda" and self.steps == self.FAIL_AT:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB "
                                              "(fake)")
        return super().step(frame, given=given, active=active)


@pytest.fixture
def fake_gpu_registry(monkeypatch):
    """FAKE device: the process registry believes it is on ``cuda`` (no CUDA is touched: the
    fake engine only reads the name)."""
    registry.reset_for_tests()
    reg = registry.EngineRegistry()
    reg._choice = DeviceChoice(torch.device("cuda"), half=False, threads=1, reason="fake")
    monkeypatch.setattr(registry, "_REGISTRY", reg)
    monkeypatch.setitem(engine_table.ENGINES, "test-oom",
                        engine_table.Engine("test-oom", -100, lambda: OomOnGpu))
    yield reg
    registry.reset_for_tests()


def test_cuda_out_of_memory_moves_the_job_to_the_cpu_and_keeps_every_frame(
        make_project, fake_gpu_registry):
    from annotator.pipeline.queue import choose_engine, propagate_project

    clean = make_project(anchors=(0,), segments=[(0, 15)], name="clean")
    (r0,) = propagate_project(clean, engine=FallbackPropagator(), refine="off")
    assert r0.state == "done"

    project = make_project(anchors=(0,), segments=[(0, 15)], name="oom")
    landed: list[int] = []
    messages: list[str] = []
    engine = choose_engine("test-oom")
    assert engine.device.type == "cuda"
    (r,) = propagate_project(project, engine=engine, refine="off", on_message=messages.append,
                             on_progress=lambda p: landed.append(p.frame))
    assert r.state == "done" and r.done == 15
    assert len(messages) == 1 and "CPU" in messages[0] and str(project.dir) in messages[0]
    assert fake_gpu_registry.choice.device.type == "cpu"  # everything from now on: the CPU
    assert r.engine == "Fallback (cpu)"
    # the frames done on the "GPU" were kept, not written again: one revision a frame …
    assert set(range(1, 16)) <= set(landed)
    assert all(len(project.store.revisions(1, f)) == 1 for f in range(1, 16))
    assert 0 < r.replayed < OomOnGpu.FAIL_AT  # the CPU engine caught up without writing
    # … and the masks are those of an uninterrupted run
    got, want = all_masks(project.store), all_masks(clean.store)
    assert got == want
    # the next project of a batch, given the same engine, runs on the CPU from the start
    other = make_project(anchors=(0,), segments=[(0, 15)], name="next")
    (r2,) = propagate_project(other, engine=engine, refine="off", on_message=messages.append)
    assert r2.state == "done" and r2.engine == "Fallback (cpu)" and len(messages) == 1


def test_an_out_of_memory_on_the_cpu_is_not_hidden(make_project, fake_gpu_registry):
    from annotator.pipeline.queue import propagate_project

    fake_gpu_registry._choice = DeviceChoice(torch.device("cpu"), False, 1, "test")

    class Always(OomOnGpu):
        def step(self, frame, given=None, active=None):
            raise torch.cuda.OutOfMemoryError("fake")

    project = make_project(anchors=(0,), segments=[(0, 5)])
    with pytest.raises(torch.cuda.OutOfMemoryError):
        propagate_project(project, engine=Always(), refine="off")


@pytest.fixture
def real_models(tmp_path, monkeypatch):
    """Random-weight checkpoints of the real architectures (XMem, SAM vit_b), found through
    the model registry, and a fresh process registry on the CPU."""
    from segment_anything import sam_model_registry

    torch.manual_seed(0)
    xpath, spath = tmp_path / "xmem.pth", tmp_path / "sam_vit_b.pth"
    torch.save(xmem.XMem().state_dict(), xpath)
    torch.save(sam_model_registry["vit_b"]().state_dict(), spath)
    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(xpath))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_B", str(spath))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_L", str(tmp_path / "absent"))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_H", str(tmp_path / "absent"))
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AVS_ANNOTATOR_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = torch.get_num_threads()
    registry.start("cpu", threads=1)  # one thread: two on a busy 2-core machine are slower
    yield
    registry.reset_for_tests()
    torch.set_num_threads(before)


@pytest.mark.slow
def test_one_sam_for_the_session_the_precompute_queue_and_a_refined_propagation(
        qtbot, make_project, real_models, monkeypatch):
    """Counts the SAM models built in this process (a spy on ``Sam.__init__``) while the GUI
    session loads its segmenter, its precompute queue embeds frame 10, and a propagation
    with XMem refines frame 10 with SAM: one SAM, and the refinement finds the queue's
    embedding in the project's cache (only one image-encoder run in the whole test)."""
    from segment_anything.modeling import Sam

    from annotator.gui.app import application
    from annotator.gui.session import ProjectSession
    from annotator.pipeline.queue import choose_engine, propagate_project

    built = []
    real_init = Sam.__init__

    def counting(self, *a, **kw):
        built.append(self)
        real_init(self, *a, **kw)

    monkeypatch.setattr(Sam, "__init__", counting)
    application()
    project = make_project(anchors=(0,), segments=[(0, 10)])
    session = ProjectSession(project, project.open_video())
    try:
        session.write(session.segmenter)
        session.write(lambda: session.start_precompute([10]))
        qtbot.waitUntil(lambda: session._precompute is not None, timeout=120000)
        assert session._precompute.wait_idle(timeout=1800)
        seg = session.loaded_segmenter
        assert seg.name.startswith("SAM vit_b (cpu") and session._precompute.segmenter is seg

        engine = choose_engine("xmem", size=64)
        (r,) = propagate_project(project, engine=engine, refine="k=10")
        assert r.state == "done" and r.refined == 1
        assert "sam_score" in project.store.mask(1, 10).quality  # SAM did refine frame 10
        revs = project.store.revisions(1, 10)
        assert len(built) == 1 and registry.get().sam_loads == 1
        assert registry.get().devices() == {"SAM": "cpu", "XMem": "cpu"}
        assert {x.source for x in revs} == {"propagated", "refined"}
    finally:
        session.close()


def test_a_run_on_the_weight_free_engines_never_imports_torch(make_project, tmp_path):
    """`annotator propagate` in a fresh process with no model file installed and no device
    asked for: the device choice (and torch, ~3 s of start-up) waits for a model that never
    comes; the masks are written all the same. With a device asked for, it is checked at
    start-up as before (so a missing one is still refused at once)."""
    import json
    import os
    import subprocess
    import sys

    project = make_project(segments=[(0, 12)])
    folder = project.dir
    project.close()
    env = dict(os.environ, AVS_ANNOTATOR_MODELS_DIR=str(tmp_path / "no-models"),
               AVS_ANNOTATOR_CONFIG_DIR=str(tmp_path / "config"))
    env.pop("AVS_ANNOTATOR_DEVICE", None)
    probe = ("import json, sys\nfrom annotator.cli import main\n"
             "rc = main(sys.argv[1:])\n"
             "print(json.dumps({'rc': rc, 'torch': 'torch' in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", probe, "propagate", str(folder), "--engine",
                          "fallback"], env=env, capture_output=True, text=True, timeout=300)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert last == {"rc": 0, "torch": False}, out.stdout + out.stderr
    assert "weight-free engines" in out.stdout
    from annotator.core.project import Project

    with Project.open(folder) as p:
        assert len(p.store.masks_of(p.store.objects()[0].id)) == 13
    asked = subprocess.run([sys.executable, "-c", probe, "propagate", str(folder), "--device",
                            "cpu"], env=env, capture_output=True, text=True, timeout=300)
    assert json.loads(asked.stdout.strip().splitlines()[-1]) == {"rc": 0, "torch": True}
