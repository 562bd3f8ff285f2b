"""Test helper: real local Kubernetes control planes (etcd + kube-apiserver + kube-controller-manager, no nodes).

The processes are started by observability/local/kube_apiserver.py from the real parts built by `make tools`:
tools/kube-apiserver-1.20 (v1.20.2, Debian's source package) and tools/kube-apiserver (the current release,
Go modules). The session fixture `kube_cluster` (tests/integration/conftest.py) runs one cluster per version
per session; a test that takes it runs once on each version. Not built: under CI=true the part is built or
the test fails; locally the test skips naming `make tools PARTS=<part>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from observability.local import parts
from observability.local.kube_apiserver import LocalCluster, control_plane_of_part, running_local_cluster
from observability.render.kube import KubeVersion, parse_kube_version

REPO = Path(__file__).resolve().parents[2]
# Test id → part; the ids name the minor version so a failure says which server refused.
CLUSTER_PARTS = {f"k8s-{'.'.join(p.version.split('.')[:2])}": p.name for p in parts.all_parts()
                 if p.name.startswith("kube-apiserver")}  # fmt: skip


@dataclass(frozen=True)
class ClusterUnderTest:
    """One running control plane as the tests see it."""

    id: str
    local: LocalCluster

    @property
    def kubeconfig(self) -> Path:
        return self.local.kubeconfig

    @property
    def kube_version(self) -> KubeVersion:
        """The version the renderer targets for this server (what `obs apply` derives from /version)."""
        return parse_kube_version(self.local.version)


@contextmanager
def running_test_cluster(
    cluster_id: str, workdir: Path, part_path: Callable[[str, str | None], Path]
) -> Iterator[ClusterUnderTest]:
    """Start the cluster `cluster_id` (a key of CLUSTER_PARTS) with its controller-manager in `workdir`.

    `part_path` is the conftest fixture: it skips (locally) or builds-or-fails (CI=true) when the part is missing.
    """
    name = CLUSTER_PARTS[cluster_id]
    part_path(name, "kube-apiserver")
    with running_local_cluster(control_plane_of_part(name), workdir, controller_manager=True) as local:
        print(f"{cluster_id}: Kubernetes {local.version} at {local.url}, ready in {local.started_in_s:.1f} s")
        yield ClusterUnderTest(cluster_id, local)
