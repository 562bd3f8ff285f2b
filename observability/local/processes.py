"""Local I/O layer: run Prometheus and Alertmanager as plain child processes on 127.0.0.1.

By default the programs on PATH (Debian's 2.42/0.25); `binary=` runs another release, e.g. the built real
parts (observability/local/parts.py: `require("prometheus")`), so the same checks run on both versions.

Used by the integration tests, `obs alerts sync --local` and the demo. Each server gets its own work
directory (config, rules, data, log file) and a free port; the caller stops it with `stop()` or a
`with` block. Neither server accepts port 0, so a port is picked by binding a socket first and the start
is retried if another process grabbed it in between.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from observability.errors import RemoteError, ToolMissingError
from observability.local.compat import compat_alertmanager_config, tool_version
from observability.spec.yamlsafe import load_yaml

PROMETHEUS_BINARY = "prometheus"
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")
_START_ATTEMPTS = 3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(*names: str) -> str:
    """Path of the first installed program among `names`, or ToolMissingError saying how to install it."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise ToolMissingError(
        f"{' or '.join(names)} is not installed",
        hint="install Debian's prometheus / prometheus-alertmanager packages (scripts/system-deps.sh)",
    )


@dataclass
class LocalProcess:
    """A running local server: its base URL, work directory and log; stop() ends it."""

    name: str
    url: str
    """Base URL, e.g. http://127.0.0.1:41234 (no trailing slash)."""
    port: int
    workdir: Path
    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def logs(self) -> str:
        """Everything the server wrote to stdout/stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def running(self) -> bool:
        return self.process.poll() is None

    def reload(self, timeout: float = 10.0) -> None:
        """POST /-/reload (re-reads config and rule files); RemoteError with the server's reason on failure."""
        response = requests.post(f"{self.url}/-/reload", timeout=timeout)
        if response.status_code != 200:
            raise RemoteError(
                f"{self.name} at {self.url} refused the reload: {response.text.strip()[:500]}",
                status=response.status_code,
                hint=f"see {self.log_path}",
            )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL if it is still alive; safe to call twice."""
        stop_process(self.process, timeout)

    def __enter__(self) -> LocalProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """Stop one child by its pid: SIGTERM, wait up to `timeout`, then SIGKILL; nothing if it has exited."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def wait_ready(proc: LocalProcess, timeout: float, path: str = "/-/ready") -> None:
    """Wait until `GET proc.url + path` answers 200; RemoteError with the log tail if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.running():
            raise RemoteError(
                f"{proc.name} exited with code {proc.process.returncode} during start-up:\n{proc.logs()[-2000:]}",
                hint=f"check the config in {proc.config_path}",
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{proc.url}{path}", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    proc.stop()
    raise RemoteError(f"{proc.name} did not become ready within {timeout:.0f}s:\n{proc.logs()[-2000:]}")


def _launch(name: str, argv_for_port: Any, workdir: Path, config_path: Path, timeout: float) -> LocalProcess:
    last: RemoteError | None = None
    for _ in range(_START_ATTEMPTS):
        port = free_port()
        log_path = workdir / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(argv_for_port(port), stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        proc = LocalProcess(name, f"http://127.0.0.1:{port}", port, workdir, config_path, log_path, popen)
        try:
            wait_ready(proc, timeout)
            return proc
        except RemoteError as e:
            proc.stop()
            last = e
            if "address already in use" not in proc.logs():
                raise
    assert last is not None
    raise last


def _absolute_dir(workdir: Path) -> Path:
    # The server runs with its cwd in workdir: a relative path handed to it would point one level too deep.
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def rule_file_name(name: str) -> str:
    """Flat file name for a relative rule path ("go/http.yaml" → "go__http.yaml"); globs do not recurse."""
    flat = name.replace("/", "__")
    return flat if flat.endswith((".yaml", ".yml")) else flat + ".yaml"


def write_rule_files(rule_files: dict[str, str], rules_dir: Path) -> list[Path]:
    """Write rule files (relative name → YAML) flat into rules_dir, removing rule files no longer given."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    wanted = {rule_file_name(name): text for name, text in rule_files.items()}
    for old in rules_dir.glob("*.y*ml"):
        if old.name not in wanted:
            old.unlink()
    paths = []
    for name, text in sorted(wanted.items()):
        path = rules_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def localize_prometheus_config(config_text: str, rules_dir: Path, alertmanager_url: str | None) -> str:
    """The config with rule_files pointing at rules_dir and (optionally) one static Alertmanager target."""
    config = load_yaml(config_text, "<rendered prometheus.yml>", plain=True) or {}
    config["rule_files"] = [str(rules_dir / "*.yaml"), str(rules_dir / "*.yml")]
    if alertmanager_url is not None:
        scheme, _, hostport = alertmanager_url.partition("://")
        config["alerting"] = {"alertmanagers": [{"scheme": scheme, "static_configs": [{"targets": [hostport]}]}]}
    return yaml.safe_dump(config, sort_keys=False)


def start_prometheus(
    config_text: str,
    rule_files: dict[str, str],
    workdir: Path,
    *,
    alertmanager_url: str | None = None,
    extra_args: tuple[str, ...] = (),
    timeout: float = 30.0,
    binary: str | Path | None = None,
) -> LocalProcess:
    """Start Prometheus with `config_text` and `rule_files` (name → YAML) in `workdir`; wait until ready.

    The config's `rule_files` are replaced by the files written to `workdir/rules/`; with
    `alertmanager_url` its `alerting` section sends to that one Alertmanager. /-/reload is enabled.
    `binary` is the prometheus program to run (default: the one on PATH).
    """
    program = str(binary) if binary is not None else find_binary(PROMETHEUS_BINARY)
    workdir = _absolute_dir(workdir)
    rules_dir = workdir / "rules"
    write_rule_files(rule_files, rules_dir)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(localize_prometheus_config(config_text, rules_dir, alertmanager_url), encoding="utf-8")

    def argv(port: int) -> list[str]:
        return [
            program,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
            *extra_args,
        ]

    return _launch("prometheus", argv, workdir, config_path, timeout)


def start_alertmanager(
    config_text: str,
    workdir: Path,
    *,
    extra_args: tuple[str, ...] = (),
    timeout: float = 30.0,
    binary: str | Path | None = None,
) -> LocalProcess:
    """Start Alertmanager (no clustering/gossip) with `config_text` in `workdir`; wait until ready.

    An Alertmanager older than 0.26 gets webhook `url_file`s inlined (local/compat.py). `binary` is the
    alertmanager program to run (default: the one on PATH).
    """
    program = str(binary) if binary is not None else find_binary(*ALERTMANAGER_BINARIES)
    workdir = _absolute_dir(workdir)
    config_path = workdir / "alertmanager.yml"
    try:
        text, _ = compat_alertmanager_config(config_text, tool_version(program), inline=True)
    except OSError as e:
        raise RemoteError(f"alertmanager: cannot read a receiver's secret file: {e}") from None
    config_path.write_text(text, encoding="utf-8")

    def argv(port: int) -> list[str]:
        return [
            program,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            *extra_args,
        ]

    return _launch("alertmanager", argv, workdir, config_path, timeout)
