"""Model files: the registry of known checkpoints, where to find them, download and verify.

Look-up order for a registry entry (``resolve``): an explicit path → its environment variable
(``AVS_ANNOTATOR_SAM_VIT_B`` …) → the ``models.paths.<name>`` setting → the models folder
(``$AVS_ANNOTATOR_MODELS_DIR``, else the ``models.dir`` setting, else ``<user data>/models``).
The first of these that is *configured* decides: a configured path that does not exist is an
error naming it, never a silent fall-through.

Checksums: SHA-256 and sizes of the SAM checkpoints are the values that many independent
projects pin for Meta's files (e.g. computational-cell-analytics/micro-sam's model registry);
the XMem release page publishes none and we found no source we could check, so those entries
hold ``None`` and ``verify`` reports "checksum unknown" instead of inventing one. SAM 2.1's
(kind ``sam2``, Meta's ``092824`` release): Meta's download script publishes addresses only; the
sizes and SHA-256 are those independent projects pin (micro-sam's ``micro_sam/util.py``) and the
Hugging Face mirrors ``facebook/sam2.1-hiera-*`` name their LFS blobs by. Loading and checking a
SAM 2 file against its config is :mod:`annotator.engines.sam2_models`'.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotator import settings
from annotator.errors import UserError

MODELS_DIR_ENV = "AVS_ANNOTATOR_MODELS_DIR"
BASE_URL_ENV = "AVS_ANNOTATOR_MODELS_BASE_URL"
CHUNK = 1 << 20


class ModelFileError(UserError):
    """A model file is missing, damaged, of the wrong kind, or cannot be downloaded."""


class ChecksumError(ModelFileError):
    """A model file's SHA-256 differs from the registry's."""


@dataclass(frozen=True)
class ModelFile:
    name: str  # registry name, e.g. "sam_vit_b"
    filename: str  # file name as published
    url: str  # official download address
    size: int | None  # bytes, None where unknown
    sha256: str | None  # None where no source we could check publishes it
    kind: str  # "sam" | "xmem" | "sam2"
    arch: str  # "vit_b" | "vit_l" | "vit_h" | "xmem" | "hiera_tiny" …
    description: str
    checksum_source: str = ""

    @property
    def env_var(self) -> str:
        return "AVS_ANNOTATOR_" + self.name.upper().replace("-", "_").replace(".", "_")


_SAM_SRC = (
    "pinned by many projects for Meta's files, e.g. computational-cell-analytics/micro-sam "
    "(micro_sam/util.py) and GitHub code that downloads them with sha256sum -c"
)
_XMEM_SRC = "not published by hkchengrex/XMem (release v1.0); unknown"
_SAM2_SRC = ("not published by Meta (checkpoints/download_ckpts.sh has addresses only); pinned "
             "by independent projects (micro-sam's micro_sam/util.py) and the SHA-256 the Hugging "
             "Face mirrors facebook/sam2.1-hiera-* name their files by")
_SAM2_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"

REGISTRY: dict[str, ModelFile] = {
    m.name: m
    for m in [
        ModelFile("sam_vit_b", "sam_vit_b_01ec64.pth",
                  "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
                  375042383, "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
                  "sam", "vit_b", "SAM ViT-B (smallest, fastest)", _SAM_SRC),
        ModelFile("sam_vit_l", "sam_vit_l_0b3195.pth",
                  "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
                  1249524607, "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
                  "sam", "vit_l", "SAM ViT-L", _SAM_SRC),
        ModelFile("sam_vit_h", "sam_vit_h_4b8939.pth",
                  "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
                  2564550879, "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
                  "sam", "vit_h", "SAM ViT-H (largest, best)", _SAM_SRC),
        ModelFile("xmem", "XMem.pth",
                  "https://github.com/hkchengrex/XMem/releases/download/v1.0/XMem.pth",
                  None, None, "xmem", "xmem", "XMem (main training on static images, DAVIS and YouTube-VOS)",
                  _XMEM_SRC),
        ModelFile("xmem_s012", "XMem-s012.pth",
                  "https://github.com/hkchengrex/XMem/releases/download/v1.0/XMem-s012.pth",
                  None, None, "xmem", "xmem", "XMem-s012 (also pre-trained on BL30K)", _XMEM_SRC),
        *(ModelFile(f"sam2.1_hiera_{arch}", f"sam2.1_hiera_{arch}.pt",
                    f"{_SAM2_URL}sam2.1_hiera_{arch}.pt", size, sha, "sam2", f"hiera_{arch}",
                    what, _SAM2_SRC)
          for arch, size, sha, what in [
              ("tiny", 156008466,
               "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69",
               "SAM 2.1 Hiera-Tiny (fastest; clicks and propagation)"),
              ("small", 184416285,
               "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38",
               "SAM 2.1 Hiera-Small"),
              ("base_plus", 323606802,
               "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5",
               "SAM 2.1 Hiera-Base+"),
              ("large", 898083611,
               "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318",
               "SAM 2.1 Hiera-Large (best, slowest)")]),
    ]
}
SAM_FOR_ARCH = {"vit_b": "sam_vit_b", "vit_l": "sam_vit_l", "vit_h": "sam_vit_h"}


def entry(name: str) -> ModelFile:
    """The registry entry for a name (``sam_vit_b``) or a published file name."""
    key = name.strip()
    if key in REGISTRY:
        return REGISTRY[key]
    for m in REGISTRY.values():
        if key in (m.filename, m.arch if m.kind == "sam" else None):
            return m
    raise ModelFileError(f"unknown model {name!r}: known models are {', '.join(REGISTRY)}")


# -- look-up ----------------------------------------------------------------------------------
def models_dir() -> Path:
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    configured = settings.get("models.dir")
    if configured:
        return Path(str(configured)).expanduser()
    return settings.user_data_dir() / "models"


@dataclass(frozen=True)
class Resolution:
    model: ModelFile
    path: Path
    source: str  # "explicit path", "$AVS_ANNOTATOR_…", "setting models.paths.…", "models folder"
    exists: bool
    looked: tuple[str, ...]  # every place considered, for error messages

    @property
    def name(self) -> str:
        return self.model.name


def locate(name: str | ModelFile, explicit: str | os.PathLike[str] | None = None) -> Resolution:
    """Where a model file is (or would be), without raising when it is missing."""
    m = name if isinstance(name, ModelFile) else entry(name)
    looked: list[str] = []
    candidates: list[tuple[str, str | None]] = [
        ("explicit path", os.fspath(explicit) if explicit else None),
        (f"${m.env_var}", os.environ.get(m.env_var)),
        (f"setting models.paths.{m.name}", settings.get(f"models.paths.{m.name}")),
    ]
    for source, value in candidates:
        if value:
            path = Path(str(value)).expanduser()
            return Resolution(m, path, source, path.is_file(), tuple([*looked, f"{path} ({source})"]))
        looked.append(f"{source} (not set)")
    path = models_dir() / m.filename
    return Resolution(m, path, "models folder", path.is_file(), tuple([*looked, str(path)]))


def resolve(name: str | ModelFile, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The path of an existing model file, or a ``ModelFileError`` that says where it looked
    and which command gets it."""
    r = locate(name, explicit)
    if r.exists:
        return r.path
    if r.path.exists():
        raise ModelFileError(f"{r.path} ({r.source}) is not a file")
    where = "; ".join(r.looked)
    fix = (f"run `annotator models download {r.model.name}`" if r.source == "models folder"
           else f"fix {r.source} or run `annotator models download {r.model.name}`")
    raise ModelFileError(
        f"model file {r.model.filename} ({r.model.description}) not found at {r.path}. "
        f"Looked at: {where}. To get it, {fix}"
    )


def find_sam() -> Resolution | None:
    """The first SAM checkpoint present, preferring vit_h, then vit_l, then vit_b; None if none."""
    for name in ("sam_vit_h", "sam_vit_l", "sam_vit_b"):
        r = locate(name)
        if r.exists:
            return r
    return None


# -- checksums and identities -----------------------------------------------------------------
def sha256_file(path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return h.hexdigest()


def _hash_memo_path() -> Path:
    return settings.user_cache_dir() / "file-hashes.json"


def file_identity(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a (model) file, remembered per (path, size, mtime) so it is hashed once.
    Used to key caches by the checkpoint's content."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    memo_path = _hash_memo_path()
    memo: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        memo = json.loads(memo_path.read_text())
    if key in memo:
        return memo[key]
    digest = sha256_file(p)
    memo = {k: v for k, v in memo.items() if not k.startswith(f"{p}|")}
    memo[key] = digest
    with contextlib.suppress(OSError):
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, memo_path)
    return digest


@dataclass(frozen=True)
class VerifyResult:
    path: Path
    model: ModelFile | None
    size: int
    sha256: str | None
    status: str  # "ok" | "checksum unknown (size ok)" | "checksum unknown" | "unregistered"

    def line(self) -> str:
        name = self.model.name if self.model else "unregistered file"
        digest = f" sha256 {self.sha256}" if self.sha256 else ""
        return f"{name}: {self.path} — {self.status} ({self.size} bytes){digest}"


def verify(
    path: str | os.PathLike[str],
    model: ModelFile | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Check a file against its registry entry (found by file name or size when not given):
    size first (a truncated file fails fast), then SHA-256 where known."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p} does not exist or is not a file")
    size = p.stat().st_size
    if model is None:
        model = next((m for m in REGISTRY.values() if m.filename == p.name), None)
    if model is None:
        model = next((m for m in REGISTRY.values() if m.size is not None and m.size == size), None)
    if model is not None and model.size is not None and size != model.size:
        kind = "truncated (an interrupted download?)" if size < model.size else "too large"
        raise ModelFileError(
            f"{p} is {kind}: {size} bytes, but {model.filename} has {model.size} bytes. "
            f"Delete it and run `annotator models download {model.name}`"
        )
    digest = sha256_file(p, progress)
    if model is None:
        known = next((m for m in REGISTRY.values() if m.sha256 == digest), None)
        if known is None:
            return VerifyResult(p, None, size, digest, "unregistered")
        model = known
    if model.sha256 is None:
        status = "checksum unknown (size ok)" if model.size is not None else "checksum unknown"
        return VerifyResult(p, model, size, digest, status)
    if digest != model.sha256:
        raise ChecksumError(
            f"{p} has SHA-256 {digest}, but {model.filename} has {model.sha256}: the file is "
            f"damaged or not the official one. Delete it and run "
            f"`annotator models download {model.name}`"
        )
    return VerifyResult(p, model, size, digest, "ok")


# -- reading checkpoints ------------------------------------------------------------------------
SAM_EMBED_DIMS = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}
SAM_DEPTHS = {"vit_b": 12, "vit_l": 24, "vit_h": 32}


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint's state dict safely (``weights_only``; memory-mapped where possible),
    with clear errors for a missing, truncated or non-checkpoint file."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"checkpoint {p} does not exist")
    with open(p, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise ModelFileError(f"{p} is empty (0 bytes): delete it and download it again")
    if head.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml")):
        raise ModelFileError(
            f"{p} is a web page, not a checkpoint (a failed download?): delete it and run "
            "`annotator models download NAME`"
        )
    if head[:2] == b"PK" and not zipfile.is_zipfile(p):
        raise ModelFileError(
            f"{p} is truncated: its zip directory is missing (an interrupted download?). "
            "Delete it and download it again"
        )
    try:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        raise ModelFileError(
            f"{p} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}): it may be truncated or another kind of file; "
            "delete it and download it again"
        ) from exc
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for k in ("model", "state_dict"):
            if isinstance(obj.get(k), dict):
                obj = obj[k]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelFileError(f"{p} is a PyTorch file but not a model state dict")
    return obj


def describe_state_dict(sd: dict[str, Any]) -> str:
    """What a state dict looks like: "SAM vit_b", "XMem", or "unknown"."""
    arch = sam_arch_of(sd)
    if arch:
        return f"SAM {arch}"
    if any(k.startswith(("key_encoder.", "value_encoder.")) for k in sd):
        return "XMem"
    if "image_encoder.trunk.patch_embed.proj.weight" in sd:
        return "SAM 2"
    return "unknown"


def sam_arch_of(sd: dict[str, Any]) -> str | None:
    """SAM architecture from key shapes (patch-embedding width, block count); None if not SAM."""
    w = sd.get("image_encoder.patch_embed.proj.weight")
    if w is None or "mask_decoder.iou_token.weight" not in sd:
        return None
    arch = SAM_EMBED_DIMS.get(int(w.shape[0]))
    blocks = {k.split(".")[2] for k in sd if k.startswith("image_encoder.blocks.")}
    if arch is None or len(blocks) != SAM_DEPTHS[arch]:
        return f"unknown SAM variant (width {int(w.shape[0])}, {len(blocks)} blocks)"
    return arch


def check_sam_arch(path: Path, sd: dict[str, Any], expected: str | None) -> str:
    """The checkpoint's SAM architecture; an error naming both when it is not ``expected``."""
    found = sam_arch_of(sd)
    if found is None:
        what = describe_state_dict(sd)
        raise ModelFileError(
            f"{path} is not a SAM checkpoint (it looks like: {what}); choose a SAM file "
            "(sam_vit_b/l/h) or run `annotator models download sam_vit_b`"
        )
    if found not in SAM_DEPTHS:
        raise ModelFileError(f"{path} is a {found}, which this app cannot load")
    if expected and expected != found:
        raise ModelFileError(
            f"{path} is a SAM {found} checkpoint, but it was chosen as {expected}: "
            f"choose it as {found}, or pick a {expected} file "
            f"(`annotator models download {SAM_FOR_ARCH[expected]}`)"
        )
    return found


# -- download -----------------------------------------------------------------------------------
def base_url(override: str | None = None) -> str | None:
    """The mirror / offline base URL: argument → ``$AVS_ANNOTATOR_MODELS_BASE_URL`` →
    ``models.base_url`` setting → None (official addresses)."""
    value = override or os.environ.get(BASE_URL_ENV) or settings.get("models.base_url")
    return str(value) if value else None


def download_url(model: ModelFile, base: str | None = None) -> str:
    b = base_url(base)
    if not b:
        return model.url
    if "://" not in b:  # a plain folder
        b = Path(b).expanduser().resolve().as_uri()
    return b.rstrip("/") + "/" + urllib.parse.quote(model.filename)


ProgressFn = Callable[[int, int | None], None]


def download(
    name: str | ModelFile,
    dest_dir: str | os.PathLike[str] | None = None,
    base: str | None = None,
    progress: ProgressFn | None = None,
    force: bool = False,
    timeout: float = 30.0,
) -> Path:
    """Download a registry file into ``dest_dir`` (default: the models folder).

    A partial download is kept as ``<file>.part`` and resumed with an HTTP range request; the
    size and SHA-256 are checked before the file is moved into place atomically. A file that
    is already there and verifies is not downloaded again (unless ``force``).
    """
    m = name if isinstance(name, ModelFile) else entry(name)
    folder = Path(dest_dir) if dest_dir else models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / m.filename
    part = folder / (m.filename + ".part")
    if dest.is_file() and not force:
        verify(dest, m)
        return dest
    url = download_url(m, base)
    have = part.stat().st_size if part.exists() else 0
    if m.size is not None and have > m.size:
        part.unlink()
        have = 0
    h = hashlib.sha256()
    if have:
        with open(part, "rb") as fh:
            while block := fh.read(CHUNK):
                h.update(block)
    if not (m.size is not None and have == m.size):
        have, h = _fetch(m, url, part, have, h, progress, timeout)
    if m.size is not None and have != m.size:
        raise ModelFileError(
            f"download of {m.filename} from {url} stopped after {have} of {m.size} bytes; "
            f"run the same command again to resume"
        )
    digest = h.hexdigest()
    if m.sha256 is not None and digest != m.sha256:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{m.filename} downloaded from {url} has SHA-256 {digest}, expected {m.sha256}: "
            "the server sent a different file (a wrong mirror?); the partial file was deleted"
        )
    os.replace(part, dest)
    return dest


def _fetch(
    m: ModelFile,
    url: str,
    part: Path,
    have: int,
    h: Any,
    progress: ProgressFn | None,
    timeout: float,
) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"User-Agent": "avs-annotator"})
    if have and url.startswith(("http://", "https://")):
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s)/file only
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the part is complete (or wrong)
            return have, h
        raise ModelFileError(
            f"download of {m.filename} from {url} failed: HTTP {exc.code} {exc.reason}. "
            f"Try again later, or set a mirror with --base-url / the models.base_url setting"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelFileError(
            f"cannot download {m.filename} from {url}: {reason}. Check the network connection, "
            f"or use a mirror or a local folder with --base-url (setting models.base_url), or "
            f"copy the file to {models_dir() / m.filename}"
        ) from exc
    with resp:
        status = getattr(resp, "status", None) or 200
        mode = "ab"
        if have and status != 206:  # the server ignored the range: start over
            have = 0
            mode = "wb"
            h = hashlib.sha256()
        length = resp.headers.get("Content-Length")
        total = (have + int(length)) if length and length.isdigit() else m.size
        if m.size is not None and total is not None and total != m.size:
            raise ModelFileError(
                f"{url} offers {total} bytes, but {m.filename} has {m.size} bytes: "
                "the address (or mirror) serves a different file"
            )
        try:
            with open(part, mode) as out:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    have += len(block)
                    if progress:
                        progress(have, total)
        except Exception as exc:  # OSError, http.client.IncompleteRead, timeouts …
            raise ModelFileError(
                f"download of {m.filename} from {url} was cut off after {have} bytes "
                f"({type(exc).__name__}: {exc}); run the same command again to resume"
            ) from exc
    return have, h


class ProgressBar:
    """A one-line text progress bar on stderr (no extra dependency)."""

    def __init__(self, label: str, stream: Any = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and (total is None or done < total):
            return
        self._last = now
        rate = done / max(now - self.start, 1e-6) / 1e6
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * self.width)
            text = (f"\r{self.label} [{bar:<{self.width}}] {frac * 100:5.1f}% "
                    f"{done / 1e6:.1f}/{total / 1e6:.1f} MB {rate:.1f} MB/s")
        else:
            text = f"\r{self.label} {done / 1e6:.1f} MB {rate:.1f} MB/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


# -- what is installed ------------------------------------------------------------------------
def list_models() -> list[Resolution]:
    """Every registry entry with where its file is (or would be) and whether it is there."""
    return [locate(name) for name in REGISTRY]


def model_path(name: str) -> Path | None:
    """The file of a registry entry if it is present, else None (never raises for "missing")."""
    r = locate(name)
    return r.path if r.exists else None


def xmem_checkpoint() -> Path | None:
    """The installed XMem model file (``xmem``, else ``xmem_s012``; looked up as
    :func:`locate` says), or None when neither is there or a setting naming it is broken."""
    for name in ("xmem", "xmem_s012"):
        try:
            path = model_path(name)
        except Exception:  # noqa: BLE001 - a broken setting means "not installed" here
            path = None
        if path is not None:
            return path
    return None
