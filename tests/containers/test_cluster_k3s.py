"""`obs apply --wait` / status / destroy on a full cluster with a node (k3s through testcontainers).

What this adds over the kapi suite (no nodes): pods really start, so `apply --wait` must end with every
component ready, `status` must exit 0 with endpoints, and destroy must clean up a cluster that ran them.
Needs a Docker daemon; without one every test here SKIPS with the reason. Run with:
`.venv/bin/python -m pytest tests/containers/test_cluster_k3s.py -m containers` on a machine with Docker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from docker_support import require_docker

REPO = Path(__file__).resolve().parents[2]
# Inside the supported range (1.20–1.31); `latest` would be newer than obs supports.
K3S_IMAGE = "rancher/k3s:v1.30.6-k3s1"

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1200)]



@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_docker('test `obs apply --wait` against a k3s cluster whose pods really start')
    from testcontainers.community.k3s import K3SContainer

    with K3SContainer(image=K3S_IMAGE) as k3s:
        path = tmp_path_factory.mktemp("k3s") / "kubeconfig"
        path.write_text(k3s.config_yaml())
        yield path


def obs(kubeconfig: Path, spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*args, "--spec", str(spec), "--kubeconfig", str(kubeconfig)]
    argv += ["--alerts", str(REPO / "alerts"), "--dashboards", str(REPO / "dashboards")]
    return subprocess.run([sys.executable, "-m", "observability", *argv], capture_output=True, text=True, timeout=900)


def small_metrics_spec(directory: Path) -> tuple[Path, str, str]:
    """The example stack with the logging side off and small volumes: fits a one-node CI cluster."""
    suffix = uuid.uuid4().hex[:5]
    spec = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text())
    spec["name"], spec["cluster"]["namespace"] = f"k3s{suffix}", f"obs-k3s-{suffix}"
    spec["cluster"]["kube_version"] = "1.30"
    spec["logging"] = {"enabled": False}
    spec["alerting"] = {}  # the example's receivers mount a Secret (alert-receivers) this cluster does not have
    for component in ("prometheus", "grafana", "alertmanager"):
        spec["metrics"].setdefault(component, {})["storage"] = {"size": "1Gi"}
    for component in ("kafka_exporter", "elasticsearch_exporter"):
        spec["metrics"][component] = {"enabled": False}
    path = directory / "stack.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path, spec["name"], spec["cluster"]["namespace"]


def test_apply_waits_until_ready_then_status_is_healthy_and_destroy_cleans_up(kubeconfig: Path, tmp_path: Path) -> None:
    spec, instance, namespace = small_metrics_spec(tmp_path)

    applied = obs(kubeconfig, spec, "apply", "--wait", "--timeout", "10m")
    assert applied.returncode == 0, applied.stderr
    assert "ready:" in applied.stdout

    again = obs(kubeconfig, spec, "apply", "--no-wait")
    assert again.returncode == 0 and "no changes:" in again.stdout

    status = obs(kubeconfig, spec, "status", "--json")
    assert status.returncode == 0, status.stdout
    report = json.loads(status.stdout)
    assert report["healthy"] is True and report["missing"] == []
    prometheus = next(c for c in report["components"] if c["component"] == "prometheus")
    assert prometheus["ready"] == prometheus["desired"] >= 1
    assert any(e.endswith(":9090") for e in prometheus["endpoints"])

    destroyed = obs(kubeconfig, spec, "destroy", "--yes", "--delete-data")
    assert destroyed.returncode == 0, destroyed.stderr
    assert f"nothing of instance {instance} left" in destroyed.stdout

    from observability.apply.cluster.client import ObjectRef
    from observability.apply.kubernetes import connect

    client, _ = connect(str(kubeconfig))
    assert client.get(ObjectRef("v1", "Namespace", namespace)) is None
    selector = f"app.kubernetes.io/instance={instance}"
    for api, kind in (
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ):
        assert client.list(api, kind, label_selector=selector) == []
