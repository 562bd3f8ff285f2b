"""The rendered scrape jobs' relabelling, executed by a real Prometheus on simulated pod discovery.

Debian's Prometheus has no Kubernetes discovery, so each job reads file-based discovery carrying the
same `__meta_kubernetes_*` labels Kubernetes discovery would attach (see tests/unit/render/prometheus_sd.py).
Prometheus then applies the rendered relabel rules itself; the test reads the resulting targets.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "render"))

from prometheus_sd import with_file_sd
from render_fixtures import render_example

from observability.local.processes import find_binary, start_prometheus

pytestmark = pytest.mark.integration


def pod(address: str, namespace: str, name: str, labels: dict[str, str], **meta: str) -> dict[str, Any]:
    discovered = {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_node_name": "node-1",
        "__meta_kubernetes_pod_phase": meta.pop("phase", "Running"),
        **{f"__meta_kubernetes_pod_label_{k}": v for k, v in labels.items()},
        **{f"__meta_kubernetes_pod_{k}": v for k, v in meta.items()},
    }
    return {"targets": [address], "labels": discovered}


OBS = {"app_kubernetes_io_name": "processor", "app_kubernetes_io_instance": "obs"}
DISCOVERY: dict[str, list[dict[str, Any]]] = {
    "shop/checkout": [
        pod("127.0.0.1:18080", "shop", "checkout-1", {"app_kubernetes_io_name": "checkout"},
            container_port_number="8080"),
        pod("127.0.0.1:19090", "shop", "checkout-1", {"app_kubernetes_io_name": "checkout"},
            container_port_number="9090"),
        pod("127.0.0.1:18081", "shop", "other-1", {"app_kubernetes_io_name": "other"}, container_port_number="8080"),
        pod("127.0.0.1:18082", "shop", "checkout-old", {"app_kubernetes_io_name": "checkout"},
            container_port_number="8080", phase="Succeeded"),
    ],
    "processor": [
        pod("127.0.0.1:19102", "observability", "processor-1", OBS, container_port_name="metrics"),
        pod("127.0.0.1:19103", "observability", "processor-x", {**OBS, "app_kubernetes_io_instance": "other"},
            container_port_name="metrics"),
    ],
    "kubernetes-pods": [
        pod("10.0.0.5:8080", "web", "annotated-1", {"app_kubernetes_io_name": "web"},
            annotation_prometheus_io_scrape="true", annotation_prometheus_io_port="9999",
            annotation_prometheus_io_path="/custom"),
        pod("10.0.0.6:8080", "shop", "catalog-1", {"app": "catalog"}, annotation_prometheus_io_scrape="true"),
        pod("10.0.0.7:8080", "web", "plain-1", {"app_kubernetes_io_name": "plain"}),
    ],
}  # fmt: skip


def targets(url: str, job: str) -> tuple[list[dict[str, Any]], int]:
    data = requests.get(f"{url}/api/v1/targets", params={"state": "any"}, timeout=5).json()["data"]
    active = [t for t in data["activeTargets"] if t["scrapePool"] == job]
    dropped = [t for t in data["droppedTargets"] if t["discoveredLabels"].get("job") == job]
    return active, len(dropped)


def test_rendered_relabelling_keeps_exactly_the_intended_targets(tmp_path: Path) -> None:
    try:
        find_binary("prometheus")
    except Exception as e:  # the binary is installed by make system-deps
        pytest.skip(str(e))
    config = yaml.safe_load(render_example().files["prometheus/prometheus.yml"])
    config.pop("alerting")  # the in-cluster Alertmanager names do not resolve here
    sd_dir = tmp_path / "sd"
    sd_dir.mkdir()
    local = with_file_sd(config, sd_dir)
    for i, job in enumerate(local["scrape_configs"]):
        (sd_dir / f"{i}.json").write_text(json.dumps(DISCOVERY.get(job["job_name"], [])))
    with start_prometheus(yaml.safe_dump(local, sort_keys=False), {}, tmp_path / "prom") as prom:
        deadline = time.monotonic() + 30
        while True:
            checkout, checkout_dropped = targets(prom.url, "shop/checkout")
            if (checkout and checkout_dropped == 3) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(checkout) == 1, checkout
        labels = checkout[0]["labels"]
        assert labels["service"] == "checkout" and labels["namespace"] == "shop" and labels["team"] == "payments"
        assert labels["pod"] == "checkout-1" and labels["instance"] == "127.0.0.1:18080"
        assert checkout_dropped == 3

        processor, processor_dropped = targets(prom.url, "processor")
        assert [t["labels"]["pod"] for t in processor] == ["processor-1"]
        assert processor_dropped == 1

        annotated, annotated_dropped = targets(prom.url, "kubernetes-pods")
        assert len(annotated) == 1, annotated
        assert annotated[0]["labels"]["instance"] == "10.0.0.5:9999"
        assert annotated[0]["scrapeUrl"] == "http://10.0.0.5:9999/custom"
        assert annotated[0]["labels"]["app"] == "web"
        assert annotated_dropped == 2  # the catalog pod has its own job; the plain pod is not annotated
