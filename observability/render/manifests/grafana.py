"""Render layer (PURE): Grafana with provisioned datasources and dashboards.

Everything Grafana shows is provisioned from files (render/grafana.py and render/dashboards.py), so
its own database only holds users and preferences: a single replica keeps it on a volume; several
replicas share nothing and use scratch space (SQLite cannot be shared between pods).
"""

from __future__ import annotations

import re

from observability.render import grafana as provisioning
from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack

COMPONENT = "grafana"
GRAFANA_UID = 472  # the image's 'grafana' user
PROVISIONING_DIR = "/etc/grafana/provisioning"
DASHBOARDS_PREFIX = "grafana/dashboards/"


def dashboard_key(path: str) -> str:
    return re.sub(r"[^-._a-zA-Z0-9]", "_", path.replace("/", "__"))


def _credential_env(stack: Stack) -> list[c.Obj]:
    env: list[c.Obj] = []
    if stack.logging.enabled and stack.logging.elasticsearch.enabled:
        env += c.elasticsearch_credentials_env(
            stack, names.ENV_ELASTICSEARCH_USERNAME, names.ENV_ELASTICSEARCH_PASSWORD
        )
    prom = stack.metrics.prometheus
    ref = prom.external.credentials_secret if prom.mode == "external" and prom.external else None
    return env + c.credentials_env(ref, provisioning.ENV_PROMETHEUS_USERNAME, provisioning.ENV_PROMETHEUS_PASSWORD)


def render_grafana(stack: Stack, version: KubeVersion, files: dict[str, str]) -> list[c.Obj]:
    grafana = stack.metrics.grafana
    name = names.resource_name(stack, COMPONENT)
    admin = names.grafana_admin(stack)
    datasources = files["grafana/provisioning/datasources/datasources.yaml"]
    provider = files["grafana/provisioning/dashboards/dashboards.yaml"]
    dashboards = {
        dashboard_key(p[len(DASHBOARDS_PREFIX) :]): t for p, t in files.items() if p.startswith(DASHBOARDS_PREFIX)
    }
    persistent = grafana.replicas == 1
    env = [
        c.secret_env("GF_SECURITY_ADMIN_USER", admin.name, "admin-user"),
        c.secret_env("GF_SECURITY_ADMIN_PASSWORD", admin.name, "admin-password"),
        {"name": "GF_PATHS_PROVISIONING", "value": PROVISIONING_DIR},
        {"name": "GF_USERS_ALLOW_SIGN_UP", "value": "false"},
        {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
        {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
        {"name": "GF_ANALYTICS_CHECK_FOR_UPDATES", "value": "false"},
        {"name": "GF_LOG_MODE", "value": "console"},
        *_credential_env(stack),
    ]
    container = {
        "name": "grafana",
        "image": grafana.image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": [c.port("http", names.GRAFANA_PORT)],
        "resources": c.resources(grafana.resources),
        "readinessProbe": c.http_probe("/api/health", "http", initial=5, period=10),
        "livenessProbe": c.http_probe("/api/health", "http", initial=30, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/grafana"},
            {"name": "datasources", "mountPath": f"{PROVISIONING_DIR}/datasources", "readOnly": True},
            {"name": "dashboard-providers", "mountPath": f"{PROVISIONING_DIR}/dashboards", "readOnly": True},
            {"name": "dashboards", "mountPath": provisioning.DASHBOARDS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    data_volume: c.Obj = (
        {"name": "data", "persistentVolumeClaim": {"claimName": name}} if persistent else c.empty_dir("data", "1Gi")
    )
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(GRAFANA_UID, GRAFANA_UID, GRAFANA_UID),
        volumes=[
            data_volume,
            {"name": "datasources", "configMap": {"name": f"{name}-datasources"}},
            {"name": "dashboard-providers", "configMap": {"name": f"{name}-dashboard-providers"}},
            {"name": "dashboards", "configMap": {"name": f"{name}-dashboards"}},
            c.empty_dir("tmp", "64Mi"),
        ],
    )
    objects: list[c.Obj] = [
        c.config_map(stack, COMPONENT, version, f"{name}-datasources", {"datasources.yaml": datasources}),
        c.config_map(stack, COMPONENT, version, f"{name}-dashboard-providers", {"dashboards.yaml": provider}),
        c.config_map(stack, COMPONENT, version, f"{name}-dashboards", dashboards),
    ]
    if persistent:
        claim = c.volume_claim(stack, COMPONENT, name, grafana.storage)
        claim["metadata"] = c.meta(stack, COMPONENT, name)
        objects.append(c.obj("PersistentVolumeClaim", version, claim["metadata"], spec=claim["spec"]))
    annotations = {"checksum/config": c.checksum(datasources, provider, *(dashboards[k] for k in sorted(dashboards)))}
    objects += [
        c.service(stack, COMPONENT, version, [c.service_port("http", names.GRAFANA_PORT)]),
        # Recreate: a ReadWriteOnce volume cannot be attached to the old and the new pod at once.
        w.deployment(
            stack,
            COMPONENT,
            version,
            grafana.image,
            grafana.replicas,
            spec,
            annotations=annotations,
            recreate=persistent,
        ),
    ]
    return objects
