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


@pytest.fixture(scope="session")
def go_service_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample Go service, built once per session (cached across sessions by source hash)."""
    from observability.local.goservice import build_go_service

    return build_go_service()


@pytest.fixture
def go_service(go_service_binary: Path, tmp_path: Path):
    """A running sample Go service on a free port, logging JSON to tmp_path/go-service.log."""
    from observability.local.goservice import start_go_service

    service = start_go_service(go_service_binary, tmp_path / "go-service.log")
    yield service
    service.stop()
