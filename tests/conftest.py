"""Shared test fixtures: paths to the repo's own example and source directories."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Release:
    """One Prometheus + Alertmanager pairing the tests run on: Debian's (on PATH) or the built real parts."""

    prometheus: str
    promtool: str
    alertmanager: str
    amtool: str


def _installed_version(*names: str) -> str:
    from observability.local.compat import tool_version

    for name in names:
        path = shutil.which(name)
        if path:
            major, minor = tool_version(path)
            return f"{major}.{minor}"
    return "missing"


def _part_version(name: str) -> str:
    from observability.local import parts

    return ".".join(parts.get_part(name).version.split(".")[:2])


def _release(which: str) -> Release:
    if which == "installed":
        from observability.local.processes import ALERTMANAGER_BINARIES, PROMETHEUS_BINARY, find_binary

        return Release(
            find_binary(PROMETHEUS_BINARY),
            find_binary("promtool"),
            find_binary(*ALERTMANAGER_BINARIES),
            find_binary("amtool"),
        )
    return Release(
        str(real_part("prometheus")),
        str(real_part("prometheus", "promtool")),
        str(real_part("alertmanager")),
        str(real_part("alertmanager", "amtool")),
    )


# Debian's 2.42/0.25 and the current 3.x/0.35 built by `make tools`: a user's cluster may run either.
PROMETHEUS_RELEASES = [
    pytest.param("installed", id=f"prometheus-{_installed_version('prometheus')}"),
    pytest.param("part", id=f"prometheus-{_part_version('prometheus')}"),
]
ALERTMANAGER_RELEASES = [
    pytest.param("installed", id=f"alertmanager-{_installed_version('prometheus-alertmanager', 'alertmanager')}"),
    pytest.param("part", id=f"alertmanager-{_part_version('alertmanager')}"),
]


@pytest.fixture(scope="module", params=PROMETHEUS_RELEASES)
def prom_release(request: pytest.FixtureRequest) -> Release:
    """The release under test, once per module and release (ids prometheus-2.42 / prometheus-3.16)."""
    return _release(request.param)


@pytest.fixture(scope="module", params=ALERTMANAGER_RELEASES)
def am_release(request: pytest.FixtureRequest) -> Release:
    """Like prom_release, for tests of Alertmanager/amtool (ids alertmanager-0.25 / alertmanager-0.35)."""
    return _release(request.param)
