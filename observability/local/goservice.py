"""Local I/O: build and run the sample Go service (examples/go-service) as a plain process.

Used by the integration tests and the local demo. The build is offline against Debian's Go packages
(GOPATH mode, no go.mod) and cached by a hash of the sources, so repeated runs start in milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from observability.errors import ToolMissingError

REPO_SOURCE = Path(__file__).resolve().parents[2] / "examples" / "go-service"
GO_ENV = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOPROXY": "off", "GOFLAGS": ""}


def build_go_service(source: Path = REPO_SOURCE, cache_dir: Path | None = None) -> Path:
    """Compile the service (or reuse the cached binary for identical sources); returns the binary path."""
    go = shutil.which("go")
    if go is None:
        raise ToolMissingError(
            "the Go toolchain is not installed; run `bash scripts/system-deps.sh` "
            "(Debian: golang-go golang-github-gin-gonic-gin-dev golang-go.uber-zap-dev "
            "golang-github-prometheus-client-golang-dev)"
        )
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.go")):
        digest.update(path.name.encode() + path.read_bytes())
    cache = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "observability"
    binary = cache / f"go-service-{digest.hexdigest()[:16]}"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **GO_ENV, "GOCACHE": str(cache / "gocache")}
    partial = binary.with_suffix(".partial")
    result = subprocess.run(
        [go, "build", "-o", str(partial), "."], cwd=source, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise ToolMissingError(f"building {source} failed:\n{result.stderr.strip()[-2000:]}")
    partial.rename(binary)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningGoService:
    """A started sample service; `stop()` terminates it (SIGTERM, then SIGKILL)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    name: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"{self.url}/metrics"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_fail_ratio(self, ratio: float) -> None:
        request = urllib.request.Request(f"{self.url}/admin/fail-ratio?ratio={ratio}", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_go_service(
    binary: Path, log_path: Path, *, name: str = "checkout", port: int | None = None, timeout: float = 15.0
) -> RunningGoService:
    """Start the service on 127.0.0.1 and wait until /healthz answers."""
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(binary), "--addr", f"127.0.0.1:{port}", "--log-file", str(log_path), "--service", name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in a terminal reaches the demo, which stops its children itself
    )
    service = RunningGoService(process=process, port=port, log_path=log_path, name=name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ToolMissingError(f"the sample Go service exited at start with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{service.url}/healthz", timeout=1):
                return service
        except OSError:
            time.sleep(0.05)
    service.stop()
    raise ToolMissingError(f"the sample Go service did not answer on {service.url} within {timeout:.0f}s")
