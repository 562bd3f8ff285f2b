"""Test helper: run a real kube-apiserver + etcd + kube-controller-manager (v1.20, no nodes) via ../shared/tools/kapi.

Each test session gets a private KAPI_HOME (its own certs, etcd data and pid files, with `bin/` linked to
the shared build cache) on free ports, so it never touches another kapi someone else started.
Without the binaries: fail under CI=true (after trying to build them), skip locally with how to build.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("KAPI_HOME", Path.home() / ".cache" / "kapi"))
BINARIES = ("kube-apiserver", "kube-controller-manager")


def kapi_script() -> Path | None:
    for candidate in (REPO.parent / "shared" / "tools" / "kapi", Path("/work/shared/tools/kapi")):
        if candidate.is_file():
            return candidate
    found = shutil.which("kapi")
    return Path(found) if found else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"kapi (real Kubernetes API server) unavailable in CI: {reason}")
    pytest.skip(f"kapi unavailable: {reason}")


def _built() -> bool:
    return all(os.access(CACHE / "bin" / b, os.X_OK) for b in BINARIES)


def _free_port(pair: bool = False) -> int:
    """A free port (and, with pair, a free port+1 too: etcd's peer port)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair found")


@contextmanager
def running_kapi(home: Path) -> Iterator[Path]:
    """Start kapi with the controller-manager in `home`; yields the kubeconfig path; stops it afterwards."""
    script = kapi_script()
    if script is None:
        _unavailable("../shared/tools/kapi not found next to the repository")
    assert script is not None
    if not _built():
        if os.environ.get("CI") != "true":
            _unavailable(f"binaries not built in {CACHE}/bin; run `{script} build` once (about 4 minutes on 2 cores)")
        build = subprocess.run([str(script), "build"], capture_output=True, text=True, timeout=1800)
        if build.returncode != 0 or not _built():
            _unavailable(f"`kapi build` failed: {build.stderr[-2000:]}")
    (home / "bin").symlink_to(CACHE / "bin")
    env = {
        **os.environ,
        "KAPI_HOME": str(home),
        "KAPI_PORT": str(_free_port()),
        "KAPI_ETCD_PORT": str(_free_port(pair=True)),
    }
    started = subprocess.run([str(script), "start", "--kcm"], capture_output=True, text=True, env=env, timeout=180)
    try:
        if started.returncode != 0:
            pytest.fail(f"`kapi start --kcm` failed ({started.returncode}): {started.stderr[-2000:]}")
        yield Path(started.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(script), "stop"], env=env, capture_output=True, timeout=60)
