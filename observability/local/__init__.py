"""Local I/O layer: real Prometheus and Alertmanager processes and the promtool/amtool checkers.

Used by the integration tests, `obs alerts sync --local`/`test`/`lint` and the demo. The API is small:

    from observability.local import start_prometheus, start_alertmanager

    with start_alertmanager(alertmanager_yml, tmp / "am") as am, \\
         start_prometheus(prometheus_yml, {"go.yaml": rules}, tmp / "prom", alertmanager_url=am.url) as prom:
        requests.get(f"{prom.url}/api/v1/rules")   # both are ready here
        prom.reload()                              # POST /-/reload after changing files

- `start_prometheus(config_text, rule_files, workdir, *, alertmanager_url=None, extra_args=(), binary=None)` writes the
  config and the rule files (name → YAML, written flat into workdir/rules/) and rewrites `rule_files` (and,
  with `alertmanager_url`, `alerting`) to point at them; lifecycle API (/-/reload) is enabled.
- `start_alertmanager(config_text, workdir, *, extra_args=(), binary=None)` runs without gossip clustering.
- `binary` picks the program (default: the one on PATH, Debian's); pass `parts.require("prometheus")` or
  `parts.require("alertmanager")` to run the current release built by `make tools`.
- Both pick a free 127.0.0.1 port, wait for /-/ready (default 30 s) and return a `LocalProcess` with `.url`,
  `.port`, `.workdir`, `.log_path`, `.logs()`, `.reload()` and `.stop()` (also a context manager).
  A failed start raises RemoteError with the server's log tail; a missing binary raises ToolMissingError.
"""

from observability.local.processes import (
    LocalProcess,
    free_port,
    rule_file_name,
    start_alertmanager,
    start_prometheus,
    write_rule_files,
)

__all__ = [
    "LocalProcess",
    "free_port",
    "rule_file_name",
    "start_alertmanager",
    "start_prometheus",
    "write_rule_files",
]
