"""Shared test fixtures.

Real data lives in ``../shared`` beside the project (never copied into it). Tests that need it
skip with a reason when it is absent (a user's clone), but fail when ``CI`` is set: CI always
has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVS_SHARED_DIR", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skip (or fail under CI) when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        msg = f"{path} is absent: the shared test data lives beside the project in ../shared"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def shared():
    """The ``shared_path`` helper as a fixture: ``shared('data', 'videos', 'bikes.mp4')``."""
    return shared_path
