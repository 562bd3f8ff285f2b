"""Integration: the local Prometheus/Alertmanager runners start real servers, reload them and stop cleanly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from observability.errors import RemoteError
from observability.local import start_alertmanager, start_prometheus

pytestmark = pytest.mark.integration

_AM = "route: {receiver: none}\nreceivers: [{name: none}]\n"
_PROM = "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [/nonexistent/*.yaml]\n"
_RULES = """groups:
- name: g
  rules:
  - record: job:one
    expr: vector(1)
"""


def test_prometheus_and_alertmanager_start_reload_and_stop(tmp_path: Path) -> None:
    with (
        start_alertmanager(_AM, tmp_path / "am") as am,
        start_prometheus(_PROM, {"sub/one.yaml": _RULES}, tmp_path / "prom", alertmanager_url=am.url) as prom,
    ):
        status = requests.get(f"{am.url}/api/v2/status", timeout=5).json()
        assert "receiver: none" in status["config"]["original"]
        groups = requests.get(f"{prom.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert [g["name"] for g in groups] == ["g"]
        assert (tmp_path / "prom" / "rules" / "sub__one.yaml").is_file()
        (tmp_path / "prom" / "rules" / "sub__one.yaml").write_text(_RULES.replace("name: g", "name: h"))
        prom.reload()
        groups = requests.get(f"{prom.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert [g["name"] for g in groups] == ["h"]
        active: list[dict] = []
        deadline = time.monotonic() + 10
        while not active and time.monotonic() < deadline:  # service discovery runs asynchronously
            active = requests.get(f"{prom.url}/api/v1/alertmanagers", timeout=5).json()["data"]["activeAlertmanagers"]
            time.sleep(0.2)
        assert active and active[0]["url"].startswith(am.url)
    assert not prom.running() and not am.running()


def test_bad_config_reports_the_server_log(tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match="exited"):
        start_alertmanager("route: {receiver: missing}\nreceivers: []\n", tmp_path / "am")
