"""The local control plane (observability/local/kube_apiserver.py) with the real binaries of each version.

The shared `kube_cluster` fixture is checked for what the other cluster tests rely on (the version it claims,
a kubeconfig the official client accepts, RBAC, the controller-manager); separate short-lived clusters check
that stop() leaves no process behind and that a server failing at start is one clear error.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kapi_server import CLUSTER_PARTS, ClusterUnderTest

from observability.local.kube_apiserver import (
    ClusterStartError,
    ControlPlane,
    control_plane_of_part,
    start_local_cluster,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain `text` (e.g. a work directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if text in cmdline and "zombie" not in state:
            found.append(cmdline)
    return found


def test_the_cluster_is_the_version_it_claims_and_serves_rbac(kube_cluster: ClusterUnderTest) -> None:
    from kubernetes import client, config

    api = config.new_client_from_config(str(kube_cluster.kubeconfig))
    served = client.VersionApi(api).get_code()
    assert served.git_version == f"v{kube_cluster.local.version}"
    assert f"{served.major}.{served.minor}".rstrip("+") == str(kube_cluster.kube_version)
    roles = client.RbacAuthorizationV1Api(api).list_cluster_role(label_selector="kubernetes.io/bootstrapping")
    assert "cluster-admin" in {r.metadata.name for r in roles.items}
    # the controller-manager runs: the serviceaccount controller gave `default` its account
    accounts = client.CoreV1Api(api).list_namespaced_service_account("default")
    assert "default" in {a.metadata.name for a in accounts.items}


@pytest.mark.parametrize("cluster_id", sorted(CLUSTER_PARTS))
def test_stop_ends_every_process_it_started(cluster_id: str, part_path: Callable[..., Path], tmp_path: Path) -> None:
    part_path(CLUSTER_PARTS[cluster_id], "kube-apiserver")
    plane = control_plane_of_part(CLUSTER_PARTS[cluster_id])
    cluster = start_local_cluster(plane, tmp_path, controller_manager=True)
    try:
        assert cluster.get("/readyz").text.strip() == "ok"
        assert len(processes_mentioning(str(tmp_path))) == 3  # etcd, kube-apiserver, kube-controller-manager
    finally:
        cluster.stop()
    assert processes_mentioning(str(tmp_path)) == []
    cluster.stop()  # a second stop is harmless


def test_an_apiserver_failing_at_start_is_one_clear_error_and_etcd_is_stopped(tmp_path: Path) -> None:
    # A double of kube-apiserver for failure injection: exits at once with an error, as a bad flag would.
    double = tmp_path / "kube-apiserver-double"
    double.write_text("#!/bin/sh\necho 'Error: unknown flag: --made-up' >&2\nexit 1\n")
    double.chmod(double.stat().st_mode | stat.S_IXUSR)
    workdir = tmp_path / "cluster"
    with pytest.raises(ClusterStartError) as failed:
        start_local_cluster(ControlPlane("1.35.0", double), workdir, controller_manager=False, timeout=60)
    message = str(failed.value)
    assert "kube-apiserver exited with code 1" in message and "unknown flag: --made-up" in message
    assert str(workdir / "logs" / "kube-apiserver.log") in message
    assert processes_mentioning(str(workdir)) == [], "etcd was left running after the failed start"
    assert os.path.isdir(workdir / "etcd-data")
