"""The job tells an engine that wants it how long each run is (SAM 2.1 scales its object
pointers' temporal encoding by ``min(run length, 16)``, as the package's predictor does for a
video of that length): after every reset, the number of frames until the next one.

A FAKE stands in for SAM 2.1 here (the weight-free fallback, with a ``set_run_length`` that
notes what it is told): this is a test of the job's bookkeeping; the real engine's use of it is
in tests/engines/sam2."""

from __future__ import annotations

from annotator.engines.fallback_propagator import FallbackPropagator
from annotator.pipeline.job import PropagationJob
from annotator.pipeline.plan import plan_passes, run_length


class _Noting(FallbackPropagator):
    def __init__(self) -> None:
        super().__init__()
        self.told: list[int | None] = []

    def set_run_length(self, n: int | None) -> None:
        self.told.append(n)


def test_each_run_is_told_its_length(make_project):
    # anchors on 0 and 12 of the segment 0–20: forward 0–6 and 12–20, backward 12–7
    project = make_project(anchors=(0, 12), segments=[(0, 20)])
    (plan,) = plan_passes(project.store)
    engine = _Noting()
    assert PropagationJob(project, plan, engine).run().state == "done"
    expected = [run_length(sweep, k) for sweep in plan.sweeps
                for k, st in enumerate(sweep) if st.reset]
    assert engine.told == expected
    assert sorted(engine.told) == [6, 7, 9], engine.told  # 0–6, 12–20 forward; 12–7 backward

