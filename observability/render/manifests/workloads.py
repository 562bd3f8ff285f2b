"""Render layer (PURE): pod specs and the workload objects (StatefulSet, Deployment, DaemonSet) around them.

One place for the production defaults every workload shares: selectors from names.selector_labels,
no service links, the ServiceAccount token only where the API is used, soft spreading across nodes.
"""

from __future__ import annotations

from typing import Any

from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests.common import Obj, image_version, meta, obj
from observability.spec import Stack


def pod_template(
    stack: Stack,
    component: str,
    image: str,
    spec: Obj,
    *,
    annotations: dict[str, str] | None = None,
) -> Obj:
    metadata: Obj = {"labels": names.labels(stack, component, image_version(image))}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": spec}


def spread(stack: Stack, component: str) -> Obj:
    """Prefer spreading replicas across nodes (soft, so small clusters still schedule)."""
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": names.selector_labels(stack, component)},
                    },
                }
            ]
        }
    }


def statefulset(
    stack: Stack,
    component: str,
    version: KubeVersion,
    image: str,
    replicas: int,
    pod_spec: Obj,
    claims: list[Obj],
    *,
    annotations: dict[str, str] | None = None,
    parallel: bool = False,
) -> Obj:
    spec: Obj = {
        "serviceName": names.headless_service_name(stack, component),
        "replicas": replicas,
        "podManagementPolicy": "Parallel" if parallel else "OrderedReady",
        "selector": {"matchLabels": names.selector_labels(stack, component)},
        "updateStrategy": {"type": "RollingUpdate"},
        "template": pod_template(stack, component, image, pod_spec, annotations=annotations),
    }
    if claims:
        spec["volumeClaimTemplates"] = claims
    return obj("StatefulSet", version, meta(stack, component, image=image), spec=spec)


def deployment(
    stack: Stack,
    component: str,
    version: KubeVersion,
    image: str,
    replicas: int,
    pod_spec: Obj,
    *,
    annotations: dict[str, str] | None = None,
    recreate: bool = False,
) -> Obj:
    strategy: Obj = (
        {"type": "Recreate"}
        if recreate
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    spec: Obj = {
        "replicas": replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": names.selector_labels(stack, component)},
        "strategy": strategy,
        "template": pod_template(stack, component, image, pod_spec, annotations=annotations),
    }
    return obj("Deployment", version, meta(stack, component, image=image), spec=spec)


def daemonset(
    stack: Stack,
    component: str,
    version: KubeVersion,
    image: str,
    pod_spec: Obj,
    *,
    annotations: dict[str, str] | None = None,
) -> Obj:
    spec: Obj = {
        "selector": {"matchLabels": names.selector_labels(stack, component)},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": pod_template(stack, component, image, pod_spec, annotations=annotations),
    }
    return obj("DaemonSet", version, meta(stack, component, image=image), spec=spec)


# Node agents must run everywhere, including tainted control-plane and dedicated nodes.
TOLERATE_EVERYTHING = [{"operator": "Exists"}]


def pod_spec(
    stack: Stack,
    component: str,
    containers: list[Obj],
    security: Obj,
    *,
    volumes: list[Obj] | None = None,
    init_containers: list[Obj] | None = None,
    service_account: bool = False,
    grace: int = 30,
    **extra: Any,
) -> Obj:
    spec: Obj = {}
    if service_account:
        spec["serviceAccountName"] = names.resource_name(stack, component)
        spec["automountServiceAccountToken"] = True
    else:
        spec["automountServiceAccountToken"] = False
    # Service links would inject e.g. KAFKA_* variables that images read as configuration.
    spec["enableServiceLinks"] = False
    spec["securityContext"] = security
    spec["terminationGracePeriodSeconds"] = grace
    if init_containers:
        spec["initContainers"] = init_containers
    spec["containers"] = containers
    if volumes:
        spec["volumes"] = volumes
    spec.update(extra)
    return spec
