"""Grafana provisioning: datasources with fixed uids and env-expanded secrets, the dashboards provider."""

from __future__ import annotations

import yaml
from render_fixtures import all_objects, example_dict, external_stack, render, render_example, stack_from

from observability.render import names


def _datasources(rendered) -> dict[str, dict]:
    doc = yaml.safe_load(rendered.files["grafana/provisioning/datasources/datasources.yaml"])
    assert doc["apiVersion"] == 1
    return {d["uid"]: d for d in doc["datasources"]}


def test_datasources_point_at_the_in_cluster_services() -> None:
    ds = _datasources(render_example())
    assert set(ds) == {names.GRAFANA_PROMETHEUS_UID, names.GRAFANA_ELASTICSEARCH_UID, names.GRAFANA_ALERTMANAGER_UID}
    prom = ds[names.GRAFANA_PROMETHEUS_UID]
    assert (prom["type"], prom["url"], prom["isDefault"]) == (
        "prometheus", "http://obs-prometheus.observability.svc:9090", True,
    )  # fmt: skip
    es = ds[names.GRAFANA_ELASTICSEARCH_UID]
    assert es["type"] == "elasticsearch"
    assert es["url"] == "http://obs-elasticsearch.observability.svc:9200"
    assert es["jsonData"]["index"] == "logs-go-*"
    assert es["jsonData"]["timeField"] == "@timestamp"
    assert es["basicAuthUser"] == "${ELASTICSEARCH_USERNAME}"
    assert es["secureJsonData"] == {"basicAuthPassword": "${ELASTICSEARCH_PASSWORD}"}
    am = ds[names.GRAFANA_ALERTMANAGER_UID]
    assert (am["type"], am["jsonData"]["implementation"]) == ("alertmanager", "prometheus")


def test_grafana_pod_fills_the_datasource_variables_from_secrets() -> None:
    deployment = next(o for o in render_example().manifests["grafana"] if o["kind"] == "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ELASTICSEARCH_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "obs-elasticsearch-credentials"
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "obs-grafana-admin", "key": "admin-password",
    }  # fmt: skip


def test_dashboards_provider_reads_the_mounted_dashboards() -> None:
    rendered = render_example()
    provider = yaml.safe_load(rendered.files["grafana/provisioning/dashboards/dashboards.yaml"])["providers"][0]
    assert provider["type"] == "file" and provider["allowUiUpdates"] is False
    deployment = next(o for o in rendered.manifests["grafana"] if o["kind"] == "Deployment")
    mounts = {
        m["name"]: m["mountPath"] for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    assert mounts["dashboards"] == provider["options"]["path"]
    assert mounts["datasources"] == "/etc/grafana/provisioning/datasources"


def test_external_services_and_custom_index() -> None:
    data = example_dict()
    data["logging"]["processor"]["index"] = "go-logs-%{+yyyy.MM.dd}"
    ds = _datasources(render(stack_from(data)))
    assert ds[names.GRAFANA_ELASTICSEARCH_UID]["jsonData"]["index"] == "go-logs*"
    external = _datasources(render(external_stack()))
    assert external[names.GRAFANA_ELASTICSEARCH_UID]["url"] == "https://es.example.com:9200"
    assert external[names.GRAFANA_ELASTICSEARCH_UID]["jsonData"]["tlsSkipVerify"] is True
    assert external[names.GRAFANA_PROMETHEUS_UID]["url"] == "https://prom.example.com"
    assert external[names.GRAFANA_PROMETHEUS_UID]["secureJsonData"] == {"basicAuthPassword": "${PROMETHEUS_PASSWORD}"}


def test_many_grafana_replicas_use_no_shared_volume() -> None:
    data = example_dict()
    data["metrics"]["grafana"]["replicas"] = 2
    objects = all_objects(render(stack_from(data)))
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "obs-grafana")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
