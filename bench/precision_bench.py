"""fp32 vs bf16 for SAM and XMem on this CPU, in one process (prints figures; asserts nothing).

Whether the CPU's bf16 is native (from its flags: ``annotator.engines.devices.bf16_support``),
then per model, fp32 and bf16 runs alternating (fp32, bf16, fp32, bf16 …: the machine is
shared and its load moves) with medians:

* SAM vit_b, random weights of the real architecture (seed 0), one DAVIS frame at 1024×1024:
  seconds per embedding; embedding cosine and relative error; masks decoded from the
  click benchmark's weight-free prompts (``bench/click_bench.next_click``, three clicks) with
  the fp32 and the bf16 embedding — IoU over pixels where the fp32 mask logit is farther than
  ``--logit-margin`` from 0, and over all pixels; the same with the mask decoder in bf16 too.
* XMem on the shared golden scenarios A and B (golden weights; the gates bind there), then
  with random weights (seed 0) of the real architecture on a DAVIS sequence at 854×480, two
  objects (the ground-truth object and a background box), eval.py defaults: seconds per frame
  (frames after the first), max |Δp| over every frame, argmax agreement where the fp32 top-2
  margin > 0.05, and by how much the nearest of those pixels kept its label. ``--parts`` also
  runs each part alone in bf16 (``xmem.inference_core.BF16_PARTS``) to show what each does.

Every time is given twice: wall-clock seconds, and the process's CPU seconds (all threads). On
a busy machine the wall clock counts the time other processes hold the cores; with
``--threads 1`` the CPU seconds do not, so their ratio is the load-independent one to compare
with the speed probe's (``annotator.engines.bf16_probe``, measured afresh at the start, also in
CPU time on one thread: its verdict decides ``auto``). With 2 threads the CPU seconds include
the time a thread spins waiting for its preempted partner.

    python bench/precision_bench.py [--frames 12] [--pairs 2] [--parts] [--compile] [--no-sam]
                                    [--no-xmem] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVS_SHARED_DIR", ROOT.parent / "shared"))


def frames(seq: str, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    d = SHARED / "data" / "davis2016" / seq
    files = sorted((d / "JPEGImages").glob("*.jpg"))[:n]
    imgs = [np.asarray(Image.open(f).convert("RGB")) for f in files]
    gt = np.asarray(Image.open(d / "Annotations" / "00000.png").convert("L")) > 0
    return imgs, gt


def two_objects(gt: np.ndarray) -> np.ndarray:
    """The ground-truth object and a box of background (lower left), as 2×H×W float."""
    h, w = gt.shape
    box = np.zeros_like(gt)
    box[h * 2 // 3:h - 10, 10:w // 4] = True
    box &= ~gt
    return np.stack([gt, box]).astype(np.float32)


def xmem_run(net, imgs, mask, parts, cpu: list[float] | None = None
             ) -> tuple[list[np.ndarray], list[float]]:
    """Probabilities of every frame and wall seconds of each frame after the first (their
    CPU seconds appended to ``cpu``)."""
    from xmem import InferenceCore

    core = InferenceCore(net, None, bf16_parts=parts)
    core.set_all_labels([1, 2])
    probs, times = [], []
    for t, img in enumerate(imgs):
        t0, c0 = time.perf_counter(), time.process_time()
        p = core.step(img, torch.from_numpy(mask) if t == 0 else None,
                      end=t == len(imgs) - 1)
        times.append(time.perf_counter() - t0)
        if cpu is not None and t:
            cpu.append(time.process_time() - c0)
        probs.append(p.numpy())
    return probs, times[1:]


def ratio_line(what: str, wall: dict[str, list[float]], cpu: dict[str, list[float]],
               n: int) -> str:
    m = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    return (f"{what}: fp32 {m['fp32']:.3f} s, bf16 {m['bf16']:.3f} s wall: {m['fp32'] / m['bf16']:.2f}×; "
            f"CPU {c['fp32']:.3f} s vs {c['bf16']:.3f} s: {c['fp32'] / c['bf16']:.2f}× "
            f"(medians of {n} alternating)")


def fidelity(ref: list[np.ndarray], got: list[np.ndarray], margin: float = 0.05) -> str:
    """The gates' figures, and how near the nearest confident pixel came to changing label:
    its bf16 probability for the fp32 label minus the best other one (negative: it flipped)."""
    dp = [float(np.abs(a - b).max()) for a, b in zip(ref, got)]
    agree = sure = 0
    closest = np.inf
    for a, b in zip(ref, got):
        top2 = np.sort(a, 0)[-2:]
        ok = (top2[1] - top2[0]) > margin
        sure += int(ok.sum())
        label = a.argmax(0)[None]
        agree += int((label[0] == b.argmax(0))[ok].sum())
        other = b.copy()
        np.put_along_axis(other, label, -np.inf, 0)
        lead = np.take_along_axis(b, label, 0)[0] - other.max(0)
        if ok.any():
            closest = min(closest, float(lead[ok].min()))
    return (f"max|Δp| {max(dp):.4f} (worst frame), median over frames {statistics.median(dp):.4f}; "
            f"{sure - agree} of the {sure} pixel-frames with top-2 margin > {margin} changed "
            f"label (the nearest kept it by {closest:.4f})")


def golden_run(net, golden, parts) -> list[np.ndarray]:
    """A golden scenario replayed as the shared README says, with ``parts`` in bf16."""
    import json

    from xmem import InferenceCore, to_tensor

    core = InferenceCore(net, json.loads(str(golden["config_json"])), bf16_parts=parts)
    n, probs = len(golden["frames"]), []
    for t in range(n):
        rgb = to_tensor(golden["frames"][t])
        if t == 0:
            core.set_all_labels(golden["init_all_labels_000"].tolist())
            p = core.step(rgb, torch.from_numpy(golden["init_mask_000"]),
                          golden["init_valid_labels_000"].tolist(), end=n == 1)
        else:
            p = core.step(rgb, end=t == n - 1)
        probs.append(p.numpy())
    return probs


def bench_goldens(args) -> None:
    """The gates on the shared golden scenarios (golden weights, harsher than random ones):
    the chosen parts, and with --parts each part alone."""
    import xmem

    from annotator.engines.devices import XMEM_BF16_PARTS

    spec = importlib.util.spec_from_file_location("fill", SHARED / "xmem" / "fill_weights.py")
    fill = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(fill)  # type: ignore[union-attr]
    net = xmem.XMem().eval()
    net.load_state_dict(fill.fill_from_keys([(k, tuple(v.shape))
                                             for k, v in net.state_dict().items()]))
    sets = [tuple(XMEM_BF16_PARTS)]
    if args.parts:
        sets += [(part,) for part in xmem.inference_core.BF16_PARTS]
    for scenario in ("A", "B"):
        golden = np.load(SHARED / "xmem" / f"golden_{scenario}.npz")
        ref = list(golden["probs"])
        print(f"\nXMem golden scenario {scenario} ({len(ref)} frames, golden weights) against "
              "its fp32 probabilities")
        for parts in sets:
            print(f"  bf16 {'+'.join(parts):<18} {fidelity(ref, golden_run(net, golden, parts))}")


def bench_xmem(args) -> None:
    import xmem

    imgs, gt = frames(args.sequence, args.frames)
    mask = two_objects(gt)
    torch.manual_seed(0)
    net = xmem.XMem().eval()
    print(f"\nXMem (random weights, seed 0), davis2016/{args.sequence} "
          f"{imgs[0].shape[1]}×{imgs[0].shape[0]}, 2 objects, {len(imgs)} frames")
    ref, _ = xmem_run(net, imgs, mask, ())
    if args.parts:
        for part in xmem.inference_core.BF16_PARTS:
            got, ts = xmem_run(net, imgs, mask, (part,))
            print(f"  bf16 {part:<8} only: {statistics.median(ts):.3f} s/frame; "
                  f"{fidelity(ref, got)}")
    from annotator.engines.devices import XMEM_BF16_PARTS

    runs: dict[str, list[float]] = {"fp32": [], "bf16": []}
    cpu: dict[str, list[float]] = {"fp32": [], "bf16": []}
    got = ref
    for _ in range(args.pairs):
        runs["fp32"] += xmem_run(net, imgs, mask, (), cpu["fp32"])[1]
        got, ts = xmem_run(net, imgs, mask, XMEM_BF16_PARTS, cpu["bf16"])
        runs["bf16"] += ts
    print("  " + ratio_line(f"per frame, bf16 = {'+'.join(XMEM_BF16_PARTS)}", runs, cpu,
                            args.pairs) + " runs")
    print(f"  bf16 vs fp32: {fidelity(ref, got)}")


def bench_compile(args) -> None:
    """XMem's key encoder (ResNet-50 to stride 16, 854×480 padded to 864×480) eager against
    ``torch.compile`` (inductor), fp32 and bf16: best of 4 calls each, the compile time, and
    the largest difference of the stride-16 features (the issue keeps compiling only if it
    gives ≥ 15% with equal outputs)."""
    import xmem

    torch.manual_seed(0)
    net = xmem.XMem().eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, 3, 480, 864).contiguous(memory_format=torch.channels_last)
    print("\nXMem key encoder, eager vs torch.compile (random weights, 864×480)")

    def best(fn, bf16: bool) -> tuple[float, torch.Tensor]:
        times, out = [], None
        for _ in range(4):
            t0 = time.perf_counter()
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                out = fn(x)[0].float()
            times.append(time.perf_counter() - t0)
        return min(times), out

    for bf16 in (False, True):
        eager, ref = best(net.key_encoder, bf16)
        compiled = torch.compile(net.key_encoder)
        t0 = time.perf_counter()
        best(compiled, bf16)  # the first call compiles
        took = time.perf_counter() - t0
        fast, out = best(compiled, bf16)
        print(f"  {'bf16' if bf16 else 'fp32'}: eager {eager:.3f} s, compiled {fast:.3f} s "
              f"({eager / fast:.2f}×), compiling {took:.0f} s, max |Δ| {float((out - ref).abs().max()):.2e}")


def bench_sam(args) -> None:
    from segment_anything import sam_model_registry

    from annotator.engines.devices import choose_device
    from annotator.engines.embedding_cache import EmbeddingCache
    from annotator.engines.sam import SamSegmenter

    spec = importlib.util.spec_from_file_location("click_bench", ROOT / "bench" / "click_bench.py")
    click = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(click)  # type: ignore[union-attr]
    torch.manual_seed(0)
    model = sam_model_registry["vit_b"]().eval()
    segs = {p: SamSegmenter(model if p == "fp32" else model, "vit_b", f"bench-{p}",
                            choose_device("cpu", precision=p), EmbeddingCache(None))
            for p in ("fp32", "bf16")}
    imgs, gt = frames(args.sequence, 1)
    image = imgs[0]
    print(f"\nSAM vit_b (random weights, seed 0), davis2016/{args.sequence} frame 0")
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    cpu: dict[str, list[float]] = {"fp32": [], "bf16": []}
    emb = {}
    for _ in range(args.sam_pairs):
        for p in ("fp32", "bf16"):
            t0, c0 = time.perf_counter(), time.process_time()
            emb[p] = segs[p].compute_embedding(image)
            times[p].append(time.perf_counter() - t0)
            cpu[p].append(time.process_time() - c0)
    a, b = (torch.from_numpy(emb[p].features.astype(np.float32)).flatten() for p in ("fp32", "bf16"))
    cos = float(torch.nn.functional.cosine_similarity(a, b, 0))
    rel = float((a - b).norm() / a.norm())
    print("  " + ratio_line("image encoder, per embedding", times, cpu, args.sam_pairs))
    print(f"  embedding cosine {cos:.6f}, relative error {100 * rel:.2f}%")
    seg32, seg16 = segs["fp32"], segs["bf16"]
    seg32.set_embedding(emb["fp32"])
    seg16.set_embedding(emb["bf16"])
    pred = np.zeros_like(gt)
    pts: list[tuple[int, int, int]] = []
    for n in range(3):
        c = click.next_click(pred, gt)
        if c is None:
            break
        pts.append(c)
        P = np.array([(x, y) for x, y, _ in pts], np.float32)
        L = np.array([lab for _, _, lab in pts], np.int32)
        r32 = seg32.predict(P, L, multimask=False)
        r16 = seg16.predict(P, L, multimask=False)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # the mask decoder in bf16 too
            r16d = seg16.predictor.predict_torch(
                torch.as_tensor(seg16.predictor.transform.apply_coords(P, gt.shape))[None],
                torch.as_tensor(L)[None], multimask_output=False, return_logits=True)
        logits = seg32.predictor.predict(P, L, multimask_output=False, return_logits=True)[0][0]
        sure = np.abs(logits) > args.logit_margin
        for name, m in (("bf16 encoder", r16.masks[0]),
                        ("bf16 encoder+decoder", (r16d[0][0, 0].float() > 0).numpy())):
            inter, union = m & r32.masks[0], m | r32.masks[0]
            iou_all = inter.sum() / union.sum() if union.any() else 1.0
            iou_sure = inter[sure].sum() / union[sure].sum() if union[sure].any() else 1.0
            print(f"  {n + 1} click(s), {name}: mask IoU with fp32 {iou_sure:.4f} where "
                  f"|fp32 logit| > {args.logit_margin} ({100 * sure.mean():.1f}% of pixels), "
                  f"{iou_all:.4f} over all (fp32 mask {r32.masks[0].sum()} px, this "
                  f"{m.sum()} px)")
        pred = r32.masks[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequence", default="bmx-bumps")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--sam-pairs", type=int, default=2)
    ap.add_argument("--logit-margin", type=float, default=0.01)
    ap.add_argument("--parts", action="store_true")
    ap.add_argument("--compile", action="store_true", help="also torch.compile the key encoder")
    ap.add_argument("--no-sam", action="store_true")
    ap.add_argument("--no-xmem", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from annotator.engines import bf16_probe, registry
    from annotator.engines.devices import BF16_PAYS, bf16_support

    registry.start("cpu", threads=args.threads)  # threads and allocator, as the app does
    native, why = bf16_support()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; bf16 {'native' if native else 'NOT native'}"
          f" ({why}); load average {os.getloadavg()[0]:.1f}")
    gain = bf16_probe.measure()
    print(f"speed probe (measured now, not the cached figure): bf16 {gain:.2f}× fp32 -> auto "
          f"{'bf16' if native and gain >= BF16_PAYS else 'fp32'} (needs native and {BF16_PAYS}×)")
    if not args.no_xmem:
        bench_goldens(args)
        bench_xmem(args)
        if args.compile:
            bench_compile(args)
    if not args.no_sam:
        bench_sam(args)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
