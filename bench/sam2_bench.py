"""SAM 2.1 engine figures: memory over a long video, s/frame beside XMem, clicks beside SAM.

Random weights of the real architectures (the ``sam2`` package's builder for Hiera-Tiny and
Hiera-Small, object-score bias raised as in tests/engines/sam2; ``segment_anything``'s vit_b;
XMem's network), each saved to a file and loaded through our loaders. Timings do not depend on
the weights' values. The video is generated (a textured square moving over noise, ``--size``),
looped as long as asked; SAM 2 resizes every frame to 1024×1024 whatever its size.

1. **RSS over a long video**, each engine in a process of its own (``/proc/self/statm``):
   ours (``Sam2Propagator``, frames streamed one at a time) for ``--frames`` frames, against the
   package's ``SAM2VideoPredictor`` (``init_state`` on a JPEG folder of ``--theirs-frames``
   frames, ``add_new_mask``, ``propagate_in_video``). Printed every ``--every`` frames.
2. **s/frame** for tiny and small (ours) and XMem (``XMemPropagator``, 480p working size), one
   object, ``--speed-frames`` frames each after one warm-up, in this process, one after another.
3. **click→mask and embedding** time: SAM 2.1 tiny (``Sam2Segmenter``) against SAM vit_b
   (``SamSegmenter``), ``--clicks`` embeddings and 10 clicks each.

    nice python bench/sam2_bench.py --frames 3000 --theirs-frames 300
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def video(n: int, size: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` frames (a 60-frame loop) of a square moving over noise, and its first mask."""
    w, h = size
    rng = np.random.default_rng(0)
    base = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    tex = (rng.random((h // 3, w // 4, 3)) * 128 + 127).astype(np.uint8)
    frames, first = [], None
    for i in range(min(n, 60)):
        f = base.copy()
        x = int((w - tex.shape[1]) * (0.5 + 0.4 * np.sin(i / 10)))
        y = (h - tex.shape[0]) // 2
        f[y:y + tex.shape[0], x:x + tex.shape[1]] = tex
        if first is None:
            first = np.zeros((h, w), bool)
            first[y:y + tex.shape[0], x:x + tex.shape[1]] = True
        frames.append(f)
    return frames, first


def sam2_file(name: str, folder: Path) -> Path:
    import torch

    from annotator.engines import sam2_models

    path = folder / f"{name}.pt"
    if not path.exists():
        torch.manual_seed(0)
        model = sam2_models.build_sam2_model(name)
        with torch.no_grad():
            model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += 20.0
        torch.save({"model": model.state_dict()}, path)
    return path


# -- 1. memory over a long video (one process per engine) -----------------------------------
def child_ours(path: Path, n: int, size, every: int) -> None:
    import torch

    from annotator.engines import sam2_models
    from annotator.engines.sam2_propagator import Sam2Propagator

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    model, arch = sam2_models.load_sam2(path)
    prop = Sam2Propagator(model, arch=arch)
    loop, first = video(n, size)
    print(f"ours start rss_mb={rss_mb():.0f}", flush=True)
    t0 = time.perf_counter()
    for i in range(n):
        prop.step(loop[i % len(loop)], given={1: first} if i == 0 else None)
        if (i + 1) % every == 0 or i + 1 == n:
            print(f"ours frame={i + 1} rss_mb={rss_mb():.0f} engine_mb="
                  f"{prop.memory_bytes() / 2**20:.1f} s={time.perf_counter() - t0:.0f}",
                  flush=True)


def child_theirs(path: Path, n: int, size, every: int) -> None:
    import torch
    from PIL import Image
    from sam2.build_sam import build_sam2_video_predictor

    from annotator.engines import sam2_models

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    loop, first = video(n, size)
    with tempfile.TemporaryDirectory() as d:
        for i in range(n):
            Image.fromarray(loop[i % len(loop)]).save(f"{d}/{i:05d}.jpg", quality=95)
        pred = build_sam2_video_predictor(sam2_models.SAM2_CONFIGS["sam2.1_hiera_tiny"],
                                          str(path), device="cpu")
        print(f"theirs start rss_mb={rss_mb():.0f}", flush=True)
        t0 = time.perf_counter()
        with torch.inference_mode():
            state = pred.init_state(d)
            print(f"theirs init_state({n} frames) rss_mb={rss_mb():.0f}", flush=True)
            pred.add_new_mask(state, 0, 1, first)
            for k, (_i, _, _m) in enumerate(pred.propagate_in_video(state)):
                if (k + 1) % every == 0 or k + 1 == n:
                    print(f"theirs frame={k + 1} rss_mb={rss_mb():.0f} "
                          f"s={time.perf_counter() - t0:.0f}", flush=True)


def memory(path: Path, args) -> None:
    print(f"== RSS: ours over {args.frames} frames, the package's predictor over "
          f"{args.theirs_frames} (one process each, generated {args.size} video)")
    for who, n in (("ours", args.frames), ("theirs", args.theirs_frames)):
        if n <= 0:
            continue
        cmd = [sys.executable, __file__, "--child", who, "--weights", str(path),
               "--frames", str(n), "--size", args.size, "--every", str(args.every)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [x for x in proc.stdout.splitlines() if x.startswith(who)]
        print("\n".join(lines) if lines else proc.stderr[-2000:], flush=True)


# -- 2. s/frame beside XMem ----------------------------------------------------------------
def speed(folder: Path, args, size) -> None:
    import torch
    import xmem

    from annotator.engines import sam2_models
    from annotator.engines.sam2_propagator import Sam2Propagator
    from annotator.engines.xmem_propagator import XMemPropagator

    loop, first = video(args.speed_frames + 1, size)
    engines = []
    for name in ("sam2.1_hiera_tiny", "sam2.1_hiera_small"):
        model, arch = sam2_models.load_sam2(sam2_file(name, folder))
        engines.append((f"SAM 2.1 {arch.removeprefix('sam2.1_')}", Sam2Propagator(model, arch=arch)))
    xpath = folder / "xmem_random.pth"
    torch.save(xmem.XMem().state_dict(), xpath)
    engines.append(("XMem (480p)", XMemPropagator(xmem.load_checkpoint(xpath, "cpu"))))
    print(f"== s/frame, one object, {args.speed_frames} frames after 1 warm-up, {args.size} video")
    for label, prop in engines:
        prop.step(loop[0], given={1: first})
        t0 = time.perf_counter()
        for f in loop[1:args.speed_frames + 1]:
            prop.step(f)
        print(f"{label:22s} {(time.perf_counter() - t0) / args.speed_frames:.2f} s/frame",
              flush=True)


# -- 3. clicks beside SAM vit_b ------------------------------------------------------------
def clicks(folder: Path, args, size) -> None:
    import torch
    from segment_anything import sam_model_registry

    from annotator.engines import sam2_models
    from annotator.engines.devices import choose_device
    from annotator.engines.sam import SamSegmenter
    from annotator.engines.sam2_segmenter import Sam2Segmenter

    vit = folder / "random_vit_b.pth"
    torch.save(sam_model_registry["vit_b"]().state_dict(), vit)
    cpu = choose_device("cpu", precision="fp32")
    model, arch = sam2_models.load_sam2(sam2_file("sam2.1_hiera_tiny", folder))
    segs = [("SAM 2.1 hiera_tiny", Sam2Segmenter(model, arch, "bench-tiny", cpu)),
            ("SAM vit_b", SamSegmenter.from_checkpoint(vit, device="cpu", precision="fp32"))]
    loop, first = video(args.clicks, size)
    ys, xs = np.nonzero(first)
    rng = np.random.default_rng(1)
    print(f"== embedding and click→mask, {args.clicks} frames, 10 clicks each (fp32, CPU)")
    for label, seg in segs:
        emb, click = [], []
        for f in loop[:args.clicks]:
            f = f.copy()
            f[0, 0] = rng.integers(0, 255, 3)  # a new frame each time: never a cache hit
            t0 = time.perf_counter()
            seg.embed(f)
            emb.append(time.perf_counter() - t0)
            for _ in range(10):
                p = np.array([[rng.choice(xs), rng.choice(ys)]], np.float32)
                t0 = time.perf_counter()
                seg.predict(p, np.array([1]))
                click.append(time.perf_counter() - t0)
        print(f"{label:20s} embedding {np.median(emb):.2f} s   click→mask "
              f"{1000 * np.median(click):.0f} ms (medians)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=3000, help="ours: frames of the RSS run")
    ap.add_argument("--theirs-frames", type=int, default=300, help="the predictor's RSS run")
    ap.add_argument("--every", type=int, default=100, help="print RSS every N frames")
    ap.add_argument("--speed-frames", type=int, default=10)
    ap.add_argument("--clicks", type=int, default=3)
    ap.add_argument("--size", default="320x180", help="WxH of the generated video")
    ap.add_argument("--only", choices=["memory", "speed", "clicks"], action="append")
    ap.add_argument("--child", choices=["ours", "theirs"], help=argparse.SUPPRESS)
    ap.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    if args.child == "ours":
        return child_ours(args.weights, args.frames, size, args.every)
    if args.child == "theirs":
        return child_theirs(args.weights, args.frames, size, args.every)
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        todo = args.only or ["memory", "speed", "clicks"]
        if "memory" in todo:
            memory(sam2_file("sam2.1_hiera_tiny", folder), args)
        if "speed" in todo:
            speed(folder, args, size)
        if "clicks" in todo:
            clicks(folder, args, size)


if __name__ == "__main__":
    main()
