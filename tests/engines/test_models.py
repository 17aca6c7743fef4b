"""Model registry: look-up order, verify, and the downloader against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from annotator import settings
from annotator.engines import models
from annotator.engines.models import ChecksumError, ModelFile, ModelFileError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for m in models.REGISTRY.values():
        monkeypatch.delenv(m.env_var, raising=False)
    monkeypatch.delenv(models.MODELS_DIR_ENV, raising=False)
    monkeypatch.delenv(models.BASE_URL_ENV, raising=False)


def _entry(**kw) -> ModelFile:
    base = ModelFile("testmodel", "test_model.pth", "http://127.0.0.1:9/test_model.pth",
                     len(PAYLOAD), SHA, "sam", "vit_b", "test file")
    return replace(base, **kw)


class Server:
    """A local HTTP server with range support and scripted misbehaviour."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | cut | error | ignore-range
        self.body = PAYLOAD
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, "range": self.headers.get("Range", "")})
                if server.mode == "error":
                    self.send_error(500, "Internal Server Error")
                    return
                body, start = server.body, 0
                rng = self.headers.get("Range")
                if rng and server.mode != "ignore-range":
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if server.mode == "cut":  # half of what was promised, then hang up
                    self.wfile.write(body[start : start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body[start:])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


# -- downloader ----------------------------------------------------------------------------------
def test_download_verifies_and_places_the_file_atomically(server, tmp_path):
    m = _entry(url=server.url + "/files/test_model.pth")
    seen = []
    path = models.download(m, dest_dir=tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "test_model.pth"
    assert path.read_bytes() == PAYLOAD
    assert not (tmp_path / "test_model.pth.part").exists()
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    # present and valid: no second request
    models.download(m, dest_dir=tmp_path)
    assert len(server.requests) == 1


def test_a_cut_download_resumes_with_a_range_request(server, tmp_path):
    m = _entry(url=server.url + "/test_model.pth")
    server.mode = "cut"
    with pytest.raises(ModelFileError, match="again to resume"):
        models.download(m, dest_dir=tmp_path)
    part = tmp_path / "test_model.pth.part"
    assert part.stat().st_size == len(PAYLOAD) // 2
    assert not (tmp_path / "test_model.pth").exists()
    server.mode = "ok"
    path = models.download(m, dest_dir=tmp_path)
    assert server.requests[-1]["range"] == f"bytes={len(PAYLOAD) // 2}-"
    assert path.read_bytes() == PAYLOAD


def test_a_server_that_ignores_the_range_restarts_cleanly(server, tmp_path):
    m = _entry(url=server.url + "/test_model.pth")
    (tmp_path / "test_model.pth.part").write_bytes(b"garbage" * 10)
    server.mode = "ignore-range"
    assert models.download(m, dest_dir=tmp_path).read_bytes() == PAYLOAD


def test_wrong_checksum_is_refused_and_the_part_file_removed(server, tmp_path):
    m = _entry(url=server.url + "/test_model.pth", sha256="0" * 64)
    with pytest.raises(ChecksumError) as err:
        models.download(m, dest_dir=tmp_path)
    assert SHA in str(err.value) and "0" * 64 in str(err.value)
    assert not (tmp_path / "test_model.pth").exists()
    assert not (tmp_path / "test_model.pth.part").exists()


def test_a_server_error_is_reported_with_the_address(server, tmp_path):
    m = _entry(url=server.url + "/test_model.pth")
    server.mode = "error"
    with pytest.raises(ModelFileError, match="HTTP 500") as err:
        models.download(m, dest_dir=tmp_path)
    assert server.url in str(err.value)


def test_a_wrong_size_from_the_server_is_refused_before_writing(server, tmp_path):
    m = _entry(url=server.url + "/test_model.pth", size=len(PAYLOAD) + 1, sha256=None)
    with pytest.raises(ModelFileError, match="serves a different file"):
        models.download(m, dest_dir=tmp_path)


def test_no_network(tmp_path):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = _entry(url=f"http://127.0.0.1:{port}/test_model.pth")
    with pytest.raises(ModelFileError, match="cannot download") as err:
        models.download(m, dest_dir=tmp_path, timeout=5)
    assert "--base-url" in str(err.value)


def test_the_mirror_setting_replaces_the_official_address(server, tmp_path):
    m = _entry(url="http://unreachable.invalid/test_model.pth")
    settings.set("models.base_url", server.url + "/mirror/")
    models.download(m, dest_dir=tmp_path)
    assert server.requests[-1]["path"] == "/mirror/test_model.pth"


def test_an_offline_folder_as_base_url(tmp_path):
    src = tmp_path / "usb-stick"
    src.mkdir()
    (src / "test_model.pth").write_bytes(PAYLOAD)
    m = _entry(url="http://unreachable.invalid/test_model.pth")
    out = models.download(m, dest_dir=tmp_path / "models", base=str(src))
    assert out.read_bytes() == PAYLOAD


# -- verify -----------------------------------------------------------------------------------------
def test_verify_ok_mismatch_truncated_and_unknown(tmp_path):
    f = tmp_path / "test_model.pth"
    f.write_bytes(PAYLOAD)
    assert models.verify(f, _entry()).status == "ok"
    with pytest.raises(ChecksumError, match="damaged or not the official one"):
        models.verify(f, _entry(sha256="1" * 64))
    with pytest.raises(ModelFileError, match="truncated"):
        models.verify(f, _entry(size=len(PAYLOAD) * 2))
    assert models.verify(f, _entry(sha256=None)).status == "checksum unknown (size ok)"
    assert models.verify(f, _entry(sha256=None, size=None)).status == "checksum unknown"


def test_verify_finds_the_registry_entry_by_file_name(tmp_path):
    f = tmp_path / "sam_vit_b_01ec64.pth"
    f.write_bytes(b"x" * 100)
    with pytest.raises(ModelFileError, match="truncated.*375042383"):
        models.verify(f)


def test_registry_values():
    for m in models.REGISTRY.values():
        assert m.url.startswith("https://")
        assert m.sha256 is None or len(m.sha256) == 64
        assert m.checksum_source
    assert models.REGISTRY["sam_vit_h"].size == 2564550879
    assert models.REGISTRY["xmem"].sha256 is None  # not published: never invented


# -- look-up order -----------------------------------------------------------------------------------
def test_lookup_order_explicit_env_setting_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(folder))
    files = {}
    for name in ("explicit", "env", "setting", "folder"):
        files[name] = tmp_path / name / "sam_vit_b_01ec64.pth"
        files[name].parent.mkdir()
        files[name].write_bytes(b"x")
    (folder / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    files["folder"] = folder / "sam_vit_b_01ec64.pth"

    assert models.resolve("sam_vit_b") == files["folder"]
    settings.set("models.paths.sam_vit_b", str(files["setting"]))
    assert models.resolve("sam_vit_b") == files["setting"]
    monkeypatch.setenv("AVS_ANNOTATOR_SAM_VIT_B", str(files["env"]))
    assert models.resolve("sam_vit_b") == files["env"]
    assert models.resolve("sam_vit_b", explicit=files["explicit"]) == files["explicit"]
    assert models.locate("sam_vit_b").source == "$AVS_ANNOTATOR_SAM_VIT_B"


def test_a_configured_path_that_is_missing_is_an_error_not_a_fall_through(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "XMem.pth").write_bytes(b"x")
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(folder))
    settings.set("models.paths.xmem", str(tmp_path / "moved" / "XMem.pth"))
    with pytest.raises(ModelFileError) as err:
        models.resolve("xmem")
    msg = str(err.value)
    assert str(tmp_path / "moved" / "XMem.pth") in msg
    assert "setting models.paths.xmem" in msg and "annotator models download xmem" in msg
    assert models.model_path("xmem") is None


def test_models_folder_defaults_to_the_per_user_data_folder(tmp_path):
    assert models.models_dir() == settings.user_data_dir() / "models"
    assert str(tmp_path / "data") in str(models.models_dir())
    settings.set("models.dir", str(tmp_path / "elsewhere"))
    assert models.models_dir() == tmp_path / "elsewhere"


def test_unknown_model_name():
    with pytest.raises(ModelFileError, match="unknown model 'sam_vit_x'.*sam_vit_b"):
        models.entry("sam_vit_x")


def test_file_identity_is_the_sha256_and_is_remembered(tmp_path):
    f = tmp_path / "w.pth"
    f.write_bytes(PAYLOAD)
    assert models.file_identity(f) == SHA
    memo = Path(settings.user_cache_dir()) / "file-hashes.json"
    assert SHA in memo.read_text()
    f.write_bytes(PAYLOAD[::-1])  # changed content, size and mtime move on
    assert models.file_identity(f) == hashlib.sha256(PAYLOAD[::-1]).hexdigest()
