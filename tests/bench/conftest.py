"""Fixtures for the bench helpers' tests: private settings and no model files (the real
weight-free engines, as in a fresh install); the engine registry the API starts is forgotten
after each test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    from annotator.engines import registry

    for name in ("CONFIG", "MODELS", "DATA", "LOG"):
        monkeypatch.setenv(f"AVS_ANNOTATOR_{name}_DIR", str(tmp_path / name.lower()))
    yield
    registry.reset_for_tests()
