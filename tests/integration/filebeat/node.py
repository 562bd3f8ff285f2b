"""Test helper: one Kubernetes node as Filebeat sees it — Pods bound to it in a real kube-apiserver, and their
container log files under a local root, written in the format of the runtime that ran them.

A Pod is created with `spec.nodeName` (what the scheduler's binding would set) and its status is written
through the status subresource, as the kubelet does: phase Running, the pod IP, and for its container the
`containerID` `<runtime>://<64 hex>` that add_kubernetes_metadata indexes pods by and that names the log file.
Without a kubelet nothing else changes them. The log file is `<root>/var/log/containers/<pod>_<namespace>_
<container>-<id>.log` (observability/local/container_logs.py): CRI for containerd, json-file for docker.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests

from observability.local.container_logs import KUBELET_LOG_DIR, ContainerLog, container_log_name
from observability.local.kube_apiserver import LocalCluster

Runtime = Literal["containerd", "docker"]


@dataclass
class PodContainer:
    """One running container of a Pod on the node, and its log file."""

    namespace: str
    pod: str
    container: str
    image: str
    runtime: Runtime
    labels: dict[str, str]
    container_id: str = field(default_factory=lambda: secrets.token_hex(32))
    log: ContainerLog | None = None

    @property
    def replicaset(self) -> str:
        return self.pod.rsplit("-", 1)[0]


class Node:
    """A node named `name` in `cluster` (registered once), its log directory under `root`."""

    def __init__(self, cluster: LocalCluster, name: str, root: Path) -> None:
        self.cluster = cluster
        self.name = name
        self.root = root
        self.log_dir = root / KUBELET_LOG_DIR.lstrip("/")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if cluster.get(f"/api/v1/nodes/{name}").status_code == 200:
            return
        self._call("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        })  # fmt: skip

    def _call(self, method: str, path: str, body: dict[str, Any], content_type: str = "application/json") -> Any:
        answer = requests.request(
            method, self.cluster.url + path, data=json.dumps(body), verify=str(self.cluster.ca_path), timeout=10,
            headers={"Authorization": f"Bearer {self.cluster.token}", "Content-Type": content_type},
        )  # fmt: skip
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def ensure_namespace(self, namespace: str) -> None:
        answer = self.cluster.get(f"/api/v1/namespaces/{namespace}")
        if answer.status_code == 404:
            self._call("POST", "/api/v1/namespaces",
                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})  # fmt: skip

    def run(self, pc: PodContainer, pod_ip: str) -> PodContainer:
        """Create the Pod bound to this node, report its container running, and create its log file."""
        self.ensure_namespace(pc.namespace)
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": pc.replicaset, "uid": str(uuid.uuid4()),
                 "controller": True, "blockOwnerDeletion": True}  # fmt: skip
        self._call("POST", f"/api/v1/namespaces/{pc.namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pc.pod, "namespace": pc.namespace, "labels": pc.labels, "ownerReferences": [owner]},
            "spec": {"nodeName": self.name, "containers": [{"name": pc.container, "image": pc.image}]},
        })  # fmt: skip
        status = {
            "phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
            "containerStatuses": [{
                "name": pc.container, "image": pc.image, "imageID": f"{pc.image.split(':')[0]}@sha256:{'0' * 64}",
                "containerID": f"{pc.runtime}://{pc.container_id}", "ready": True, "started": True,
                "restartCount": 0, "state": {"running": {"startedAt": "2026-11-23T04:37:00Z"}},
            }],
        }  # fmt: skip
        self._call("PATCH", f"/api/v1/namespaces/{pc.namespace}/pods/{pc.pod}/status", {"status": status},
                   "application/merge-patch+json")  # fmt: skip
        path = self.log_dir / container_log_name(pc.pod, pc.namespace, pc.container, pc.container_id)
        pc.log = ContainerLog(path, "cri" if pc.runtime == "containerd" else "docker")
        return pc
