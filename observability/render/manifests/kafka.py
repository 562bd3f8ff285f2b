"""Render layer (PURE): Kafka in KRaft mode (combined broker+controller nodes) with the official image.

Every pod is both broker and controller; with N replicas all N vote in the controller quorum, so a
3-node cluster tolerates one node down. Node ids come from the StatefulSet ordinal, which is why the
container starts through a one-line shell wrapper (the image reads KAFKA_NODE_ID from the environment,
and the pod-index label only exists from Kubernetes 1.28).
"""

from __future__ import annotations

import base64
import uuid

from observability.render import names
from observability.render.kube import KubeVersion
from observability.render.manifests import common as c
from observability.render.manifests import workloads as w
from observability.spec import Stack
from observability.spec.model import duration_seconds

COMPONENT = "kafka"
TOPICS_COMPONENT = "kafka-topics"
DATA_DIR = "/var/lib/kafka/data"
# The official image runs as 'appuser' (uid 1000); volumes are made group-writable for it via fsGroup.
KAFKA_UID = 1000
# Kafka's own default message.max.bytes; raised when Filebeat may send larger messages.
DEFAULT_MESSAGE_MAX_BYTES = 1_048_588


def cluster_id(stack: Stack) -> str:
    """KRaft cluster id: a base64url UUID, stable per namespace+instance so re-renders never reformat storage."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"observability/{stack.cluster.namespace}/{stack.name}/kafka").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def quorum_voters(stack: Stack) -> str:
    return ",".join(
        f"{i}@{names.pod_dns_name(stack, COMPONENT, i)}:{names.KAFKA_CONTROLLER_PORT}"
        for i in range(stack.logging.kafka.replicas)
    )


def clients(stack: Stack) -> list[str]:
    """Components that may connect to the brokers (the NetworkPolicy allow-list)."""
    out = [TOPICS_COMPONENT]
    if stack.logging.filebeat.enabled:
        out.append("filebeat")
    if stack.logging.processor.enabled:
        out.append("processor")
    if stack.metrics.enabled and stack.metrics.kafka_exporter.enabled:
        out.append("kafka-exporter")
    return out


def _env(stack: Stack) -> list[c.Obj]:
    kafka = stack.logging.kafka
    headless = names.headless_service_name(stack, COMPONENT)
    ns = stack.cluster.namespace
    heap = max(256, c.memory_mib(kafka.resources.limits.memory or kafka.resources.requests.memory, 1024) // 2)
    message_max = max(DEFAULT_MESSAGE_MAX_BYTES, stack.logging.filebeat.max_message_bytes + 1024)
    routed = stack.logging.filebeat.enabled and stack.logging.filebeat.topic_routing != "none"
    settings = {
        "CLUSTER_ID": cluster_id(stack),
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:{names.KAFKA_PORT},CONTROLLER://:{names.KAFKA_CONTROLLER_PORT}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://$(POD_NAME).{headless}.{ns}.svc:{names.KAFKA_PORT}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": quorum_voters(stack),
        # A subdirectory: the volume root may hold lost+found, which Kafka would take for a partition.
        "KAFKA_LOG_DIRS": f"{DATA_DIR}/logs",
        "KAFKA_NUM_PARTITIONS": str(kafka.partitions),
        "KAFKA_DEFAULT_REPLICATION_FACTOR": str(min(kafka.replication, kafka.replicas)),
        "KAFKA_MIN_INSYNC_REPLICAS": str(min(2, kafka.replication, kafka.replicas)),
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": str(min(3, kafka.replicas)),
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": str(min(3, kafka.replicas)),
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(min(2, kafka.replicas)),
        "KAFKA_LOG_RETENTION_MS": str(int(duration_seconds(kafka.retention) * 1000)),
        "KAFKA_MESSAGE_MAX_BYTES": str(message_max),
        # Topic routing by namespace/app creates topics on first use; otherwise topics come from the Job only.
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true" if routed else "false",
        "KAFKA_HEAP_OPTS": f"-Xms{heap}m -Xmx{heap}m",
        "LOG_DIR": "/opt/kafka/logs",
    }
    return [c.field_env("POD_NAME", "metadata.name"), *({"name": k, "value": v} for k, v in settings.items())]


def _statefulset(stack: Stack, version: KubeVersion) -> c.Obj:
    kafka = stack.logging.kafka
    container = {
        "name": "kafka",
        "image": kafka.image,
        "imagePullPolicy": "IfNotPresent",
        # The node id is the pod ordinal: obs-kafka-2 → 2.
        "command": ["/bin/bash", "-c", 'export KAFKA_NODE_ID="${HOSTNAME##*-}"; exec /etc/kafka/docker/run'],
        "env": _env(stack),
        "ports": [
            c.port("kafka", names.KAFKA_PORT),
            c.port("controller", names.KAFKA_CONTROLLER_PORT),
        ],
        "resources": c.resources(kafka.resources),
        "startupProbe": c.tcp_probe("kafka", initial=10, period=10, failures=30),
        "readinessProbe": c.tcp_probe("kafka", initial=0, period=10),
        "livenessProbe": c.tcp_probe("controller", initial=0, period=20, failures=6),
        "securityContext": c.container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            # The image renders server.properties into /opt/kafka/config at start: writable scratch space
            # instead of a writable root filesystem.
            {"name": "config", "mountPath": "/opt/kafka/config"},
            {"name": "logs", "mountPath": "/opt/kafka/logs"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    spec = w.pod_spec(
        stack,
        COMPONENT,
        [container],
        c.pod_security(KAFKA_UID, KAFKA_UID, KAFKA_UID),
        volumes=[c.empty_dir("config", "16Mi"), c.empty_dir("logs", "1Gi"), c.empty_dir("tmp", "256Mi")],
        grace=120,
        affinity=w.spread(stack, COMPONENT),
    )
    claims = [c.volume_claim(stack, COMPONENT, "data", kafka.storage)]
    return w.statefulset(stack, COMPONENT, version, kafka.image, kafka.replicas, spec, claims, parallel=True)


def _topics_job(stack: Stack, version: KubeVersion) -> c.Obj:
    kafka = stack.logging.kafka
    bootstrap = ",".join(names.kafka_bootstrap_servers(stack))
    retention_ms = int(duration_seconds(kafka.retention) * 1000)
    lines = [
        "set -eu",
        f'B="{bootstrap}"',
        'until /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$B" --list >/dev/null; do',
        '  echo "waiting for Kafka at $B"; sleep 5',
        "done",
    ]
    for topic in (kafka.topics.logs, kafka.topics.dead_letter):
        lines.append(
            f'/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$B" --create --if-not-exists'
            f" --topic {topic.name} --partitions {kafka.topic_partitions(topic)}"
            f" --replication-factor {kafka.topic_replication(topic)} --config retention.ms={retention_ms}"
        )
        # --if-not-exists leaves an existing topic alone: keep its retention in step with the spec.
        lines.append(
            f'/opt/kafka/bin/kafka-configs.sh --bootstrap-server "$B" --alter --entity-type topics'
            f" --entity-name {topic.name} --add-config retention.ms={retention_ms}"
        )
    script = "\n".join(lines) + "\n"
    container = {
        "name": "create-topics",
        "image": kafka.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", script],
        "env": [{"name": "LOG_DIR", "value": "/tmp/logs"}, {"name": "KAFKA_HEAP_OPTS", "value": "-Xmx256m"}],
        "resources": c.small_resources("50m", "384Mi", "512Mi"),
        "securityContext": c.container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    spec = w.pod_spec(
        stack,
        TOPICS_COMPONENT,
        [container],
        c.pod_security(KAFKA_UID, KAFKA_UID),
        volumes=[c.empty_dir("tmp", "64Mi")],
        restartPolicy="OnFailure",
    )
    # Job templates are immutable: the name carries a hash of the script, so a changed spec is a new Job.
    name = f"{names.resource_name(stack, TOPICS_COMPONENT)}-{c.checksum(script)[:8]}"
    job_spec: c.Obj = {
        "backoffLimit": 10,
        "template": w.pod_template(stack, TOPICS_COMPONENT, kafka.image, spec),
    }
    if version.minor >= 21:  # ttlSecondsAfterFinished is beta (on by default) from 1.21
        job_spec["ttlSecondsAfterFinished"] = 86400
    return c.obj("Job", version, c.meta(stack, TOPICS_COMPONENT, name, image=kafka.image), spec=job_spec)


def render_kafka(stack: Stack, version: KubeVersion) -> list[c.Obj]:
    client_ports = [c.service_port("kafka", names.KAFKA_PORT)]
    return [
        c.headless_service(
            stack,
            COMPONENT,
            version,
            [*client_ports, c.service_port("controller", names.KAFKA_CONTROLLER_PORT)],
        ),
        c.service(stack, COMPONENT, version, client_ports),
        _statefulset(stack, version),
        c.pod_disruption_budget(stack, COMPONENT, version),
        c.network_policy(
            stack,
            COMPONENT,
            version,
            [
                ([COMPONENT], [names.KAFKA_PORT, names.KAFKA_CONTROLLER_PORT]),
                (clients(stack), [names.KAFKA_PORT]),
            ],
        ),
        _topics_job(stack, version),
    ]
