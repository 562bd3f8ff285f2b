"""Shared test fixtures: paths to the repo's own example and source directories."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def example_spec_path() -> Path:
    return REPO / "examples" / "stack.yaml"
