"""Local I/O layer: the real OSS Filebeat (the `filebeat` real part, tools/filebeat/) as a child process.

Used by the integration tests and the demo. `check_config` runs `filebeat test config` on a filebeat.yml,
`export_config` returns the configuration as Filebeat parsed it (`filebeat export config`), and
`start_filebeat` runs it with its own home/data/logs directories under a work directory, its HTTP
monitoring endpoint on a free 127.0.0.1 port (a `-E` override, so the file stays as rendered) and waits,
bounded, until that endpoint answers. `FilebeatProcess.stats()` reads the endpoint's /stats document
(libbeat.output.events.acked and friends). Stops go by pid through LocalProcess.stop().
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from observability.errors import RemoteError, ToolMissingError
from observability.local import parts
from observability.local.processes import LocalProcess, free_port, wait_ready

PART = "filebeat"
_CHECK_TIMEOUT_S = 60.0
_READY_TIMEOUT_S = 60.0
_START_ATTEMPTS = 3


def filebeat_available() -> bool:
    """True when the real Filebeat is built (`make tools PARTS=filebeat`)."""
    try:
        parts.require(PART)
    except ToolMissingError:
        return False
    return True


def filebeat_binary() -> Path:
    """The built Filebeat, or ToolMissingError naming `make tools PARTS=filebeat`."""
    return parts.require(PART)


def write_config(path: Path, text: str) -> Path:
    """Write filebeat.yml as Filebeat accepts it: it refuses a config file others may write (strict.perms)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def _path_flags(workdir: Path) -> list[str]:
    flags = []
    for name in ("home", "data", "logs"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
        flags += [f"--path.{name}", str(workdir / name)]
    return flags


@dataclass(frozen=True)
class ConfigCheck:
    """What `filebeat test config` said about one file."""

    ok: bool
    output: str


def check_config(config_path: Path, workdir: Path, env: Mapping[str, str] | None = None) -> ConfigCheck:
    """`filebeat test config -c FILE`: ok means exit 0 and Filebeat's own "Config OK"."""
    argv = [str(filebeat_binary()), "test", "config", "-c", str(config_path), *_path_flags(workdir)]
    done = subprocess.run(
        argv, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=_CHECK_TIMEOUT_S
    )
    output = (done.stdout + done.stderr).strip()
    return ConfigCheck(ok=done.returncode == 0 and "Config OK" in output, output=output)


def export_config(config_path: Path, workdir: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The configuration as Filebeat parsed it (`filebeat export config`), as a dict."""
    argv = [str(filebeat_binary()), "export", "config", "-c", str(config_path), *_path_flags(workdir)]
    done = subprocess.run(
        argv, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=_CHECK_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RemoteError(f"filebeat export config -c {config_path} failed: {(done.stdout + done.stderr)[-2000:]}")
    exported = yaml.safe_load(done.stdout)
    if not isinstance(exported, dict):
        raise RemoteError(f"filebeat export config -c {config_path} printed no mapping: {done.stdout[:500]}")
    return exported


@dataclass
class FilebeatProcess(LocalProcess):
    """A running Filebeat; `url` is its HTTP monitoring endpoint."""

    def stats(self) -> dict[str, Any]:
        """GET /stats: libbeat pipeline/output counters and the filebeat harvester counters."""
        response = requests.get(f"{self.url}/stats", timeout=5)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def acked(self) -> int:
        """Events the output (Kafka) acknowledged so far."""
        return int(self.stats()["libbeat"]["output"]["events"]["acked"])


def start_filebeat(
    config_path: Path,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    timeout: float = _READY_TIMEOUT_S,
) -> FilebeatProcess:
    """Run `filebeat -e -c FILE` with its paths under workdir and the HTTP endpoint on a free local port.

    `overrides` are extra `-E key=value` settings (e.g. output.kafka.hosts for a local broker).
    """
    binary = filebeat_binary()
    last: RemoteError | None = None
    for _ in range(_START_ATTEMPTS):
        port = free_port()
        settings = {"http.enabled": "true", "http.host": "127.0.0.1", "http.port": str(port), **(overrides or {})}
        argv = [str(binary), "-e", "-c", str(config_path), *_path_flags(workdir)]
        for key, value in settings.items():
            argv += ["-E", f"{key}={value}"]
        log_path = workdir / "filebeat.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env={**os.environ, **(env or {})}
            )
        proc = FilebeatProcess("filebeat", f"http://127.0.0.1:{port}", port, workdir, config_path, log_path, popen)
        try:
            wait_ready(proc, timeout, path="/")
            return proc
        except RemoteError as e:
            proc.stop()
            last = e
            if "address already in use" not in proc.logs():
                raise
    assert last is not None
    raise last
