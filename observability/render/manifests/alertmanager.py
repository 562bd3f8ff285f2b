"""Render layer (PURE): Alertmanager (StatefulSet, clustered when replicas > 1).

alertmanager.yml lives in a Secret (it can name SMTP users and hosts); receiver credentials are never
in it: each Secret a receiver refers to is mounted under names.ALERTMANAGER_SECRETS_DIR and
alertmanager.yml points at the files (`*_file` keys), so rotating a credential needs no re-render.
"""

from __future__ import annotations

import base64

from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack
from observability.spec.model import SecretRef

COMPONENT = "alertmanager"
NOBODY = 65534
CLUSTER_PORT = 9094
CONFIG_DIR = "/etc/alertmanager/config"


def receiver_secret_refs(stack: Stack) -> list[SecretRef]:
    refs: list[SecretRef] = []
    for receiver in stack.alerting.receivers:
        if receiver.webhook:
            refs.append(receiver.webhook.url_secret)
        if receiver.slack:
            refs.append(receiver.slack.api_url_secret)
        if receiver.email and receiver.email.auth_password_secret:
            refs.append(receiver.email.auth_password_secret)
        if receiver.pagerduty:
            refs.append(receiver.pagerduty.routing_key_secret)
    return refs


def _secret_mounts(stack: Stack) -> tuple[list[c.Obj], list[c.Obj]]:
    """One read-only volume per referenced Secret, at the directory names.alertmanager_secret_path uses."""
    volumes, mounts = [], []
    for i, secret in enumerate(sorted({ref.name for ref in receiver_secret_refs(stack)})):
        volume = f"receiver-secret-{i}"
        volumes.append({"name": volume, "secret": {"secretName": secret, "defaultMode": 0o440}})
        directory = names.alertmanager_secret_path(SecretRef(name=secret, key="k")).rsplit("/", 1)[0]
        mounts.append({"name": volume, "mountPath": directory, "readOnly": True})
    return volumes, mounts


def _args(stack: Stack) -> list[str]:
    am = stack.metrics.alertmanager
    args = [
        f"--config.file={CONFIG_DIR}/alertmanager.yml",
        "--storage.path=/alertmanager",
        f"--data.retention={am.retention}",
        f"--web.listen-address=:{names.ALERTMANAGER_PORT}",
    ]
    if am.replicas == 1:
        return [*args, "--cluster.listen-address="]  # no gossip for a single replica
    args.append(f"--cluster.listen-address=0.0.0.0:{CLUSTER_PORT}")
    args += [f"--cluster.peer={names.pod_dns_name(stack, COMPONENT, i)}:{CLUSTER_PORT}" for i in range(am.replicas)]
    return args


def render_alertmanager(stack: Stack, version: KubeVersion, files: dict[str, str]) -> list[c.Obj]:
    am = stack.metrics.alertmanager
    config_text = files["alertmanager/alertmanager.yml"]
    name = names.resource_name(stack, COMPONENT)
    secret_volumes, secret_mounts = _secret_mounts(stack)
    ports = [c.port("http", names.ALERTMANAGER_PORT)]
    if am.replicas > 1:
        ports.append(c.port("cluster", CLUSTER_PORT))
    container = {
        "name": "alertmanager",
        "image": am.image,
        "imagePullPolicy": "IfNotPresent",
        "args": _args(stack),
        "ports": ports,
        "resources": c.resources(am.resources),
        "readinessProbe": c.http_probe("/-/ready", "http", initial=5, period=10),
        "livenessProbe": c.http_probe("/-/healthy", "http", initial=10, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "data", "mountPath": "/alertmanager"},
            *secret_mounts,
        ],
    }
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(NOBODY, NOBODY, NOBODY),
        volumes=[{"name": "config", "secret": {"secretName": name, "defaultMode": 0o440}}, *secret_volumes],
        affinity=w.spread(stack, COMPONENT),
    )
    claims = [c.volume_claim(stack, COMPONENT, "data", am.storage)]
    secret = c.obj(
        "Secret",
        version,
        c.meta(stack, COMPONENT, name),
        type="Opaque",
        data={"alertmanager.yml": base64.b64encode(config_text.encode()).decode()},
    )
    http = [c.service_port("http", names.ALERTMANAGER_PORT)]
    headless_ports = [*http, c.service_port("cluster", CLUSTER_PORT)] if am.replicas > 1 else http
    objects = [
        secret,
        c.headless_service(stack, COMPONENT, version, headless_ports),
        c.service(stack, COMPONENT, version, http),
        w.statefulset(
            stack,
            COMPONENT,
            version,
            am.image,
            am.replicas,
            spec,
            claims,
            annotations={"checksum/config": c.checksum(config_text)},
            parallel=True,
        ),
    ]
    if am.replicas > 1:
        objects.append(c.pod_disruption_budget(stack, COMPONENT, version))
    return objects
