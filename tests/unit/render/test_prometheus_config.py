"""prometheus.yml: `promtool check config` (real binary) plus the scrape jobs the stack relies on."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_sd import kubernetes_sd_problems, with_file_sd
from render_fixtures import example_dict, external_stack, minimal_stack, render, render_example, stack_from

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (make system-deps)")


def promtool_check(config: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    sd_dir = tmp_path / "sd"
    sd_dir.mkdir(exist_ok=True)
    checked = with_file_sd(config, sd_dir)
    for i in range(len(checked["scrape_configs"])):
        (sd_dir / f"{i}.json").write_text("[]")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(checked, sort_keys=False))
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=60)


def example_config() -> dict[str, Any]:
    return yaml.safe_load(render_example().files["prometheus/prometheus.yml"])


@needs_promtool
@pytest.mark.parametrize("make", [None, external_stack, minimal_stack], ids=["example", "external", "minimal"])
def test_promtool_accepts_the_rendered_config(make, tmp_path: Path) -> None:
    rendered = render_example() if make is None else render(make())
    config = yaml.safe_load(rendered.files["prometheus/prometheus.yml"])
    result = promtool_check(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    assert kubernetes_sd_problems(config) == []


@needs_promtool
def test_promtool_check_can_fail(tmp_path: Path) -> None:
    config = example_config()
    config["scrape_configs"][1]["relabel_configs"][0]["regex"] = "([unclosed"
    result = promtool_check(config, tmp_path)
    assert result.returncode != 0
    assert "error parsing regexp" in result.stdout + result.stderr


def test_one_job_per_component_and_per_go_service() -> None:
    jobs = {job["job_name"]: job for job in example_config()["scrape_configs"]}
    assert set(jobs) == {
        "prometheus", "processor", "filebeat", "alertmanager", "grafana", "node-exporter", "kube-state-metrics",
        "kafka-exporter", "elasticsearch-exporter", "shop/checkout", "shop/catalog", "kubernetes-pods",
        "kubelet", "cadvisor",
    }  # fmt: skip
    checkout = jobs["shop/checkout"]
    assert checkout["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["shop"]}}]
    assert checkout["metrics_path"] == "/metrics"
    relabel = checkout["relabel_configs"]
    assert {
        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
        "regex": "checkout",
        "action": "keep",
    } in relabel
    assert {
        "source_labels": ["__meta_kubernetes_pod_container_port_number"],
        "regex": "8080",
        "action": "keep",
    } in relabel
    assert {"target_label": "service", "replacement": "checkout"} in relabel
    assert {"target_label": "team", "replacement": "payments"} in relabel
    assert {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"} in relabel
    catalog = jobs["shop/catalog"]["relabel_configs"]
    assert {
        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
        "regex": "http-metrics",
        "action": "keep",
    } in catalog


def test_annotated_pods_job_skips_pods_of_spec_services() -> None:
    job = next(j for j in example_config()["scrape_configs"] if j["job_name"] == "kubernetes-pods")
    drops = [r for r in job["relabel_configs"] if r.get("action") == "drop" and len(r["source_labels"]) > 1]
    expected = {
        "source_labels": ["__meta_kubernetes_namespace", "__meta_kubernetes_pod_label_app"],
        "regex": "shop;catalog",
        "action": "drop",
    }
    assert expected in drops


def test_alerts_go_to_every_alertmanager_replica_and_rules_are_loaded() -> None:
    data = example_dict()
    data["metrics"]["alertmanager"]["replicas"] = 2
    config = yaml.safe_load(render(stack_from(data)).files["prometheus/prometheus.yml"])
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == [
        "obs-alertmanager-0.obs-alertmanager-headless.observability.svc:9093",
        "obs-alertmanager-1.obs-alertmanager-headless.observability.svc:9093",
    ]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yaml", "/etc/prometheus/rules/*.yml"]
    assert config["global"]["external_labels"] == {"cluster": "prod-eu-1"}


def test_scrape_timeout_never_exceeds_the_interval() -> None:
    data = example_dict()
    data["metrics"]["prometheus"]["scrape_interval"] = "5s"
    config = yaml.safe_load(render(stack_from(data)).files["prometheus/prometheus.yml"])
    assert config["global"]["scrape_timeout"] == "5s"
    assert example_config()["global"]["scrape_timeout"] == "10s"


def test_rule_files_reach_the_rules_config_map() -> None:
    rendered = render_example()
    rules = next(o for o in rendered.manifests["prometheus"] if o["metadata"]["name"] == "obs-prometheus-rules")
    expected = {p.split("/", 2)[2]: t for p, t in rendered.files.items() if p.startswith("prometheus/rules/")}
    assert rules["data"] == expected
    assert json.dumps(rules["data"])  # plain strings only
