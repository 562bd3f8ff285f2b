"""Shared test fixtures: paths to the repo's own example and source directories."""

from __future__ import annotations

import os
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


def real_part(name: str, binary: str | None = None) -> Path:
    """A real program built by `make tools` (observability/local/parts.py).

    Not built: under CI=true the part is built now and a failure fails the test (a real part that cannot be had
    is never a skip in CI); elsewhere the test skips naming the one command that provides it.
    """
    from observability.errors import ToolMissingError
    from observability.local import parts

    part = parts.get_part(name)
    if not part.built():
        if os.environ.get("CI") != "true":
            pytest.skip(f"{part.name} {part.version} is not built: run `make tools PARTS={part.name}`")
        try:
            parts.build(part)
        except ToolMissingError as e:
            pytest.fail(f"real part {part.name} {part.version} cannot be had in CI: {e}")
    return part.path(binary)


@pytest.fixture(scope="session")
def part_path():
    """`part_path(name, binary=None)` → path of a real part (see real_part)."""
    return real_part
