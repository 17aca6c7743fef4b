"""Build a one-folder bundle of AVS Annotator for this platform with PyInstaller.

    python packaging/build.py                 CPU-only (the default): a throwaway venv gets the
                                              CPU torch, the app (non-editable) and PyInstaller
    python packaging/build.py --cuda          keeps torch's CUDA libraries (several GB)
    python packaging/build.py --workdir DIR   where the venv, build tree and bundle go

The bundle is ``WORKDIR/dist/annotator/`` (run ``annotator`` inside it). Model files stay out:
the registry downloads them into the per-user data folder, as from a pip install. After the
build, the bundle's ``annotator --version`` and ``annotator demo --headless`` run from an empty
folder outside the checkout with no Python environment in the environment, and the size,
build time and start-up times are printed (packaging/README.md keeps the measured ones).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# CPU builds of torch: on Linux, PyPI's torch is the CUDA build; the CPU one comes from the
# PyTorch CPU index (``--pip-arg=--index-url=https://download.pytorch.org/whl/cpu``) or, on the
# development machines, from the local wheel store that pip already searches.
CPU_TORCH = ["torch==2.13.0", "--no-deps torchvision==0.28.0"]
CUDA_LIB = re.compile(r"(lib)?(torch_cuda|c10_cuda|cudart|cublas|cudnn|cufft|curand|cusolver|"
                      r"cusparse|nccl|nvrtc|nvjitlink|cupti|cufile|nvjpeg)", re.I)
SHARED_LIB = re.compile(r"\.(so(\.\d+)*|dll|dylib|pyd)$", re.I)
MODEL_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors", ".onnx")


def _run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(venv: Path, cuda: bool, torch_specs: list[str], pip_args: list[str]) -> Path:
    """A venv of its own (no system site-packages) with torch, the app and PyInstaller."""
    if not _venv_python(venv).exists():
        _run([sys.executable, "-m", "venv", str(venv)])
    py = str(_venv_python(venv))
    pip = [py, "-m", "pip", "install", "-q", *pip_args]
    if cuda and not torch_specs:  # the versions this Python has (a CUDA build on Linux)
        from importlib.metadata import version

        torch_specs = [f"torch=={version('torch')}", f"torchvision=={version('torchvision')}"]
    for spec in torch_specs or CPU_TORCH:
        _run([*pip, *spec.split()])
    _run([*pip, str(ROOT), "pyinstaller>=6"])  # the app as a wheel, not the checkout
    return Path(py)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"build: {' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def smoke(bundle: Path, runs: int = 3) -> dict[str, float]:
    """Run the bundle from an empty folder with a bare environment (no venv, no PYTHONPATH)."""
    exe = bundle / ("annotator.exe" if os.name == "nt" else "annotator")
    outside = Path(tempfile.mkdtemp(prefix="avs-bundle-run-"))
    env = {"PATH": os.defpath, "HOME": str(outside / "home"), "QT_QPA_PLATFORM": "offscreen",
           "LANG": "C.UTF-8", "TMPDIR": tempfile.gettempdir()}
    if os.name == "nt":
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", r"C:\Windows")
    try:
        times: dict[str, list[float]] = {"--version": [], "demo --headless": [],
                                         "doctor --no-load": []}
        for i in range(runs):
            t, out = _timed([str(exe), "--version"], outside, env)
            times["--version"].append(t)
            if i == 0:
                print(out.strip())
            demo = ["demo", "--headless", "--dir", str(outside / f"demo{i}")]
            t, out = _timed([str(exe), *demo], outside, env)
            times["demo --headless"].append(t)
            if i == 0:
                print(out.strip())
            if not (outside / f"demo{i}" / "demo.avsproj" / "project.avs").is_file():
                sys.exit("build: the bundle's demo --headless made no project")
            t, out = _timed([str(exe), "doctor", "--no-load"], outside, env)
            times["doctor --no-load"].append(t)
            if i == 0:
                print(out.strip())
        return {k: statistics.median(v) for k, v in times.items()}
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cuda", action="store_true", help="keep torch's CUDA libraries")
    ap.add_argument("--workdir", type=Path,
                    default=Path(tempfile.gettempdir()) / "avs-annotator-bundle")
    ap.add_argument("--torch", action="append", default=[], metavar="SPEC",
                    help="pip spec(s) for torch/torchvision (repeatable; default: the CPU "
                         f"{' + '.join(CPU_TORCH)}, or with --cuda this Python's versions)")
    ap.add_argument("--pip-arg", action="append", default=[], metavar="ARG",
                    help="extra pip argument, e.g. --pip-arg=--index-url=URL")
    ap.add_argument("--keep-build", action="store_true", help="keep PyInstaller's work tree")
    args = ap.parse_args(argv)
    work: Path = args.workdir.resolve()
    if work == ROOT or ROOT in work.parents:
        sys.exit(f"build: {work} is inside the checkout; pick a --workdir outside it")
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    py = make_venv(work / "venv", args.cuda, args.torch, args.pip_arg)
    t1 = time.perf_counter()
    env = {**os.environ, "AVS_BUNDLE_CUDA": "1" if args.cuda else "0"}
    _run([str(py), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
          "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
          str(HERE / "annotator.spec")], env=env, cwd=work)
    t2 = time.perf_counter()
    if not args.keep_build:
        shutil.rmtree(work / "build", ignore_errors=True)
    bundle = work / "dist" / "annotator"
    models = [p for p in bundle.rglob("*") if p.suffix in MODEL_SUFFIXES]
    if models:
        sys.exit(f"build: model files got into the bundle: {models[:5]}")
    cuda_libs = [p.name for p in bundle.rglob("*")
                 if p.is_file() and SHARED_LIB.search(p.name)
                 and (CUDA_LIB.match(p.name) or "nvidia" in p.parts)]
    if not args.cuda and cuda_libs:
        sys.exit(f"build: CUDA libraries in a CPU bundle: {cuda_libs[:5]}")

    times = smoke(bundle)
    size = _size(bundle)
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    torch_version = subprocess.run([str(py), "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    print(f"\n== bundle {bundle} ({'CUDA' if args.cuda else 'CPU-only'}, torch {torch_version})")
    print(f"date        {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
          f"{os.cpu_count()} CPUs")
    print(f"size        {size / 2**20:.0f} MiB in {files} files")
    print(f"build time  {t2 - t1:.0f} s PyInstaller, {t1 - t0:.0f} s venv and installs")
    for name, seconds in times.items():
        print(f"start-up    annotator {name}: {seconds:.2f} s (median of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
