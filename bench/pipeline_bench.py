"""Pipeline benchmark: whole propagation jobs (decode, model, flags, RLE, SQLite) on DAVIS-2016.

For each sequence a project is made in a temporary folder, the first frame's ground truth is
written as the anchor and :func:`annotator.pipeline.queue.propagate_project` runs the job as the
app does (prefetch thread, model thread, commit thread). Reported per sequence:

* J and F of the stored masks against the ground truth (anchor frame excluded),
* frames/s of the whole job,
* the *non-model share*: the part of the wall time the model thread spent outside the
  propagator's and refiner's calls (decode waits, anchor reads, handing frames to the commit
  thread) — the work that is not a model must stay under 5% of a propagation with the real
  engines; and, for information, the commit thread's busy time (flags, RLE, SQLite; it overlaps
  the model) and the time spent waiting for decoded frames.

Engines: ``fallback`` (weight-free), ``xmem-random`` (our XMem with random weights of the real
architecture: real cost, meaningless masks), ``xmem`` (the installed checkpoint). ``--refine``
with ``--sam random`` adds SAM vit_b with random weights (real cost), ``--sam installed`` the
installed SAM. Random weights measure time only; J and F need the real checkpoints. Comparing
refinement policies (``--refine off uncertain k=5 every``) with real checkpoints gives the masks
per minute that decide the default policy.

Run: ``python bench/pipeline_bench.py [--sequences dog-agility] [--engine fallback]
[--refine off] [--frames N] [--device cpu|cuda] [--size 480]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from annotator.core.project import Project
from annotator.core.quality import boundary_f_measure, region_similarity
from annotator.pipeline.queue import choose_engine, propagate_project

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "davis2016"


def synthetic_sequence(folder: Path, n: int = 60, size: tuple[int, int] = (480, 854)) -> Path:
    """A DAVIS-style sequence (JPEGImages/, Annotations/) of a textured ellipse moving over a
    textured background: for timing where ../shared is not at hand."""
    h, w = size
    rng = np.random.default_rng(0)
    background = (rng.random((h // 8, w // 8, 3)) * 255).astype(np.uint8)
    background = np.array(Image.fromarray(background).resize((w, h), Image.BILINEAR))
    yy, xx = np.mgrid[:h, :w]
    (folder / "JPEGImages").mkdir(parents=True)
    (folder / "Annotations").mkdir()
    for i in range(n):
        cx, cy = w * (0.25 + 0.5 * i / n), h * (0.5 + 0.15 * np.sin(i / 6))
        mask = ((xx - cx) / (w * 0.12)) ** 2 + ((yy - cy) / (h * 0.2)) ** 2 <= 1
        frame = background.copy()
        frame[mask] = (200, 60 + (i % 20) * 5, 40)
        Image.fromarray(frame).save(folder / "JPEGImages" / f"{i:05d}.jpg", quality=90)
        Image.fromarray((mask * 255).astype(np.uint8)).save(folder / "Annotations" / f"{i:05d}.png")
    return folder


def make_engine(name: str, size: int, device: str, tmp: Path):
    if name == "fallback":
        return choose_engine("fallback")
    from annotator.engines.xmem_propagator import XMemPropagator

    if name == "xmem":
        return XMemPropagator(size=size, device=device)
    import torch
    import xmem

    torch.manual_seed(0)
    path = tmp / "xmem-random.pth"
    torch.save(xmem.XMem().state_dict(), path)
    return XMemPropagator(checkpoint=path, size=size, device=device)


def make_sam(kind: str, engine, device: str, tmp: Path):
    if kind == "none":
        return None
    from annotator.engines.refiner import PrototypeRefiner
    from annotator.engines.sam import SamSegmenter

    if kind == "installed":
        return PrototypeRefiner(SamSegmenter.from_checkpoint(device=device), engine)
    import torch
    from segment_anything import sam_model_registry

    torch.manual_seed(0)
    path = tmp / "sam_vit_b-random.pth"
    torch.save(sam_model_registry["vit_b"]().state_dict(), path)
    return PrototypeRefiner(SamSegmenter.from_checkpoint(path, device=device), engine)


def run(seq: Path, engine, refiner, policy: str, frames: int | None, tmp: Path) -> dict:
    gts = sorted((seq / "Annotations").glob("*.png"))
    n = len(gts) if frames is None else min(frames, len(gts))
    with Project.create(Path(tempfile.mkdtemp(prefix=f"{seq.name}-{policy}-", dir=tmp)),
                        seq / "JPEGImages") as project:
        store = project.store
        oid = store.add_object(seq.name)
        store.add_segment(oid, 0, n - 1)
        gt = [np.array(Image.open(p)) > 0 for p in gts[:n]]
        store.put_mask(oid, 0, gt[0], source="manual")
        (res,) = propagate_project(project, engine=engine, refine=policy, refiner=refiner)
        js, fs = [], []
        for f in range(1, n):
            pred = store.mask(oid, f).decode()
            js.append(region_similarity(pred, gt[f]))
            fs.append(boundary_f_measure(pred, gt[f]))
    return {"seq": seq.name, "J": float(np.mean(js)), "F": float(np.mean(fs)),
            "fps": res.fps, "non_model": res.non_model_share, "model_s": res.model_s,
            "wall_s": res.wall_s, "commit_s": res.commit_s, "wait_s": res.decode_wait_s,
            "refined": res.refined, "frames": n - 1}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sequences", nargs="+", default=["dog-agility", "boat"])
    ap.add_argument("--engine", choices=["fallback", "xmem-random", "xmem"], default="fallback")
    ap.add_argument("--sam", choices=["none", "random", "installed"], default="none")
    ap.add_argument("--refine", nargs="+", default=["off"], help="policies to compare")
    ap.add_argument("--frames", type=int, help="first N frames of each sequence")
    ap.add_argument("--size", type=int, default=480, help="XMem's shorter side")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--synthetic", type=int, metavar="N",
                    help="time on a synthetic N-frame sequence instead of DAVIS")
    args = ap.parse_args(argv)
    from annotator.engines import registry

    registry.start(args.device)  # threads and allocator once, as the app and the CLI start up
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.synthetic:
            args.data = tmp / "data"
            synthetic_sequence(args.data / "synthetic", args.synthetic)
            args.sequences = ["synthetic"]
        engine = make_engine(args.engine, args.size, args.device, tmp)
        refiner = make_sam(args.sam, engine, args.device, tmp)
        print(f"engine {engine.name}; refiner {getattr(refiner, 'name', 'none')}")
        print(f"{'sequence':12s} {'refine':9s} {'J':>6} {'F':>6} {'fps':>7} {'non-model':>9} "
              f"{'model s':>8} {'wall s':>7} {'commit s':>8} {'wait s':>7} {'refined':>7}")
        for policy in args.refine:
            rows = [run(args.data / s, engine, refiner, policy, args.frames, tmp)
                    for s in args.sequences]
            for r in rows:
                print(f"{r['seq']:12s} {policy:9s} {r['J']:6.3f} {r['F']:6.3f} {r['fps']:7.2f} "
                      f"{100 * r['non_model']:8.1f}% {r['model_s']:8.1f} {r['wall_s']:7.1f} "
                      f"{r['commit_s']:8.2f} {r['wait_s']:7.2f} {r['refined']:7d}")
            frames = sum(r["frames"] for r in rows)
            minutes = sum(r["wall_s"] for r in rows) / 60
            print(f"{'mean':12s} {policy:9s} {np.mean([r['J'] for r in rows]):6.3f} "
                  f"{np.mean([r['F'] for r in rows]):6.3f}   {frames / max(minutes, 1e-9):.0f} "
                  "frames/min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
