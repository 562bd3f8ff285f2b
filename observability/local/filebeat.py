"""Local I/O layer: the real OSS Filebeat (the `filebeat` real part, tools/filebeat/) as a child process.

Used by the integration tests and the demo. `check_config` runs `filebeat test config` on a filebeat.yml,
`export_config` returns the configuration as Filebeat parsed it (`filebeat export config`), and
`start_filebeat` runs it with its own home/data/logs directories under a work directory, its HTTP
monitoring endpoint on a free 127.0.0.1 port (a `-E` override, so the file stays as rendered) and waits,
bounded, until that endpoint answers. `FilebeatProcess.stats()` reads the endpoint's /stats document
(libbeat.output.events.acked and friends), `registry_offsets()` how far its registry says each file is done.
Stops go by pid through LocalProcess.stop().

`localize_node_logs` points a rendered filebeat.yml at a node's log directory laid out under a local root
(`<root>/var/log/containers`, written by observability/local/container_logs.py) instead of the node's own.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import requests
import yaml

from observability.errors import RemoteError, ToolMissingError
from observability.local import parts
from observability.local.container_logs import KUBELET_LOG_DIR
from observability.local.processes import LocalProcess, free_port, wait_ready
from observability.render.filebeat import regexp_literal
from observability.render.yamlfmt import dump_yaml

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


def localize_node_logs(rendered: str, node_root: Path) -> str:
    """The rendered filebeat.yml reading `<node_root>/var/log/containers` instead of /var/log/containers.

    Only the inputs move (`paths` and the `exclude_files` patterns, of the static input or of autodiscover's
    default config). add_kubernetes_metadata's `logs_path` matcher stays as rendered: it looks for its
    logs_path anywhere in log.file.path, and only a logs_path starting with /var/log/containers/ makes it
    take the container id from the end of the file name (beats filebeat/processor/add_kubernetes_metadata/
    matchers.go LogPathMatcher.MetadataIndex); moved to the local root it would read the id from the wrong
    place and no event would get pod metadata."""
    config = yaml.safe_load(rendered)
    moved = str(node_root.resolve()) + KUBELET_LOG_DIR
    inputs = list(config.get("filebeat.inputs", []))
    for provider in config.get("filebeat.autodiscover", {}).get("providers", []):
        if "hints.default_config" in provider:
            inputs.append(provider["hints.default_config"])
    for item in inputs:
        item["paths"] = [_moved(path, moved) for path in item.get("paths", [])]
        if "exclude_files" in item:
            item["exclude_files"] = [_moved_pattern(p, moved) for p in item["exclude_files"]]
    return dump_yaml(config)


def _moved(path: str, moved: str) -> str:
    if not path.startswith(KUBELET_LOG_DIR + "/"):
        raise RemoteError(f"filebeat.yml input path {path!r} is not under {KUBELET_LOG_DIR}: cannot move it")
    return moved + path[len(KUBELET_LOG_DIR) :]


def _moved_pattern(pattern: str, moved: str) -> str:
    anchored = "^" + regexp_literal(KUBELET_LOG_DIR + "/")
    if not pattern.startswith(anchored):
        raise RemoteError(f"filebeat.yml exclude_files pattern {pattern!r} is not anchored at {KUBELET_LOG_DIR}/")
    return "^" + regexp_literal(moved + "/") + pattern[len(anchored) :]


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

    def registry_offsets(self) -> dict[str, int]:
        """Per file read, the offset up to which Filebeat's registry says its lines are done (shipped and
        acknowledged, or dropped by a processor): what a restarted Filebeat would resume from."""
        return registry_offsets(self.workdir / "data" / "registry" / "filebeat")


def registry_offsets(store: Path) -> dict[str, int]:
    """{source file: offset} from a Filebeat registry directory (the memlog store: the newest `<seq>.json`
    checkpoint, a JSON array of values with their `_key`, then `log.json`, an append-only log of
    `{"op": "set"|"remove", "id": N}` lines each followed by `{"k": key, "v": value}`; beats
    libbeat/statestore/backend/memlog/doc.go). A last line still being written is ignored."""
    state: dict[str, dict[str, Any]] = {}
    checkpoints = sorted(store.glob("[0-9]*.json"), key=lambda p: int(p.stem))
    if checkpoints:
        for value in orjson.loads(checkpoints[-1].read_bytes()):
            state[value.pop("_key")] = value
    log = store / "log.json"
    lines = log.read_bytes().splitlines() if log.is_file() else []
    for op_line, data_line in zip(lines[::2], lines[1::2], strict=False):
        try:
            op, data = orjson.loads(op_line), orjson.loads(data_line)
        except orjson.JSONDecodeError:
            break
        if op.get("op") == "set":
            state[data["k"]] = data["v"]
        elif op.get("op") == "remove":
            state.pop(data["k"], None)
    return {v["source"]: int(v["offset"]) for v in state.values() if "source" in v and "offset" in v}


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
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env={**os.environ, **(env or {})},
                start_new_session=True,  # a Ctrl-C meant for the caller reaches the caller, which stops it by pid
            )  # fmt: skip
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
