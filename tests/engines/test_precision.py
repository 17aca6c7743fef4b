"""Precision: what ``auto`` picks on each kind of machine (the detected CPU, its measured bf16
speed-up, CUDA and MPS PATCHED: this machine is one kind only), the ``--precision`` option,
``annotator doctor`` and the status bar's precision word on each kind of CPU, the speed probe
itself, and SAM's bf16 fidelity gates on a real DAVIS frame with a random-weight vit_b of the
real architecture."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch

from annotator import settings
from annotator.cli import main
from annotator.engines import devices
from annotator.errors import UserError
from tests.engines.conftest import PlayedCpu


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AVS_ANNOTATOR_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("AVS_ANNOTATOR_MODELS_DIR", str(tmp_path / "models"))
    for env in (devices.DEVICE_ENV, devices.THREADS_ENV, devices.PRECISION_ENV):
        monkeypatch.delenv(env, raising=False)
    yield
    from annotator.engines import registry

    registry.reset_for_tests()


def machine(monkeypatch, arch: str, flags: set[str], cuda: bool = False, mps: bool = False,
            gain: float = 1.9):
    """PATCHED: the detected CPU, its measured bf16 speed-up, CUDA and MPS."""
    monkeypatch.setattr(devices, "detect_cpu", lambda: devices.Cpu(arch, frozenset(flags)))
    monkeypatch.setattr(devices, "bf16_speedup", lambda: gain)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(devices, "mps_available", lambda: mps)


@pytest.mark.parametrize("arch, flags, cuda, mps, want", [
    ("x86_64", {"avx2", "avx512f", "avx512_bf16"}, False, False, "bf16"),  # Zen 4, Cooper Lake
    ("x86_64", {"avx512f", "amx_bf16", "amx_tile"}, False, False, "bf16"),  # Sapphire Rapids
    ("x86_64", {"avx2", "avx512f"}, False, False, "fp32"),  # Skylake-X: bf16 emulated
    ("x86_64", {"avx2"}, False, False, "fp32"),
    ("aarch64", {"fp", "asimd", "bf16", "i8mm"}, False, False, "bf16"),  # Graviton 3, Neoverse V1
    ("aarch64", {"fp", "asimd"}, False, False, "fp32"),  # Graviton 2
    ("arm64", {"bf16"}, False, False, "bf16"),  # Apple M2 CPU (sysctl FEAT_BF16)
    ("x86_64", {"avx512_bf16"}, True, False, "fp16"),  # a GPU: fp16 there, as before
    ("arm64", {"bf16"}, False, True, "fp32"),  # Apple MPS: fp32
    ("riscv64", set(), False, False, "fp32"),
])
def test_auto_on_each_kind_of_machine(monkeypatch, arch, flags, cuda, mps, want):
    machine(monkeypatch, arch, flags, cuda, mps)
    c = devices.choose_device()
    assert c.precision == want, c.describe()
    assert c.half is (want == "fp16")
    assert c.precision_reason.startswith("auto:")
    if c.device.type == "cpu":  # the reason names what was detected, or that nothing is known
        assert c.precision_reason.startswith(f"auto: {want} because {devices.bf16_support()[1]}")
        found = sorted(f for f in ("avx512_bf16", "amx_bf16") if f in flags)
        assert all(f in c.precision_reason for f in found)


def test_native_flags_but_no_faster_stays_fp32(monkeypatch):
    """Flags say what a CPU has, not how fast it is: bf16 that measures slower is not used."""
    machine(monkeypatch, "x86_64", {"avx512f", "avx512_bf16"}, gain=0.55)
    c = devices.choose_device()
    assert c.precision == "fp32"
    assert "although the CPU has avx512_bf16: bf16 measured 0.55×" in c.precision_reason
    assert devices.choose_device(precision="bf16").precision == "bf16"  # asked for: honoured


def test_auto_and_its_reason_on_each_kind_of_cpu(cpu_kind: PlayedCpu):
    """The choice follows the played CPU (the probe is asked only where bf16 is native: the
    fixture fails the test otherwise), and its reason says what was detected and measured."""
    c = devices.choose_device("cpu")
    assert c.precision == cpu_kind.auto and c.bf16 is (cpu_kind.auto == "bf16")
    why = devices.bf16_support()[1]
    assert devices.cpu_bf16() == devices.CpuBf16(cpu_kind.native, why, cpu_kind.speedup)
    reason = {"native-fast": "auto: bf16 because the CPU has avx512_bf16 and it measured 1.90× "
                             "fp32's speed",
              "not-native": "auto: fp32 because the CPU has neither avx512_bf16 nor amx_bf16, "
                            "so bf16 is emulated",
              "native-slow": "auto: fp32 although the CPU has avx512_bf16: bf16 measured 0.60× "
                             "fp32's speed here (needs 1.2×)"}[cpu_kind.kind]
    assert c.precision_reason == reason
    asked = devices.choose_device("cpu", precision="bf16")
    assert asked.precision == "bf16"
    assert ("slower than fp32" in asked.precision_reason) is (not cpu_kind.native)


# -- the speed probe ----------------------------------------------------------------------------

def test_the_suite_never_reads_the_developers_probe_figure(_fresh_user_cache):
    """tests/conftest.py points the probe's cache at the session's own folder: a figure an
    earlier run (or another machine sharing the home folder) kept is never read."""
    from annotator.engines import bf16_probe

    assert bf16_probe.cache_file().parent.parent == _fresh_user_cache
    if sys.platform.startswith("linux"):  # XDG_CACHE_HOME: child processes' cache folder too
        assert settings.user_cache_dir().is_relative_to(_fresh_user_cache)


def test_the_speed_probe_measures_once_and_keeps_the_figure(tmp_path, monkeypatch):
    from annotator.engines import bf16_probe

    monkeypatch.setattr(bf16_probe, "cache_file", lambda: tmp_path / "cache" / "probe.json")
    flags = set(devices.detect_cpu().flags)
    bf16_probe._MEMO.clear()
    first = bf16_probe.speedup(flags)
    assert 0.05 < first < 20
    kept = (tmp_path / "cache" / "probe.json").read_text()
    assert str(round(first, 3)) in kept
    calls = []
    monkeypatch.setattr(bf16_probe, "measure", lambda: calls.append(1) or 0.0)
    assert bf16_probe.speedup(flags) == first and not calls  # this process's memo
    bf16_probe._MEMO.clear()  # a new process: read from the file, not measured again
    assert bf16_probe.speedup(flags) == first and not calls


def test_the_probe_measures_in_a_child_and_leaves_this_process_alone(monkeypatch):
    """The probe times its layers in a child process on one thread (that thread's CPU time,
    which other processes on a busy machine do not inflate); this process's thread count, a
    process-wide setting, is never set (the probe may run on a worker thread)."""
    from annotator.engines import bf16_probe

    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    gain = bf16_probe.measure(repeats=2)
    assert 0.05 < gain < 20 and calls == []


def test_without_a_child_the_probe_measures_here_with_the_current_threads(monkeypatch):
    """A frozen bundle cannot start ``python -c``: the rounds run here, threads untouched."""
    import sys

    from annotator.engines import bf16_probe

    seen, calls = [], []
    real = torch.nn.Linear.forward
    monkeypatch.setattr(torch.nn.Linear, "forward",
                        lambda self, x: seen.append(torch.get_num_threads()) or real(self, x))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    threads = torch.get_num_threads()
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    gain = bf16_probe.measure(repeats=2)
    assert 0.05 < gain < 20 and calls == []
    assert set(seen) == {threads} and len(seen) == 2 + 2 * 2  # warm-up, then fp32 and bf16


def test_a_figure_kept_by_another_probe_method_is_measured_again(tmp_path, monkeypatch):
    """A figure measured the old way (wall clock, which a busy machine flips) is not reused."""
    import json

    from annotator.engines import bf16_probe

    kept_in = tmp_path / "cache" / "probe.json"
    monkeypatch.setattr(bf16_probe, "cache_file", lambda: kept_in)
    flags = {"avx512f", "avx512_bf16"}
    with pytest.MonkeyPatch.context() as old:
        old.setattr(bf16_probe, "METHOD", "wall-median-v1")
        old_key = bf16_probe._cpu_key(flags)
    assert old_key != bf16_probe._cpu_key(flags)
    kept_in.parent.mkdir()
    kept_in.write_text(json.dumps({old_key: 0.82}))
    calls = []
    monkeypatch.setattr(bf16_probe, "measure", lambda: calls.append(1) or 1.93)
    bf16_probe._MEMO.clear()
    assert bf16_probe.speedup(flags) == 1.93 and calls == [1]
    kept = json.loads(kept_in.read_text())
    assert kept[old_key] == 0.82 and kept[bf16_probe._cpu_key(flags)] == 1.93


def test_the_flags_are_read_from_this_machine():
    """No patch: the reader reads /proc/cpuinfo (on Linux) and agrees with the file."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        pytest.skip("no /proc/cpuinfo on this system")
    flags = devices.cpu_flags()
    assert flags and flags <= set(text.lower().split())
    assert ("avx512_bf16" in flags) == (" avx512_bf16" in text)


def test_explicit_choice_env_and_setting(monkeypatch):
    machine(monkeypatch, "x86_64", {"avx512f"})  # no native bf16
    c = devices.choose_device("cpu", precision="bf16")
    assert c.precision == "bf16" and "slower than fp32" in c.precision_reason
    with pytest.raises(UserError, match="fp16.*CUDA only.*--precision bf16 or fp32"):
        devices.choose_device("cpu", precision="fp16")
    settings.set("precision", "bf16")
    assert devices.choose_device("cpu").precision == "bf16"
    monkeypatch.setenv(devices.PRECISION_ENV, "fp32")
    assert devices.choose_device("cpu").precision == "fp32"
    assert devices.choose_device("cpu", precision="bf16").precision == "bf16"  # argument wins
    monkeypatch.setenv(devices.PRECISION_ENV, "int8")
    with pytest.raises(UserError, match="unknown precision 'int8'.*AVS_ANNOTATOR_PRECISION"):
        devices.choose_device("cpu")


# -- annotator doctor ---------------------------------------------------------------------------

def test_fp16_on_the_cpu_is_one_line_and_exit_2(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["doctor", "--no-load", "--device", "cpu", "--precision", "fp16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fp16" in err[0] and "bf16 or fp32" in err[0], err


DEVICE_LINE = re.compile(r"device: (?P<device>\S+) \((?P<precision>fp32|bf16|fp16)"
                         r"(?:, (?P<threads>\d+) CPU threads)?; (?P<reasons>.*)\)")


def doctor(capsys, *args: str) -> tuple[re.Match, str]:
    """``annotator doctor --no-load --device cpu ARGS``: its device line, parsed, and its CPU
    bf16 line."""
    assert main(["doctor", "--no-load", "--device", "cpu", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    (dev,) = [ln for ln in out if ln.startswith("device:")]
    (cpu,) = [ln for ln in out if ln.startswith("CPU bf16:")]
    parsed = DEVICE_LINE.fullmatch(dev)
    assert parsed, dev
    return parsed, cpu


def test_doctor_says_what_was_detected_and_why(capsys, cpu_kind: PlayedCpu):
    """On each kind of CPU: the device line's precision is the choice's, its reason is the
    choice's; the CPU line says what the flags and the probe found, in these words."""
    dev, cpu = doctor(capsys, "--precision", "auto")
    choice = devices.choose_device("cpu", precision="auto")
    assert dev["device"] == "cpu" and dev["precision"] == choice.precision == cpu_kind.auto
    assert dev["reasons"] == f"{choice.reason}; {choice.precision_reason}"
    assert cpu == {
        "native-fast": "CPU bf16: native (from the CPU's flags: the CPU has avx512_bf16); "
                       "measured 1.90× fp32's speed on the models' layers (bf16 needs 1.2×): "
                       "auto uses bf16 on the CPU",
        "not-native": "CPU bf16: not native (from the CPU's flags: the CPU has neither "
                      "avx512_bf16 nor amx_bf16, so bf16 is emulated): auto uses fp32 on the CPU",
        "native-slow": "CPU bf16: native (from the CPU's flags: the CPU has avx512_bf16); "
                       "measured 0.60× fp32's speed on the models' layers (bf16 needs 1.2×): "
                       "auto uses fp32 on the CPU",
    }[cpu_kind.kind]
    dev, again = doctor(capsys, "--precision", "bf16")  # asked for: bf16 whatever the CPU
    assert dev["precision"] == "bf16" and again == cpu
    assert dev["reasons"].endswith({
        "native-fast": "precision bf16 asked for; the CPU has avx512_bf16",
        "not-native": "precision bf16 asked for, although the CPU has neither avx512_bf16 nor "
                      "amx_bf16, so bf16 is emulated: slower than fp32 here",
        "native-slow": "precision bf16 asked for; the CPU has avx512_bf16",
    }[cpu_kind.kind])


def test_doctor_on_this_machine_agrees_with_the_choice(capsys):
    """No patch (this machine, or the one AVS_TEST_CPU plays): the device line's precision is
    what ``choose_device`` picks, and the CPU line says native exactly where the flags do."""
    dev, cpu = doctor(capsys, "--precision", "auto")
    choice = devices.choose_device("cpu", precision="auto")
    assert dev["precision"] == choice.precision and int(dev["threads"]) == choice.threads
    native, why = devices.bf16_support()
    assert cpu.startswith(f"CPU bf16: {'native' if native else 'not native'} "
                          f"(from the CPU's flags: {why})")
    assert cpu.endswith(f": auto uses {choice.precision} on the CPU")


# -- the status bar's word ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def random_xmem_file(tmp_path_factory):
    """A random-weight XMem checkpoint of the real architecture."""
    xmem = pytest.importorskip("xmem")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("xmem") / "xmem.pth"
    torch.save(xmem.XMem().state_dict(), path)
    return path


def test_the_status_bar_names_the_precision_auto_chose(cpu_kind, random_xmem_file,
                                                        monkeypatch):
    """XMem loaded through the registry with precision auto on each kind of CPU: the status
    bar's device label (gui.engines.device_label) says the precision the model runs in."""
    from annotator.engines import registry
    from annotator.gui.engines import device_label

    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(random_xmem_file))
    reg = registry.start("cpu", keep_freed_memory=False)
    prop = reg.propagator("xmem", size=64)
    want = "bf16 " + "+".join(devices.XMEM_BF16_PARTS) if cpu_kind.auto == "bf16" else "fp32"
    assert prop.precision == want and reg.precisions() == {"XMem": want}
    assert device_label() == f"cpu · {cpu_kind.auto}"


# -- SAM's gates (real vit_b, random weights, a real DAVIS frame) ------------------------------

NATIVE, WHY = devices.bf16_support()  # this machine's (or the CPU AVS_TEST_CPU plays)
needs_native_bf16 = pytest.mark.skipif(not NATIVE, reason=(
    f"no native bf16 on this CPU ({WHY}): auto never runs bf16 here, and emulated the gates "
    "take about ten times as long"))


@pytest.fixture(scope="module")
def sam_pair(tmp_path_factory):
    from PIL import Image
    from segment_anything import sam_model_registry

    from annotator.engines.embedding_cache import EmbeddingCache
    from annotator.engines.sam import SamSegmenter
    from tests.conftest import shared_path

    frame = np.asarray(Image.open(shared_path("data", "davis2016", "boat", "JPEGImages",
                                              "00000.jpg")).convert("RGB"))
    gt = np.asarray(Image.open(shared_path("data", "davis2016", "boat", "Annotations",
                                           "00000.png")).convert("L")) > 0
    torch.manual_seed(0)
    model = sam_model_registry["vit_b"]().eval()
    segs = {p: SamSegmenter(model, "vit_b", f"test-{p}", devices.DeviceChoice(
        torch.device("cpu"), False, torch.get_num_threads(), "test", precision=p),
        EmbeddingCache(None)) for p in ("fp32", "bf16")}
    embs = {p: s.compute_embedding(frame) for p, s in segs.items()}
    return segs, embs, gt


@needs_native_bf16
@pytest.mark.slow
def test_sam_bf16_embedding_and_masks_keep_the_gates(sam_pair):
    """Embedding cosine ≥ 0.999; masks from the click benchmark's weight-free prompts decoded
    from the bf16 embedding have IoU ≥ 0.99 with fp32 where |fp32 logit| > 0.01."""
    import importlib.util
    from pathlib import Path

    segs, embs, gt = sam_pair
    assert segs["bf16"].precision == "bf16 encoder" and "bf16 encoder" in segs["bf16"].name
    assert segs["fp32"].precision == "fp32"
    a, b = (torch.from_numpy(embs[p].features.astype(np.float32)).flatten() for p in embs)
    assert not torch.equal(a, b)  # bf16 really ran
    assert float(torch.nn.functional.cosine_similarity(a, b, 0)) >= 0.999
    bench = Path(__file__).resolve().parents[2] / "bench" / "click_bench.py"
    spec = importlib.util.spec_from_file_location("click_bench", bench)
    click = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(click)
    for p, s in segs.items():
        s.set_embedding(embs[p])
    pred = np.zeros_like(gt)
    pts = []
    for _ in range(3):
        pts.append(click.next_click(pred, gt))
        P = np.array([(c.x, c.y) for c in pts], np.float32)
        L = np.array([c.positive for c in pts], np.int32)
        r32 = segs["fp32"].predict(P, L, multimask=False)
        r16 = segs["bf16"].predict(P, L, multimask=False)
        logit = segs["fp32"].predictor.predict(P, L, multimask_output=False,
                                               return_logits=True)[0][0]
        # random weights give logits within ±0.2 (bf16 moves them by ~0.002): the margin is
        # the XMem golden test's 0.01, and the gate must cover most of the frame
        sure = np.abs(logit) > 0.01
        assert sure.mean() > 0.5, f"only {100 * sure.mean():.0f}% of pixels past the margin"
        m32, m16 = r32.masks[0][sure], r16.masks[0][sure]
        assert m32.any(), "an empty fp32 mask would make the gate say nothing"
        iou = (m32 & m16).sum() / (m32 | m16).sum()
        assert iou >= 0.99, f"{len(pts)} clicks: IoU {iou:.4f} over {sure.sum()} sure pixels"
        pred = r32.masks[0]


# -- Preferences ▸ Engines ▸ Precision -------------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_preferences_precision_is_chosen_with_the_keys_and_reaches_the_registry(qtbot,
                                                                               cpu_kind):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialogButtonBox

    from annotator.engines import registry
    from annotator.gui.app import application
    from annotator.gui.dialogs.preferences import PreferencesDialog
    from annotator.gui.main_window import MainWindow

    registry.reset_for_tests()
    application()
    win = MainWindow()
    qtbot.addWidget(win)
    dlg = PreferencesDialog(win, win.actions_)
    qtbot.addWidget(dlg)
    dlg.show()
    combo = dlg.precision
    assert combo.currentData() == "auto"
    item = combo.model().item(combo.findData("fp16"))
    assert not item.isEnabled() and "no CUDA" in item.toolTip()
    note, why = dlg.precision_note.text(), devices.bf16_support()[1]  # the played CPU's
    assert ("not native" in note) is (not cpu_kind.native) and why in note, note
    bf16_item = combo.itemText(combo.findData("bf16"))
    assert ("emulated here" in bf16_item) is (not cpu_kind.native), bf16_item
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(3):  # down the list: fp32, bf16, and never the disabled fp16
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        assert combo.currentData() in ("fp32", "bf16")
    assert combo.currentData() == "bf16"
    box = dlg.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert settings.get("precision") == "bf16"
    assert registry.get().choice.precision == "bf16"
    assert devices.choose_device("cpu").precision == "bf16"  # the CLI reads the same setting


def test_the_registry_hands_out_xmem_and_sam_in_its_precision(tmp_path, monkeypatch):
    """Random-weight XMem and SAM files of the real architectures, loaded through the registry
    (as the app and the CLI do) with precision bf16 and fp32: each model says what it runs
    in, and doctor's / the status bar's ``precisions`` agree with the models."""
    xmem = pytest.importorskip("xmem")
    from segment_anything import sam_model_registry

    from annotator.engines import registry

    torch.manual_seed(0)
    torch.save(xmem.XMem().state_dict(), tmp_path / "xmem.pth")
    torch.save(sam_model_registry["vit_b"]().state_dict(), tmp_path / "sam_vit_b.pth")
    monkeypatch.setenv("AVS_ANNOTATOR_XMEM", str(tmp_path / "xmem.pth"))
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_B", str(tmp_path / "sam_vit_b.pth"))
    for prec, xmem_says, sam_says in (("bf16", "bf16 " + "+".join(devices.XMEM_BF16_PARTS),
                                       "bf16 encoder"), ("fp32", "fp32", "fp32")):
        reg = registry.start("cpu", precision=prec, keep_freed_memory=False)
        prop = reg.propagator("xmem", size=64)
        assert prop.precision == xmem_says
        assert prop.core.bf16_parts == (set(devices.XMEM_BF16_PARTS) if prec == "bf16" else set())
        assert (xmem_says in prop.name) == (prec == "bf16")
        seg = reg.segmenter()
        assert seg.precision == sam_says and sam_says in seg.name
        assert reg.precisions() == {"SAM": sam_says, "XMem": xmem_says}
        assert f"SAM on cpu ({sam_says})" in reg.describe()
