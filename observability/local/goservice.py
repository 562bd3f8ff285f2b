"""Local I/O: build and run the sample Go service (examples/go-service) as a plain process.

Used by the integration tests and the local demo. The service is a Go module (go.mod/go.sum pin gin, zap and
client_golang) and a real part (tools/go-service/part.toml): it is built with the ordinary Go tooling through
the module proxy into ~/.cache/observability/parts/go-service/ by `make tools` (observability/local/parts.py),
or here on first use, and reused while its sources are unchanged.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from observability.errors import ToolMissingError
from observability.local import parts
from observability.local.container_logs import ContainerLog
from observability.local.processes import free_port, stop_process

PART = "go-service"


def build_go_service() -> Path:
    """The service's binary: the built part, building it first if this recipe is not built yet."""
    return parts.build(parts.get_part(PART))


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
        stop_process(self.process, 5.0)


def start_go_service(
    binary: Path,
    log_path: Path,
    *,
    name: str = "checkout",
    port: int | None = None,
    timeout: float = 15.0,
    container_log: ContainerLog | None = None,
) -> RunningGoService:
    """Start the service on 127.0.0.1 and wait until /healthz answers.

    It appends its JSON log lines to `log_path`; with `container_log`, its stdout and stderr (the same lines,
    and whatever the Go runtime prints, a panic's trace say) also go there as a container runtime writes them."""
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    output = subprocess.DEVNULL if container_log is None else subprocess.PIPE
    process = subprocess.Popen(
        [str(binary), "--addr", f"127.0.0.1:{port}", "--log-file", str(log_path), "--service", name],
        stdout=output,
        stderr=output,
        start_new_session=True,  # Ctrl-C in a terminal reaches the demo, which stops its children itself
    )
    if container_log is not None:
        assert process.stdout is not None and process.stderr is not None
        container_log.redirect("stdout", process.stdout)
        container_log.redirect("stderr", process.stderr)
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
