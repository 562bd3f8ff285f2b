"""Render layer (PURE): the log processor Deployment (Kafka → parse/enrich → Elasticsearch).

processor.yaml (rendered by render/processor.py) is mounted from a ConfigMap; credentials arrive as
environment variables from Secrets, under the names render/processor.py documents.
"""

from __future__ import annotations

from observability.render import names
from observability.render import processor as proc_config
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack

COMPONENT = "processor"
# Our own image runs as an arbitrary non-root uid; 10001 keeps clear of system and distro users.
PROCESSOR_UID = 10001


def _credential_env(stack: Stack) -> list[c.Obj]:
    env = c.elasticsearch_credentials_env(
        stack, proc_config.ENV_ELASTICSEARCH_USERNAME, proc_config.ENV_ELASTICSEARCH_PASSWORD
    )
    kafka = stack.logging.kafka
    ref = kafka.external.credentials_secret if kafka.mode == "external" and kafka.external else None
    return env + c.credentials_env(ref, proc_config.ENV_KAFKA_USERNAME, proc_config.ENV_KAFKA_PASSWORD)


def render_processor(stack: Stack, version: KubeVersion, files: dict[str, str]) -> list[c.Obj]:
    proc = stack.logging.processor
    config_text = files["processor/processor.yaml"]
    config_dir, _, config_file = names.PROCESSOR_CONFIG_PATH.rpartition("/")
    name = names.resource_name(stack, COMPONENT)
    container = {
        "name": "processor",
        "image": proc.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["obs", "process", "--config", names.PROCESSOR_CONFIG_PATH],
        "env": _credential_env(stack),
        "ports": [c.port(names.METRICS_PORT_NAME, proc.metrics_port)],
        "resources": c.resources(proc.resources),
        # /readyz: in the consumer group with partitions assigned and the sink answering; /healthz: the main
        # loop turned within the last two minutes (a wedged loop is restarted, a slow Elasticsearch is not).
        "readinessProbe": c.http_probe("/readyz", names.METRICS_PORT_NAME, initial=5, period=10),
        "livenessProbe": c.http_probe("/healthz", names.METRICS_PORT_NAME, initial=30, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": config_dir, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(PROCESSOR_UID, PROCESSOR_UID),
        volumes=[
            {"name": "config", "configMap": {"name": name, "items": [{"key": config_file, "path": config_file}]}},
            c.empty_dir("tmp", "64Mi"),
        ],
        # Enough time to flush the in-flight batch and commit offsets after SIGTERM.
        grace=60,
        affinity=w.spread(stack, COMPONENT),
    )
    return [
        c.config_map(stack, COMPONENT, version, name, {config_file: config_text}),
        c.service(stack, COMPONENT, version, [c.service_port(names.METRICS_PORT_NAME, proc.metrics_port)]),
        w.deployment(
            stack,
            COMPONENT,
            version,
            proc.image,
            proc.replicas,
            spec,
            annotations={"checksum/config": c.checksum(config_text)},
        ),
        c.pod_disruption_budget(stack, COMPONENT, version),
    ]
