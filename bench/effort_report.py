"""What ``bench/effort_bench.py`` prints: per-sequence and pooled tables (Markdown, as
docs/benchmarks.md shows them), the two goals, and the curves (CSV, and a PNG plot where
matplotlib is installed).

Pooling: clicks per 100 frames = all clicks / all frames × 100; good frames and mean J are
over all frames; the area is the frame-weighted mean of the sequences' areas; machine time is
the mean over segments (one per sequence). Pooled curves: :func:`pooled_curves`.
"""

from __future__ import annotations

import numpy as np
from effort_curve import area, clicks_for, plot, write_csv

PROTOCOLS = {"stage2": "first frame + propagate", "check": "check view", "oracle": "oracle"}
CURVE_NAMES = {"check": "check view", "oracle": "oracle (truly worst frame)",
               "kf": "keyframes (N = ∞, 25, 10)", "every": "every frame (≤ 1 … 20 clicks)"}


def _protocols(r: dict) -> list[str]:
    kfs = sorted((k for k in r if k.startswith("kf")), key=lambda k: -int(k[2:]))
    return ["stage2", "check", "oracle", *kfs, "every"]


def _name(key: str) -> str:
    if key.startswith("kf"):
        return f"keyframes every {key[2:]}"
    return PROTOCOLS.get(key, "every frame (no propagation)")


def _good(r: dict, key: str) -> float:
    p = r[key]
    return p["good_fraction"] if key == "every" else p["good"] / r["frames"]


def one_line(r: dict) -> str:
    c, o = r["check"], r["oracle"]
    return (f"{r['sequence']}: {r['frames']} frames, budget {r['budget']}; stage 2 J "
            f"{r['stage2']['mean_j']:.3f}; check view {c['per100']:.1f} clicks/100, good "
            f"{c['good'] / r['frames']:.0%}, J {c['mean_j']:.3f}; oracle {o['per100']:.1f}, "
            f"{o['good'] / r['frames']:.0%}, {o['mean_j']:.3f}; every frame "
            f"{r['every']['per100']:.0f}, J {r['every']['mean_j']:.3f} ({r['wall_s']:.0f} s)")


def pool(results: list[dict], key: str, x_max: float) -> dict:
    w = np.array([r["frames"] for r in results], float)
    ps = [r[key] for r in results]
    return {"per100": float(w @ [p["per100"] for p in ps] / w.sum()),
            "good": float(w @ [_good(r, key) for r in results] / w.sum()),
            "mean_j": float(w @ [p["mean_j"] for p in ps] / w.sum()),
            "auc": float(w @ [area(p["curve"], x_max) for p in ps] / w.sum()),
            "machine_s": (float(np.mean([p["machine_s"] for p in ps])) if key != "every"
                          else float(np.mean([p["machine_s_per_frame"] * r["frames"]
                                              for p, r in zip(ps, results)])))}


def pooled_curves(results: list[dict]) -> dict[str, list]:
    """Each protocol's curve, its steps pooled over the sequences: step k (the propagation,
    the k-th fix; a keyframe setting; a cap on the clicks per frame) is the frame-weighted
    mean of the sequences' k-th points, a sequence that stopped earlier counting with its last
    point — clicks per 100 frames so pooled are all clicks over all frames."""
    w = np.array([r["frames"] for r in results], float) / sum(r["frames"] for r in results)
    kf = max((k for k in results[0] if k.startswith("kf")), key=lambda k: len(results[0][k]["curve"]))
    out = {}
    for key, name in (("check", "check"), ("oracle", "oracle"), (kf, "kf"), ("every", "every")):
        steps = max(len(r[key]["curve"]) for r in results)
        curves = np.array([r[key]["curve"] + r[key]["curve"][-1:] * (steps - len(r[key]["curve"]))
                           for r in results])  # sequence × step × (clicks, J)
        mean = np.tensordot(w, curves, axes=1)
        out[CURVE_NAMES[name]] = [(float(x), float(y)) for x, y in mean]
    return out


def table(results: list[dict], x_max: float) -> str:
    head = ("| sequence | frames | first frame clicks | after propagation J | check view: clicks/100 "
            "· good · J · area · machine s | oracle: clicks/100 · good · J · area | "
            + " | ".join(f"keyframes {k[2:]}: clicks/100 · J" for k in _protocols(results[0])
                         if k.startswith("kf"))
            + " | every frame: clicks/100 · J |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        n, c, o = r["frames"], r["check"], r["oracle"]
        cells = [r["sequence"], str(n), str(r["first_clicks"]), f"{r['stage2']['mean_j']:.3f}",
                 f"{c['per100']:.1f} · {c['good'] / n:.0%} · {c['mean_j']:.3f} · "
                 f"{area(c['curve'], x_max):.3f} · {c['machine_s']:.0f}",
                 f"{o['per100']:.1f} · {o['good'] / n:.0%} · {o['mean_j']:.3f} · "
                 f"{area(o['curve'], x_max):.3f}"]
        cells += [f"{r[k]['per100']:.1f} · {r[k]['mean_j']:.3f}" for k in _protocols(r)
                  if k.startswith("kf")]
        cells.append(f"{r['every']['per100']:.0f} · {r['every']['mean_j']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pooled_table(groups: dict[str, list[dict]], x_max: float) -> str:
    lines = ["| protocol | " + " | ".join(
        f"{g}: clicks/100 · good · mean J · area · machine s/segment" for g in groups) + " |",
        "|---|" + "---|" * len(groups)]
    for key in _protocols(next(iter(groups.values()))[0]):
        cells = []
        for rs in groups.values():
            p = pool(rs, key, x_max)
            cells.append(f"{p['per100']:.1f} · {p['good']:.1%} · {p['mean_j']:.3f} · "
                         f"{p['auc']:.3f} · {p['machine_s']:.0f}")
        lines.append(f"| {_name(key)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals(label: str, rs: list[dict], x_max: float) -> list[str]:
    c, o = pool(rs, "check", x_max), pool(rs, "oracle", x_max)
    if o["good"]:
        good_ratio, click_ratio = c["good"] / o["good"], c["per100"] / o["per100"]
        met = good_ratio >= 0.95 and click_ratio <= 1.25
        out = [f"{label}: check view / oracle good frames {good_ratio:.1%} (goal ≥ 95%), "
               f"clicks {click_ratio:.2f}× (goal ≤ 1.25×): {'met' if met else 'NOT met'}"]
    else:
        out = [f"{label}: check view / oracle: the oracle makes no frame good (not judged)"]
    every = pooled_curves(rs)[CURVE_NAMES["every"]]
    need = clicks_for(every, c["mean_j"])
    if need is None:
        out.append(f"{label}: clicking every frame never reaches the check view's mean J "
                   f"{c['mean_j']:.3f} (at most {every[-1][1]:.3f} with 20 clicks a frame): "
                   "goal (≥ 5× fewer clicks) met")
    else:
        ratio = need / c["per100"]
        out.append(f"{label}: every frame needs {need:.0f} clicks/100 frames for the check "
                   f"view's mean J {c['mean_j']:.3f}; the check view {c['per100']:.1f}: "
                   f"{ratio:.1f}× fewer (goal ≥ 5×): {'met' if ratio >= 5 else 'NOT met'}")
    return out


def report(results: list[dict], args) -> None:  # noqa: ANN001
    held = [r for r in results if r["sequence"] in set(args.held_out)]
    groups = {f"all {len(results)}": results}
    if held and len(held) < len(results):
        groups[f"held-out {len(held)}"] = held
    print(f"\nbudget {args.budget:g} clicks per 10 frames; frames clicked to IoU ≥ "
          f"{args.target:g} or {args.max_clicks} clicks; good = J ≥ {args.good:g}; area over "
          f"0–{args.auc_max:g} clicks per 100 frames; every frame estimated on every "
          f"{results[0]['every']['stride']}th frame\n")
    print(table(results, args.auc_max) + "\n")
    print(pooled_table(groups, args.auc_max) + "\n")
    for label, rs in groups.items():
        print("\n".join(goals(label, rs, args.auc_max)))
    for key in ("check", "oracle"):
        fixes = [f for r in results for f in r[key]["fixes"]]
        lost = [f for f in fixes if f["j_before"] < 0.1]
        print(f"{_name(key)}: {len(fixes)} fixes tried, {sum(f['kept'] for f in fixes)} made "
              f"the frame good; {sum(f['clicks'] for f in fixes if not f['kept'])} of "
              f"{sum(f['clicks'] for f in fixes)} stage-3 clicks went to fixes that did not; "
              f"of {len(lost)} lost frames (J < 0.1 before), {sum(f['kept'] for f in lost)} "
              "made good")
    ran_out = [r["sequence"] for r in results if r["check"]["bad_left"]
               and sum(f["clicks"] for f in r["check"]["fixes"]) < r["budget"]]
    print(f"check view out of clips (each clip's worst frame tried or good) with budget and bad "
          f"frames left: {len(ran_out)} of {len(results)} sequences ({', '.join(ran_out)})")
    forced = {k: sum(r[k]["forced"] for r in results) for k in ("check", "oracle")}
    print(f"accepted against the window's question (size far from the neighbours'): {forced}")
    curves = pooled_curves(results)
    csv = write_csv(args.plot.with_suffix(".csv"), curves)
    title = (f"J against clicks, {len(results)} DAVIS-2016 sequences pooled "
             f"(stage-3 budget {args.budget:g} clicks per 10 frames)")
    if plot(args.plot, curves, title, args.good):
        print(f"plot: {args.plot}; curves: {csv}")
    else:
        print(f"curves: {csv} (no plot: matplotlib is not installed)")
