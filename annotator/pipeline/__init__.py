"""Jobs that use engines and write to the store: propagate, refine, re-propagate, batch.

What the GUI and the CLI call (all plain Python, no Qt; callbacks run on worker threads)::

    from annotator.pipeline import propagate_project, repropagate, review_clips

    results = propagate_project(project, segments=None, engine="auto", refine="auto",
                                on_progress=cb, on_job=cb2, cancel=event)
    result = repropagate(project, object_id, frame, directions=("forward", "backward"))
    clips = review_clips(project.store)            # flagged clips, worst first

* :mod:`~annotator.pipeline.prompting` — clicks, candidates, brush and accept on one frame
  (the window's and :mod:`annotator.api`'s).
* :mod:`~annotator.pipeline.plan` — which frames each run covers (nearest anchor), passes of
  overlapping objects, the steps of a job.
* :mod:`~annotator.pipeline.job` — one job: prefetch, model, commit threads; cancel; resume.
* :mod:`~annotator.pipeline.queue` — projects, many projects, re-propagation, engine choice.
* :mod:`~annotator.pipeline.failure` — the failure signals and score of a propagated mask.
* :mod:`~annotator.pipeline.flags` — per-frame quality flags and P(fail).
* :mod:`~annotator.pipeline.clips` — flagged clips, worst first.
* :mod:`~annotator.pipeline.policy` — when SAM refines a frame.
* :mod:`~annotator.pipeline.evaluate` — the LU-AVS metrics over tracks (docs/evaluate.md).
* :mod:`~annotator.pipeline.frames`, :mod:`~annotator.pipeline.writer` — the decode and commit
  threads.
"""

from annotator.pipeline.clips import Clip, review_clips
from annotator.pipeline.job import JobResult, Progress, PropagationJob
from annotator.pipeline.policy import RefinePolicy
from annotator.pipeline.queue import (
    choose_engine,
    make_refiner,
    propagate_project,
    propagate_projects,
    repropagate,
)

__all__ = [
    "Clip",
    "JobResult",
    "Progress",
    "PropagationJob",
    "RefinePolicy",
    "choose_engine",
    "make_refiner",
    "propagate_project",
    "propagate_projects",
    "repropagate",
    "review_clips",
]
