"""Render layer (PURE): the Filebeat DaemonSet that ships every node's container logs to Kafka.

Filebeat runs as root because container log files on the node are root-owned (0640); it keeps no
capabilities, cannot escalate, and mounts the log directories read-only. Its registry (read offsets)
lives on the host under /var/lib/filebeat-data so a restarted pod resumes instead of re-shipping.
"""

from __future__ import annotations

from observability.render import filebeat as config
from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack

COMPONENT = "filebeat"
HOST_REGISTRY = "/var/lib/filebeat-data"
NOBODY = 65534


# The monitoring endpoint listens on localhost only, so the probes run inside the container.
_STATS_PROBE = ["curl", "-fsS", "-o", "/dev/null", f"http://localhost:{names.FILEBEAT_MONITORING_PORT}/"]


def _credential_env(stack: Stack) -> list[c.Obj]:
    kafka = stack.logging.kafka
    ref = kafka.external.credentials_secret if kafka.mode == "external" and kafka.external else None
    return c.credentials_env(ref, names.ENV_KAFKA_USERNAME, names.ENV_KAFKA_PASSWORD)


def _daemonset(stack: Stack, version: KubeVersion, filebeat_yml: str) -> c.Obj:
    fb = stack.logging.filebeat
    filebeat = {
        "name": "filebeat",
        "image": fb.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["-c", f"{config.CONFIG_DIR}/filebeat.yml", "-e", "--path.data", config.DATA_DIR],
        "env": [c.field_env("NODE_NAME", "spec.nodeName"), *_credential_env(stack)],
        "resources": c.resources(fb.resources),
        # The monitoring endpoint listens on localhost only, so the probes run inside the container.
        "livenessProbe": c.exec_probe(_STATS_PROBE, initial=30, period=30, failures=5),
        "readinessProbe": c.exec_probe(_STATS_PROBE, initial=5, period=10),
        "securityContext": {
            **c.container_security(),
            "runAsUser": 0,
            "runAsGroup": 0,
            "runAsNonRoot": False,
        },
        "volumeMounts": [
            {"name": "config", "mountPath": config.CONFIG_DIR, "readOnly": True},
            {"name": "data", "mountPath": config.DATA_DIR},
            {"name": "varlogcontainers", "mountPath": "/var/log/containers", "readOnly": True},
            {"name": "varlogpods", "mountPath": "/var/log/pods", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    exporter = {
        "name": "beat-exporter",
        "image": fb.exporter_image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            f"-beat.uri=http://localhost:{names.FILEBEAT_MONITORING_PORT}",
            f"-web.listen-address=:{names.FILEBEAT_EXPORTER_PORT}",
        ],
        "ports": [c.port(names.METRICS_PORT_NAME, names.FILEBEAT_EXPORTER_PORT)],
        "resources": c.small_resources("10m", "32Mi", "64Mi"),
        "livenessProbe": c.tcp_probe(names.METRICS_PORT_NAME, initial=10, period=30),
        "readinessProbe": c.tcp_probe(names.METRICS_PORT_NAME, initial=5, period=10),
        "securityContext": {**c.container_security(), "runAsUser": NOBODY, "runAsGroup": NOBODY, "runAsNonRoot": True},
    }
    volumes = [
        {"name": "config", "configMap": {"name": names.resource_name(stack, COMPONENT), "defaultMode": 0o640}},
        {"name": "data", "hostPath": {"path": HOST_REGISTRY, "type": "DirectoryOrCreate"}},
        {"name": "varlogcontainers", "hostPath": {"path": "/var/log/containers", "type": "Directory"}},
        {"name": "varlogpods", "hostPath": {"path": "/var/log/pods", "type": "Directory"}},
        c.empty_dir("tmp", "64Mi"),
    ]
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [filebeat, exporter],
        c.pod_security(0, 0, non_root=False),
        volumes=volumes,
        service_account=True,
        tolerations=w.TOLERATE_EVERYTHING,
    )
    annotations = {"checksum/config": c.checksum(filebeat_yml)}
    return w.daemonset(stack, COMPONENT, version, fb.image, spec, annotations=annotations)


def render_filebeat(stack: Stack, version: KubeVersion, files: dict[str, str]) -> list[c.Obj]:
    filebeat_yml = files["filebeat/filebeat.yml"]
    rules = [
        {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "list", "watch"]},
    ]
    return [
        c.service_account(stack, COMPONENT, version, api_access=True),
        *c.cluster_role(stack, COMPONENT, version, rules),
        c.config_map(stack, COMPONENT, version, names.resource_name(stack, COMPONENT), {"filebeat.yml": filebeat_yml}),
        _daemonset(stack, version, filebeat_yml),
    ]
