"""Render layer (PURE): building blocks every component's manifests share.

Labels, security contexts, resources, probes, Services, PodDisruptionBudgets and volume claims are
built here once, so every component gets the same production defaults and a reviewer reads them once.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from observability.render import names
from observability.render.kube import KubeVersion, api_version
from observability.spec import Stack
from observability.spec.model import Resources, SecretRef, Storage

Obj = dict[str, Any]

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def image_version(image: str) -> str | None:
    """The tag of an image reference as an app.kubernetes.io/version label value (None for digests)."""
    if "@" in image:
        return None
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return tag if _LABEL_VALUE.match(tag) else None


def meta(
    stack: Stack,
    component: str,
    name: str | None = None,
    *,
    image: str | None = None,
    namespaced: bool = True,
    annotations: dict[str, str] | None = None,
) -> Obj:
    out: Obj = {"name": name or names.resource_name(stack, component)}
    if namespaced:
        out["namespace"] = stack.cluster.namespace
    out["labels"] = names.labels(stack, component, image_version(image) if image else None)
    if annotations:
        out["annotations"] = annotations
    return out


def obj(kind: str, version: KubeVersion, metadata: Obj, **body: Any) -> Obj:
    return {"apiVersion": api_version(kind, version), "kind": kind, "metadata": metadata, **body}


def checksum(*texts: str) -> str:
    """Pod-template annotation value: config changes roll the pods that read the config."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def pod_security(
    user: int | None, group: int | None = None, fs_group: int | None = None, *, non_root: bool = True
) -> Obj:
    """Pod-level securityContext; seccomp RuntimeDefault everywhere (the `restricted` Pod Security level)."""
    out: Obj = {"runAsNonRoot": non_root}
    if user is not None:
        out["runAsUser"] = user
    if group is not None:
        out["runAsGroup"] = group
    if fs_group is not None:
        out["fsGroup"] = fs_group
    out["seccompProfile"] = {"type": "RuntimeDefault"}
    return out


def container_security(*, read_only: bool = True, add_capabilities: list[str] | None = None) -> Obj:
    """No privilege escalation, every capability dropped (some added back only where a tool needs it)."""
    caps: Obj = {"drop": ["ALL"]}
    if add_capabilities:
        caps["add"] = add_capabilities
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only,
        "capabilities": caps,
    }


def resources(res: Resources) -> Obj:
    """Requests and limits; a missing memory limit falls back to the request so a leak cannot starve the node.

    A CPU limit is only set when the spec asks for one: CPU limits throttle latency-sensitive JVMs and
    Go runtimes without protecting neighbours (requests already guarantee their share).
    """
    requests = {k: v for k, v in (("cpu", res.requests.cpu), ("memory", res.requests.memory)) if v}
    limits = {k: v for k, v in (("cpu", res.limits.cpu), ("memory", res.limits.memory)) if v}
    if "memory" not in limits:
        limits["memory"] = requests.get("memory", "256Mi")
    if "memory" not in requests:
        requests["memory"] = limits["memory"]
    if "cpu" not in requests:
        requests["cpu"] = limits.get("cpu", "100m")
    return {"requests": dict(sorted(requests.items())), "limits": dict(sorted(limits.items()))}


def small_resources(cpu: str = "10m", memory: str = "32Mi", memory_limit: str = "64Mi") -> Obj:
    """For init containers and sidecars that the spec does not size."""
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


_MEMORY_UNITS = {
    "": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
}  # fmt: skip


def memory_mib(quantity: str | None, default: int) -> int:
    """MiB in a Kubernetes memory quantity (used to size JVM heaps); unusual forms fall back to default."""
    if not quantity:
        return default
    match = re.fullmatch(r"([0-9.]+)([kMGT]i?|)", quantity)
    if not match:
        return default
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)] // 1024**2)


def http_probe(
    path: str, port: int | str, *, initial: int = 10, period: int = 10, timeout: int = 5, failures: int = 3
) -> Obj:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def tcp_probe(port: int | str, *, initial: int = 10, period: int = 10, timeout: int = 5, failures: int = 3) -> Obj:
    return {
        "tcpSocket": {"port": port},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def exec_probe(command: list[str], *, initial: int = 10, period: int = 10, timeout: int = 5, failures: int = 3) -> Obj:
    return {
        "exec": {"command": command},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def port(name: str, number: int) -> Obj:
    return {"name": name, "containerPort": number, "protocol": "TCP"}


def service_port(name: str, number: int) -> Obj:
    return {"name": name, "port": number, "targetPort": name, "protocol": "TCP"}


def service(stack: Stack, component: str, version: KubeVersion, ports: list[Obj], *, name: str | None = None) -> Obj:
    return obj(
        "Service",
        version,
        meta(stack, component, name),
        spec={"type": "ClusterIP", "selector": names.selector_labels(stack, component), "ports": ports},
    )


def headless_service(stack: Stack, component: str, version: KubeVersion, ports: list[Obj]) -> Obj:
    """Governing Service of a StatefulSet; publishes not-ready pods so peers can find each other at bootstrap."""
    return obj(
        "Service",
        version,
        meta(stack, component, names.headless_service_name(stack, component)),
        spec={
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": names.selector_labels(stack, component),
            "ports": ports,
        },
    )


def pod_disruption_budget(stack: Stack, component: str, version: KubeVersion) -> Obj:
    """At most one pod of the component evicted at a time (drains wait instead of breaking quorum).

    With a single replica this still allows the eviction: a budget of zero would block node drains forever.
    """
    return obj(
        "PodDisruptionBudget",
        version,
        meta(stack, component),
        spec={
            "maxUnavailable": 1,
            "selector": {"matchLabels": names.selector_labels(stack, component)},
        },
    )


def volume_claim(stack: Stack, component: str, claim: str, storage: Storage) -> Obj:
    """A volumeClaimTemplate (or standalone claim body) honouring the component's then the cluster's class."""
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage.size}}}
    storage_class = storage.storage_class or stack.cluster.storage_class
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": claim, "labels": names.labels(stack, component)}, "spec": spec}


def config_map(stack: Stack, component: str, version: KubeVersion, name: str, data: dict[str, str]) -> Obj:
    return obj("ConfigMap", version, meta(stack, component, name), data=dict(sorted(data.items())))


def service_account(stack: Stack, component: str, version: KubeVersion, *, api_access: bool = False) -> Obj:
    """A ServiceAccount per component; the token is only mounted where the component talks to the API."""
    return obj("ServiceAccount", version, meta(stack, component), automountServiceAccountToken=api_access)


def cluster_role(stack: Stack, component: str, version: KubeVersion, rules: list[Obj]) -> list[Obj]:
    """ClusterRole + ClusterRoleBinding to the component's ServiceAccount."""
    name = names.cluster_resource_name(stack, component)
    role = obj("ClusterRole", version, meta(stack, component, name, namespaced=False), rules=rules)
    binding = obj(
        "ClusterRoleBinding",
        version,
        meta(stack, component, name, namespaced=False),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        subjects=[
            {
                "kind": "ServiceAccount",
                "name": names.resource_name(stack, component),
                "namespace": stack.cluster.namespace,
            }
        ],
    )
    return [role, binding]


def secret_env(env_name: str, secret: str, key: str, *, optional: bool = False) -> Obj:
    ref: Obj = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": env_name, "valueFrom": {"secretKeyRef": ref}}


def credentials_env(ref: SecretRef | None, user_env: str, password_env: str) -> list[Obj]:
    """Username/password variables from an external service's credentials Secret; none without one."""
    if ref is None:
        return []
    user_key, password_key = names.credential_keys(ref)
    return [secret_env(user_env, ref.name, user_key), secret_env(password_env, ref.name, password_key)]


def elasticsearch_credentials_env(stack: Stack, user_env: str, password_env: str) -> list[Obj]:
    """The generated `elastic` user for a managed Elasticsearch, else the external credentials Secret."""
    es = stack.logging.elasticsearch
    if es.mode == "managed":
        creds = names.elasticsearch_credentials(stack)
        return [secret_env(user_env, creds.name, "username"), secret_env(password_env, creds.name, "password")]
    return credentials_env(es.external.credentials_secret if es.external else None, user_env, password_env)


def field_env(env_name: str, field_path: str) -> Obj:
    return {"name": env_name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": field_path}}}


def empty_dir(name: str, limit: str = "64Mi") -> Obj:
    return {"name": name, "emptyDir": {"sizeLimit": limit}}


def network_policy(stack: Stack, component: str, version: KubeVersion, rules: list[tuple[list[str], list[int]]]) -> Obj:
    """Ingress to `component` only from the listed components of this instance, each on the listed ports.

    Port-forwarding (how `obs` itself reaches services) enters the pod's own network namespace and is not
    subject to NetworkPolicy.
    """
    ingress = [
        {
            "from": [{"podSelector": {"matchLabels": names.selector_labels(stack, peer)}} for peer in sorted(peers)],
            "ports": [{"protocol": "TCP", "port": p} for p in ports],
        }
        for peers, ports in rules
        if peers
    ]
    return obj(
        "NetworkPolicy",
        version,
        meta(stack, component, f"{names.resource_name(stack, component)}-ingress"),
        spec={
            "podSelector": {"matchLabels": names.selector_labels(stack, component)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    )
