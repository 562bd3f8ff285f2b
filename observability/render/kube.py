"""Render layer (PURE): Kubernetes target versions and the API versions each one serves.

Like Helm's Capabilities: the renderer asks `api_version(kind, version)` instead of hard-coding
apiVersion strings, so 1.20 clusters get policy/v1beta1 PodDisruptionBudgets and 1.21+ get policy/v1.
"""

from __future__ import annotations

from dataclasses import dataclass

from observability.errors import RenderError

MIN_SUPPORTED = (1, 20)
# The newest release the cluster tests run against (tools/kube-apiserver); raise it with that part.
MAX_SUPPORTED = (1, 35)
DEFAULT_KUBE_VERSION = "1.31"


@dataclass(frozen=True, order=True)
class KubeVersion:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def parse_kube_version(text: str) -> KubeVersion:
    """'1.29', 'v1.29.3' or '1.29+' → KubeVersion; outside MIN_SUPPORTED–MAX_SUPPORTED is an error naming the range."""
    cleaned = text.strip().lstrip("v").rstrip("+")
    parts = cleaned.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1].rstrip("+"))
    except (IndexError, ValueError):
        raise RenderError(f"Kubernetes version {text!r} is not of the form 1.29") from None
    if not MIN_SUPPORTED <= (major, minor) <= MAX_SUPPORTED:
        lo, hi = ".".join(map(str, MIN_SUPPORTED)), ".".join(map(str, MAX_SUPPORTED))
        raise RenderError(f"Kubernetes {major}.{minor} is not supported; supported versions are {lo} to {hi}")
    return KubeVersion(major, minor)


# kind → [(first minor version serving it, apiVersion)], newest last.
_API_VERSIONS: dict[str, list[tuple[int, str]]] = {
    "PodDisruptionBudget": [(0, "policy/v1beta1"), (21, "policy/v1")],
    "CronJob": [(0, "batch/v1beta1"), (21, "batch/v1")],
    "HorizontalPodAutoscaler": [(0, "autoscaling/v2beta2"), (23, "autoscaling/v2")],
    "Namespace": [(0, "v1")],
    "ServiceAccount": [(0, "v1")],
    "Secret": [(0, "v1")],
    "ConfigMap": [(0, "v1")],
    "Service": [(0, "v1")],
    "PersistentVolumeClaim": [(0, "v1")],
    "Deployment": [(0, "apps/v1")],
    "StatefulSet": [(0, "apps/v1")],
    "DaemonSet": [(0, "apps/v1")],
    "Job": [(0, "batch/v1")],
    "ClusterRole": [(0, "rbac.authorization.k8s.io/v1")],
    "ClusterRoleBinding": [(0, "rbac.authorization.k8s.io/v1")],
    "Role": [(0, "rbac.authorization.k8s.io/v1")],
    "RoleBinding": [(0, "rbac.authorization.k8s.io/v1")],
    "NetworkPolicy": [(0, "networking.k8s.io/v1")],
    "Ingress": [(0, "networking.k8s.io/v1")],
}


def api_version(kind: str, version: KubeVersion) -> str:
    """The apiVersion to use for `kind` on a cluster of `version`."""
    try:
        choices = _API_VERSIONS[kind]
    except KeyError:
        raise RenderError(f"no API version known for kind {kind!r}") from None
    return [api for since, api in choices if version.minor >= since][-1]
