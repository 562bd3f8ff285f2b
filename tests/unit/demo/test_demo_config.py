"""The demo's localisation of the rendered configuration: scrape targets, rule `for:` caps, webhook files."""

from __future__ import annotations

from pathlib import Path

import yaml

from observability.demo.config import (
    DEMO_SPEC,
    LocalTargets,
    cap_rule_for,
    component_pod,
    localize_alertmanager,
    localize_prometheus,
    service_pod,
    webhook_secret_paths,
)
from observability.render import Sources, render_config_files
from observability.spec import parse_stack

STACK = parse_stack(DEMO_SPEC.read_text(encoding="utf-8"), str(DEMO_SPEC))

RENDERED = """
global: {scrape_interval: 5s}
alerting: {alertmanagers: [{static_configs: [{targets: ["am.svc:9093"]}]}]}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["localhost:9090"]}]
    relabel_configs: [{target_label: namespace, replacement: observability}]
  - job_name: processor
    honor_labels: true
    kubernetes_sd_configs: [{role: pod, namespaces: {names: [observability]}}]
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name], regex: processor, action: keep}
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
  - job_name: shop/checkout
    kubernetes_sd_configs: [{role: pod}]
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_container_port_number], regex: '8080', action: keep}
      - {target_label: service, replacement: checkout}
  - job_name: kubelet
    kubernetes_sd_configs: [{role: node}]
"""


def targets() -> LocalTargets:
    return LocalTargets(
        prometheus="127.0.0.1:9999",
        pods={
            "processor": component_pod(STACK, "processor", "127.0.0.1:1001", "metrics"),
            "shop/checkout": service_pod(STACK, "checkout", "shop", "127.0.0.1:1002", "checkout-abc-x1"),
        },
    )


def test_sd_jobs_become_static_targets_with_kubernetes_meta_labels_and_keep_their_relabeling():
    text, skipped = localize_prometheus(RENDERED, targets())
    config = yaml.safe_load(text)
    assert skipped == ["kubelet"]
    assert "alerting" not in config
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert list(jobs) == ["prometheus", "processor", "shop/checkout"]
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["127.0.0.1:9999"]}]
    processor = jobs["processor"]
    assert "kubernetes_sd_configs" not in processor
    assert processor["honor_labels"] is True
    assert processor["relabel_configs"] == yaml.safe_load(RENDERED)["scrape_configs"][1]["relabel_configs"]
    (static,) = processor["static_configs"]
    assert static["targets"] == ["127.0.0.1:1001"]
    assert static["labels"]["__meta_kubernetes_namespace"] == "observability"
    assert static["labels"]["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == "processor"
    assert static["labels"]["__meta_kubernetes_pod_label_app_kubernetes_io_instance"] == "demo"
    assert static["labels"]["__meta_kubernetes_pod_container_port_name"] == "metrics"
    assert static["labels"]["__meta_kubernetes_pod_phase"] == "Running"
    service = jobs["shop/checkout"]["static_configs"][0]["labels"]
    assert service["__meta_kubernetes_namespace"] == "shop"
    assert service["__meta_kubernetes_pod_name"] == "checkout-abc-x1"
    assert service["__meta_kubernetes_pod_container_port_number"] == "8080"  # the spec's port, not the local one
    assert service["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == "checkout"


def test_the_real_rendered_config_localises_to_a_valid_prometheus_config(repo, tmp_path):
    import shutil
    import subprocess

    import pytest

    from observability.cli.sources import ALERTS, DASHBOARDS, read_sources, source_dir

    sources = read_sources(source_dir(ALERTS, repo / "alerts"), source_dir(DASHBOARDS, repo / "dashboards"))
    files = render_config_files(STACK, sources).files
    text, skipped = localize_prometheus(files["prometheus/prometheus.yml"], targets())
    assert "kubelet" in skipped
    jobs = [j["job_name"] for j in yaml.safe_load(text)["scrape_configs"]]
    assert {"prometheus", "processor", "shop/checkout"} <= set(jobs)
    assert all("kubernetes_sd_configs" not in j for j in yaml.safe_load(text)["scrape_configs"])
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (scripts/system-deps.sh installs it)")
    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    result = subprocess.run(["promtool", "check", "config", "--syntax-only", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_for_is_capped_and_expressions_are_untouched():
    rules = {"go.yaml": yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"alert": "Slow", "expr": "rate(x[5m]) > 1", "for": "10m", "labels": {"severity": "page"}},
        {"alert": "Quick", "expr": "y > 1", "for": "5s"},
        {"alert": "Now", "expr": "z > 1"},
        {"record": "r:rate5m", "expr": "rate(x[5m])"},
    ]}]})}
    out = yaml.safe_load(cap_rule_for(rules, "10s")["go.yaml"])["groups"][0]["rules"]
    assert [r.get("for") for r in out] == ["10s", "5s", None, None]
    assert [r["expr"] for r in out] == ["rate(x[5m]) > 1", "y > 1", "z > 1", "rate(x[5m])"]
    assert out[0]["labels"] == {"severity": "page"}


def test_webhook_url_files_point_at_local_files(tmp_path):
    files = render_config_files(STACK, Sources()).files
    (secret_path,) = webhook_secret_paths(STACK)
    assert secret_path == "/etc/alertmanager/secrets/demo-receivers/webhook-url"
    local = tmp_path / "webhook-url"
    config = yaml.safe_load(localize_alertmanager(files["alertmanager/alertmanager.yml"], {secret_path: local}))
    receiver, *silent = config["receivers"]
    assert receiver["webhook_configs"][0]["url_file"] == str(local)
    assert silent == [{"name": "watchdog"}, {"name": "null"}]  # Watchdog and severity none: nobody
    assert config["route"]["receiver"] == "demo-webhook"


def test_demo_spec_disables_what_cannot_run_locally():
    assert STACK.metrics.prometheus.scrape_interval == "5s"
    assert not STACK.metrics.grafana.enabled
    assert not STACK.metrics.kube_state_metrics.enabled
    assert [(s.namespace, s.name) for s in STACK.services] == [("shop", "checkout")]
    assert Path(DEMO_SPEC).name == "stack.yaml"
