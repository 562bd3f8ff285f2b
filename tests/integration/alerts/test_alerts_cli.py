"""Integration: `obs alerts lint|test|sync` through the real entry point, with the real promtool/amtool and
(for sync) a real Prometheus and Alertmanager."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from observability.local import start_alertmanager, start_prometheus

pytestmark = pytest.mark.integration


def obs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "observability", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


BAD = """groups:
  - name: g
    rules:
      - alert: NoSeverity
        expr: rate(x[30s]) > 1
        annotations: {summary: s, description: d}
      - alert: Broken
        expr: sum(rate(x[5m])
        labels: {severity: ticket}
"""


def test_lint_reports_file_line_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    result = obs("alerts", "lint", str(tmp_path / "bad.yaml"), "--runbooks", str(tmp_path / "none"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{tmp_path}/bad.yaml:4: g/NoSeverity: label 'severity' is missing" in result.stdout
    assert "rate() over 30s is less than 4 scrape intervals" in result.stdout
    assert f"{tmp_path}/bad.yaml:8: g/Broken: expression does not parse" in result.stdout  # the expr line
    assert "[promtool]" in result.stdout  # promtool's own verdict is included


def test_lint_json_and_clean_repo(repo: Path) -> None:
    result = obs("alerts", "lint", "--spec", "examples/stack.yaml", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report == {"files": 6, "problems": []}  # 3 in alerts/ + the 3 generated from the spec


def test_alerts_test_passes_on_the_repo_and_reports_gaps(repo: Path, tmp_path: Path) -> None:
    result = obs("alerts", "test", "--spec", "examples/stack.yaml", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "coverage: 25/25 alerts" in result.stdout
    assert "routing tests: 14/14 passed" in result.stdout
    # An alert without tests and a wrong routing expectation both fail the run.
    alerts = tmp_path / "alerts"
    shutil.copytree(repo / "alerts", alerts)
    (alerts / "extra.yaml").write_text(
        "groups:\n- name: x\n  rules:\n  - alert: Untested\n    expr: up == 0\n    labels: {severity: ticket}\n"
    )
    routing = (
        (alerts / "routing-tests.yaml").read_text().replace("receivers: [ops-email]\n", "receivers: [oncall]\n", 1)
    )
    (alerts / "routing-tests.yaml").write_text(routing)
    result = obs(
        "alerts",
        "test",
        "--spec",
        str(repo / "examples/stack.yaml"),
        "--alerts",
        str(alerts),
        "--tests",
        str(repo / "tests/alerts"),
    )
    assert result.returncode == 1
    assert "Untested: no promtool test where it is firing or quiet" in result.stdout
    assert "routing tests: 13/14 passed" in result.stdout
    assert "routed to ['ops-email'], expected ['oncall']" in result.stdout


def test_alerts_test_reads_the_spec_before_running_promtool(repo: Path, tmp_path: Path) -> None:
    given = obs("alerts", "test", "--spec", str(tmp_path / "missing.yaml"), cwd=repo)
    # the routing tests in alerts/ need the default ./stack.yaml, which this directory lacks
    default = obs("alerts", "test", "--alerts", str(repo / "alerts"), "--tests", str(repo / "tests/alerts"),
                  cwd=tmp_path)
    for result, missing in ((given, str(tmp_path / "missing.yaml")), (default, "stack.yaml")):
        assert result.returncode == 1
        assert f"ERROR: {missing}: 1 problem\n  {missing}: file not found" in result.stderr, result.stderr
        assert "promtool test rules" not in result.stdout  # failed before the long promtool run, not after it


def test_sync_locally_shows_diff_reloads_and_is_idempotent(repo: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets" / "alert-receivers"
    secrets.mkdir(parents=True)
    for key in ("pagerduty-routing-key", "slack-api-url", "smtp-password"):
        (secrets / key).write_text("test-value\n")
    (secrets / "webhook-url").write_text("http://127.0.0.1:9/hook\n")
    prom_yml = "global: {scrape_interval: 5s, evaluation_interval: 5s}\n"
    with (
        start_alertmanager("route: {receiver: x}\nreceivers: [{name: x}]\n", tmp_path / "am") as am,
        start_prometheus(prom_yml, {}, tmp_path / "prom") as prom,
    ):
        args = [
            "alerts",
            "sync",
            "--spec",
            "examples/stack.yaml",
            "--rules-dir",
            str(prom.workdir / "rules"),
            "--prometheus-url",
            prom.url,
            "--alertmanager-config",
            str(am.config_path),
            "--alertmanager-url",
            am.url,
            "--secrets-dir",
            str(tmp_path / "secrets"),
        ]
        dry = obs(*args, "--dry-run", cwd=repo)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        # --exit-code means what it means for `obs plan` and `obs dashboards diff`: 2 = something differs
        assert obs(*args, "--dry-run", "--exit-code", cwd=repo).returncode == 2
        assert "+++ " in dry.stdout and "not reloaded" in dry.stdout
        assert not (prom.workdir / "rules" / "go-services.yaml").exists()
        first = obs(*args, cwd=repo)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "reloaded" in first.stdout
        groups = requests.get(f"{prom.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {"go-services", "processor", "slo:shop/checkout"} <= {g["name"] for g in groups}
        status = requests.get(f"{am.url}/api/v2/status", timeout=5).json()
        assert "payments-slack" in status["config"]["original"]
        second = obs(*args, "--exit-code", cwd=repo)
        assert second.returncode == 0
        assert second.stdout.count("up to date") == 2, second.stdout
        verify = obs("alerts", "verify", "--prometheus-url", prom.url, "--alertmanager-url", am.url)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "0 unhealthy" in verify.stdout and "config loaded" in verify.stdout
