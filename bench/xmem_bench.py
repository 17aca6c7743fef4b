"""XMem inference speed on this CPU (prints figures; never asserts timings).

854×480 synthetic video (../shared/xmem/synth_sequence.py), full network with the deterministic
golden weights (../shared/xmem/fill_weights.py), 2 objects, eval.py defaults (r=5, k=30,
T_max=10, T_min=5, P=128), 2 threads, fp32. As SPEC §13: frame 0 carries the mask, frames 1–5
warm up, frames 6–15 are timed. Memory frames (t = 10, 15) and the others are reported apart.

Runs, in one process so that they share the machine's load, in this order (the allocator
setting is process-wide and cannot be undone, so the runs without it come first):
  ref-order  the same network in the reference's order of computation (no shared parts,
             contiguous layout) with the C library's default allocation, as the reference runs:
             the speed-up is measured against this, on the same machine
  ours-plain ours with the default allocation (the computation's share of the speed-up)
  ours       the default InferenceCore (shared-part convolutions, channels-last, freed memory
             kept for reuse: xmem/allocator.py)
  vote       ours with want_vote=True (the memory vote's own cost is timed separately)
  ref-kept   ref-order with freed memory kept (like for like with ours)
and checks that they all give the same probabilities.

    python bench/xmem_bench.py [--frames 16] [--pairs 3] [--long 1000]

``--pairs N`` then times N alternating pairs of ref-kept and ours (same allocator, order
swapped every pair) and prints the median ratio: the sequential runs above are exposed to
changes of the machine's load between them, the pairs much less so.

``--long N`` adds the bounded-memory run: N frames at 128×128, eval defaults with
max_long_term_elements=640 so long-term memory fills early; prints memory held per 100 frames.
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

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "xmem"
sys.path.insert(0, str(ROOT / "vendor"))

import xmem.inference_core as core_mod  # noqa: E402
from xmem import InferenceCore, XMem, to_tensor  # noqa: E402


def _load(name: str):  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(name, SHARED / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def network() -> XMem:
    net = XMem().eval()
    if (SHARED / "fill_weights.py").exists():
        fw = _load("fill_weights")
        net.load_state_dict(fw.fill_from_keys([(k, tuple(v.shape)) for k, v in net.state_dict().items()]))
    else:
        print("(../shared absent: random torch init instead of the golden weights)")
    return net


def frames(T: int, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    if (SHARED / "synth_sequence.py").exists():
        return _load("synth_sequence").make_sequence(T, H, W)
    rng = np.random.default_rng(0)
    labels = np.zeros((T, H, W), np.uint8)
    labels[:, H // 4 : H // 2, W // 4 : W // 2] = 1
    labels[:, H // 2 :, W // 2 :] = 2
    return rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8), labels


class VoteTimer:
    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._orig = core_mod.build_vote

    def __call__(self, *a, **k):  # noqa: ANN002, ANN003, ANN204
        t0 = time.perf_counter()
        out = self._orig(*a, **k)
        self.seconds.append(time.perf_counter() - t0)
        return out


def run(net: XMem, rgb: list[torch.Tensor], mask: torch.Tensor, fast: bool, vote: bool,
        half: bool = False, keep: bool = True):
    net.set_fast_paths(fast)
    if not fast:
        net.to(memory_format=torch.contiguous_format)
    core = InferenceCore(net, {"half": half}, channels_last=fast, keep_freed_memory=keep)
    cuda = core.device.type == "cuda"
    core.set_all_labels([1, 2])
    times, probs, mem_flags = [], [], []
    for t, x in enumerate(rgb):
        is_mem = t > 0 and (t - core.last_mem_ti >= core.config.mem_every)
        t0 = time.perf_counter()
        p = core.step(x, mask if t == 0 else None, want_vote=vote)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        probs.append(p)
        mem_flags.append(is_mem)
    return times, probs, mem_flags


def report(name: str, times: list[float], mem: list[bool], warm: int) -> float:
    timed = [(s, m) for t, (s, m) in enumerate(zip(times, mem)) if t > warm]
    allt = [s for s, _ in timed]
    memt = [s for s, m in timed if m]
    other = [s for s, m in timed if not m]
    print(
        f"{name:10s} median {statistics.median(allt):.3f} s/frame (mean {statistics.mean(allt):.3f}); "
        f"memory frames {', '.join(f'{s:.3f}' for s in memt)}; "
        f"non-memory median {statistics.median(other):.3f}"
    )
    print(f"{'':10s} per frame: {' '.join(f'{s:.2f}' for s in times)}")
    return statistics.median(allt)


def _rss_mb() -> float:
    """The process's resident memory now (Linux; 0 elsewhere): with freed memory kept for
    reuse it must level off too."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def long_run(net: XMem, n: int) -> None:
    net.set_fast_paths(True)
    core = InferenceCore(net, {"max_long_term_elements": 640})
    core.set_all_labels([1, 2])
    f, lab = frames(48, 128, 128)
    rgb = [to_tensor(x) for x in f]
    mask = torch.stack([torch.from_numpy(lab[0] == i).float() for i in (1, 2)])
    held, t0 = [], time.perf_counter()
    for t in range(n):
        k = t % 96
        x = rgb[k if k < 48 else 95 - k]  # forward and back, so the video never ends
        core.step(x, mask if t == 0 else None)
        mm = core.memory
        held.append((mm.nbytes(), mm.work.size, mm.long.size))
        if (t + 1) % 100 == 0:
            w = held[t - 99 :]
            print(
                f"  frames {t - 99:4d}-{t:4d}: bytes held max {max(h[0] for h in w):,} "
                f"WM ≤ {max(h[1] for h in w)} LT ≤ {max(h[2] for h in w)}; "
                f"process resident {_rss_mb():.0f} MB",
                flush=True,
            )
    dt = time.perf_counter() - t0
    print(f"long run: {n} frames at 128×128 in {dt:.1f} s ({dt / n * 1000:.1f} ms/frame)")
    after = max(h[0] for h in held[200:]) if n > 200 else 0
    at = max(h[0] for h in held[100:200])
    print(f"  max held after frame 200 / max held in frames 100-199: {after / at:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--long", type=int, default=0, help="also run the bounded-memory check")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=3,
                    help="alternating ref-kept/ours pairs after the runs (0: none)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    ap.add_argument("--only-long", action="store_true", help="only the bounded-memory run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.only_long:
        long_run(network(), args.long or 1000)
        return
    net = network().to(args.device)
    f, lab = frames(args.frames, 480, 854)
    rgb = [to_tensor(x) for x in f]
    mask = torch.stack([torch.from_numpy(lab[0] == i).float() for i in (1, 2)])
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, "
          "854×480 → 864×480, 2 objects")
    t_ref, p_ref, mem = run(net, rgb, mask, False, False, keep=False)
    t_plain, p_plain, _ = run(net, rgb, mask, True, False, keep=False)
    t_ours, p_ours, _ = run(net, rgb, mask, True, False)
    timer = VoteTimer()
    core_mod.build_vote = timer
    t_vote, p_vote, _ = run(net, rgb, mask, True, True)
    core_mod.build_vote = timer._orig
    t_refk, _, _ = run(net, rgb, mask, False, False)
    m_ref = report("ref-order", t_ref, mem, 5)
    m_plain = report("ours-plain", t_plain, mem, 5)
    m_ours = report("ours", t_ours, mem, 5)
    report("vote", t_vote, mem, 5)
    m_refk = report("ref-kept", t_refk, mem, 5)
    print(f"speed-up (median, ref-order / ours): {m_ref / m_ours:.2f}×; computation alone: "
          f"ref-order / ours-plain {m_ref / m_plain:.2f}×, ref-kept / ours {m_refk / m_ours:.2f}×")
    if args.pairs:
        # the runs above go one after the other, so a change of the machine's load between
        # them shows up as a speed-up; alternating pairs (same allocator) cancel most of it
        ratios = []
        for k in range(args.pairs):
            order = ((False, "ref-kept"), (True, "ours")) if k % 2 == 0 else \
                ((True, "ours"), (False, "ref-kept"))
            med = {}
            for fast, name in order:
                times, _, _ = run(net, rgb, mask, fast, False)
                med[name] = statistics.median(times[6:])
            ratios.append(med["ref-kept"] / med["ours"])
            print(f"pair {k + 1}: ref-kept {med['ref-kept']:.3f} s, ours {med['ours']:.3f} s "
                  f"→ {ratios[-1]:.2f}×", flush=True)
        print(f"alternating pairs, ref-kept / ours: median {statistics.median(ratios):.2f}× "
              f"(range {min(ratios):.2f}–{max(ratios):.2f}×, {len(ratios)} pairs)")
    vs = timer.seconds[5:]
    print(f"memory vote: median {statistics.median(vs) * 1000:.1f} ms/frame to build "
          f"({statistics.median(vs) / m_ours * 100:.1f}% of a frame)")
    d_ref = max(float((a - b).abs().max()) for a, b in zip(p_ours, p_ref))
    d_plain = max(float((a - b).abs().max()) for a, b in zip(p_ours, p_plain))
    d_vote = max(float((a - b).abs().max()) for a, b in zip(p_ours, p_vote))
    print(f"max |Δp| ours vs ref-order {d_ref:.2e}; vs ours-plain {d_plain:.2e}; "
          f"with vote vs without {d_vote:.2e}")
    if args.device == "cuda":
        t_half, p_half, _ = run(net, rgb, mask, True, False, half=True)
        report("fp16", t_half, mem, 5)
        d_half = max(float((a - b).abs().max()) for a, b in zip(p_ours, p_half))
        print(f"max |Δp| fp16 autocast vs fp32 {d_half:.2e}")
    if args.long:
        long_run(network(), args.long)


if __name__ == "__main__":
    main()
