"""Resume benchmark: ``annotator propagate`` killed (SIGKILL) at ~90 %, then run again.

A DAVIS-2016 sequence is played back and forth (ping-pong, so the motion stays real) into an
H.264 video of ``--frames`` frames; its first frame's ground truth is the anchor, imported with
``annotator import --masks``. Two copies of the project are propagated by the real command in
a subprocess:

1. **uninterrupted**: the whole run; the store is polled to note when the job's committed
   count reached the kill point, so the *remaining frames' time* (from that point to the end of
   the uninterrupted run) is known;
2. **killed**: SIGKILL as soon as the store holds ``--kill-at`` of the masks, then the same
   command again (a fresh process: start-up, engine, checkpoint restore, replay, the rest).

Printed: the uninterrupted run's time, the remaining frames' time, the resumed run's time, the
time to its first new mask (from the process's start), the time of the same command on a
finished project (what a resume costs before the job starts), the resumed time over the
remaining frames' time, the checkpoint it started from, and whether every mask equals the uninterrupted
run's (RLE, byte for byte). ``--engine xmem`` uses our XMem with random weights of the real
architecture (real cost, meaningless masks) on a shorter clip.

Run: ``python bench/resume_bench.py [--engine fallback|xmem] [--sequence stroller]
[--frames 1500] [--kill-at 0.9]``. Figures go in the README with the date and the machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from annotator.core.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "davis2016"


def make_video(seq: Path, n: int, out: Path) -> None:
    """``n`` frames of ``seq`` played forward and backward, as H.264."""
    names = sorted((seq / "JPEGImages").glob("*.jpg"))
    order = list(range(len(names))) + list(range(len(names) - 2, 0, -1))
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        first = Image.open(names[0])
        stream.width, stream.height = first.size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for i in range(n):
            rgb = np.array(Image.open(names[order[i % len(order)]]).convert("RGB"))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "annotator.cli", *map(str, args)]


def new_project(video: Path, seq: Path, folder: Path) -> Path:
    first = folder.with_name(folder.name + "-anchor")
    first.mkdir()
    shutil.copy(seq / "Annotations" / "00000.png", first / "00000.png")
    for args in (("new", video, "--project", folder),
                 ("import", folder, "--masks", first, "--object", "object")):
        r = subprocess.run(cli(*args), capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"resume_bench: {' '.join(map(str, args))} failed: {r.stderr.strip()}")
    return folder / "project.avs"


def done(db: Path) -> int:
    try:
        with Store(db, readonly=True) as store:
            jobs = [store.job(k) for k in ("propagate:video:1",)]
    except Exception:  # noqa: BLE001 - the database may be mid-creation
        return 0
    return int(jobs[0]["done"]) if jobs and jobs[0] else 0


def masks(db: Path) -> dict:
    with Store(db, readonly=True) as store:
        return {(m.object_id, m.frame): m.rle["counts"] for m in store.iter_masks()}


def propagate(db: Path, engine: str, env: dict, *, kill_at: int | None = None,
              mark: int | None = None) -> dict:
    """Run ``annotator propagate``; poll the store. Returns the times (s from the start)."""
    t0 = time.perf_counter()
    log = db.parent.with_name(db.parent.name + f"-{time.monotonic_ns()}.log")
    with open(log, "w") as fh:  # a file, not a pipe: the progress bar never blocks the command
        p = subprocess.Popen(cli("propagate", db.parent, "--engine", engine, "--refine", "off"),
                             stdout=fh, stderr=subprocess.STDOUT, text=True, env=env)
    start_done = done(db)
    out: dict = {"first_new": None, "mark": None}
    while p.poll() is None:
        n = done(db)
        now = time.perf_counter() - t0
        if out["first_new"] is None and n > start_done:
            out["first_new"] = now
        if mark is not None and out["mark"] is None and n >= mark:
            out["mark"], out["mark_done"] = now, n
        if kill_at is not None and n >= kill_at:
            p.send_signal(signal.SIGKILL)
            p.wait()
            out["killed_at"] = done(db)
            out["wall"] = time.perf_counter() - t0
            return out
        time.sleep(0.02)
    out["wall"] = time.perf_counter() - t0
    text = log.read_text()
    if p.returncode:
        sys.exit(f"resume_bench: propagate failed ({p.returncode}): {text.strip()[-500:]}")
    out["stdout"] = "\n".join(line.split("\r")[-1] for line in text.splitlines())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("fallback", "xmem"), default="fallback")
    ap.add_argument("--sequence", default="stroller")
    ap.add_argument("--frames", type=int, default=None,
                    help="video length (default 1500 for fallback, 40 for xmem)")
    ap.add_argument("--kill-at", type=float, default=0.9)
    args = ap.parse_args()
    seq = DATA / args.sequence
    if not seq.is_dir():
        sys.exit(f"resume_bench: {seq} not found: the shared DAVIS data is needed")
    n = args.frames or (1500 if args.engine == "fallback" else 40)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="resume-bench-") as tmp:
        tmp = Path(tmp)
        if args.engine == "xmem":
            import torch
            import xmem

            torch.manual_seed(0)
            ckpt = tmp / "xmem-random.pth"
            torch.save(xmem.XMem().state_dict(), ckpt)  # the real architecture, random weights
            env["AVS_ANNOTATOR_XMEM"] = str(ckpt)
        video = tmp / "clip.mp4"
        t = time.perf_counter()
        make_video(seq, n, video)
        print(f"{args.sequence} ping-pong, {n} frames, made in {time.perf_counter() - t:.1f} s")
        ref = new_project(video, seq, tmp / "ref")
        cut = new_project(video, seq, tmp / "cut")
        total = n - 1
        target = int(round(args.kill_at * total))

        whole = propagate(ref, args.engine, env, mark=target)
        remaining = whole["wall"] - whole["mark"]
        killed = propagate(cut, args.engine, env, kill_at=target)
        ckpts = sorted(p.name for p in (cut.parent / "cache" / "jobs").glob("*.ckpt")) \
            if (cut.parent / "cache" / "jobs").is_dir() else []
        resumed = propagate(cut, args.engine, env)
        same = masks(cut) == masks(ref)
        idle = propagate(ref, args.engine, env)  # nothing left: start-up and exit only

    left = total - killed["killed_at"]
    mark_left = total - whole["mark_done"]
    print(f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"{platform.node()}, {os.cpu_count()} CPUs, engine {args.engine}")
    print(f"command: python bench/resume_bench.py --engine {args.engine} --sequence "
          f"{args.sequence} --frames {n} --kill-at {args.kill_at}")
    print(f"uninterrupted run       {whole['wall']:8.2f} s for {total} masks "
          f"({total / whole['wall']:.1f} masks/s, process start included)")
    print(f"its remaining frames    {remaining:8.2f} s for the last {mark_left} masks "
          f"(from the moment the store held {whole['mark_done']})")
    print(f"killed (SIGKILL) at     {killed['killed_at']} masks committed "
          f"({killed['killed_at'] / total:.0%}); checkpoints on disk: {', '.join(ckpts) or 'none'}")
    print(f"resumed run             {resumed['wall']:8.2f} s for {left} masks "
          f"(process start, engine, checkpoint, replay, the rest)")
    print(f"first new mask after    {resumed['first_new'] or float('nan'):8.2f} s")
    print(f"a run with nothing left {idle['wall']:8.2f} s (process start, engine, plan: the "
          "part of a resume that is not the job)")
    print(f"resumed / remaining     {resumed['wall'] / remaining:8.2f}  (1.10 = within 10 %)")
    print(f"masks equal to the uninterrupted run: {'yes' if same else 'NO'}")
    for line in (resumed.get("stdout") or "").splitlines():
        if line.strip() and "masks/s" not in line:  # the summary, not the progress bar
            print("  " + line)


if __name__ == "__main__":
    main()
