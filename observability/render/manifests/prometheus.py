"""Render layer (PURE): Prometheus (StatefulSet with RBAC for Kubernetes service discovery) and its rules."""

from __future__ import annotations

import re

from observability.render import names
from observability.render import prometheus as config
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack

COMPONENT = "prometheus"
NOBODY = 65534
RULES_PREFIX = "prometheus/rules/"


def config_map_key(path: str) -> str:
    """A rule file's relative path as a ConfigMap key (keys cannot contain '/')."""
    return re.sub(r"[^-._a-zA-Z0-9]", "_", path.replace("/", "__"))


def rule_files(files: dict[str, str]) -> dict[str, str]:
    return {config_map_key(p[len(RULES_PREFIX) :]): text for p, text in files.items() if p.startswith(RULES_PREFIX)}


def _rbac(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    rules = [
        {
            "apiGroups": [""],
            "resources": ["nodes", "nodes/metrics", "nodes/proxy", "services", "endpoints", "pods"],
            "verbs": ["get", "list", "watch"],
        },
        {"nonResourceURLs": ["/metrics", "/metrics/cadvisor"], "verbs": ["get"]},
    ]
    return [
        c.service_account(stack, COMPONENT, version, api_access=True),
        *c.cluster_role(stack, COMPONENT, version, rules),
    ]


def render_prometheus(stack: Stack, version: KubeVersion, files: dict[str, str]) -> list[c.Obj]:
    prom = stack.metrics.prometheus
    prometheus_yml = files["prometheus/prometheus.yml"]
    rules = rule_files(files)
    rules_name = f"{names.resource_name(stack, COMPONENT)}-rules"
    container = {
        "name": "prometheus",
        "image": prom.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            f"--config.file={config.CONFIG_DIR}/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            f"--storage.tsdb.retention.time={prom.retention}",
            f"--web.listen-address=:{names.PROMETHEUS_PORT}",
            # /-/reload lets `obs alerts sync` load new rules without a restart.
            "--web.enable-lifecycle",
        ],
        "ports": [c.port("http", names.PROMETHEUS_PORT)],
        "resources": c.resources(prom.resources),
        "startupProbe": c.http_probe("/-/ready", "http", initial=10, period=10, failures=60),
        "readinessProbe": c.http_probe("/-/ready", "http", initial=0, period=10),
        "livenessProbe": c.http_probe("/-/healthy", "http", initial=0, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": config.CONFIG_DIR, "readOnly": True},
            {"name": "rules", "mountPath": config.RULES_DIR, "readOnly": True},
            {"name": "data", "mountPath": "/prometheus"},
        ],
    }
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(NOBODY, NOBODY, NOBODY),
        volumes=[
            {"name": "config", "configMap": {"name": names.resource_name(stack, COMPONENT)}},
            {"name": "rules", "configMap": {"name": rules_name}},
        ],
        service_account=True,
        grace=300,  # flushing the head block of a large TSDB takes a while
        affinity=w.spread(stack, COMPONENT),
    )
    claims = [c.volume_claim(stack, COMPONENT, "data", prom.storage)]
    annotations = {"checksum/config": c.checksum(prometheus_yml, *(rules[k] for k in sorted(rules)))}
    http = [c.service_port("http", names.PROMETHEUS_PORT)]
    return [
        *_rbac(stack, version),
        c.config_map(
            stack, COMPONENT, version, names.resource_name(stack, COMPONENT), {"prometheus.yml": prometheus_yml}
        ),
        c.config_map(stack, COMPONENT, version, rules_name, rules),
        c.headless_service(stack, COMPONENT, version, http),
        c.service(stack, COMPONENT, version, http),
        w.statefulset(stack, COMPONENT, version, prom.image, prom.replicas, spec, claims, annotations=annotations),
    ]
