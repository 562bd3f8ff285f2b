"""Render layer (PURE): the names, labels and in-cluster addresses every renderer and adapter agrees on.

One place so manifests, configs, the apply step (which generates credentials) and the processor refer
to the same Secret, Service and port — change a name here and every consumer follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from observability.spec import Stack
from observability.spec.model import SecretRef

MANAGED_BY = "observability"
PART_OF = "observability"

KAFKA_PORT = 9092
ELASTICSEARCH_PORT = 9200
KIBANA_PORT = 5601
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
GRAFANA_PORT = 3000
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"


def resource_name(stack: Stack, component: str) -> str:
    """Name of a component's main objects, e.g. 'obs-kafka'; prefixed so instances can share a namespace."""
    return f"{stack.name}-{component}"


def selector_labels(stack: Stack, component: str) -> dict[str, str]:
    """The immutable subset used in Deployment/StatefulSet/DaemonSet selectors and Services."""
    return {"app.kubernetes.io/name": component, "app.kubernetes.io/instance": stack.name}


def labels(stack: Stack, component: str, version: str | None = None) -> dict[str, str]:
    """Recommended Kubernetes labels carried by every object this tool renders."""
    out = {
        **selector_labels(stack, component),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        out["app.kubernetes.io/version"] = version
    return out


def instance_selector(stack: Stack) -> str:
    """Label selector matching every object of this instance (used by prune, status and destroy)."""
    return f"app.kubernetes.io/instance={stack.name},app.kubernetes.io/managed-by={MANAGED_BY}"


@dataclass(frozen=True)
class GeneratedSecret:
    """A Secret the apply step creates once with random values and never overwrites; never rendered."""

    name: str
    keys: tuple[str, ...]
    """Keys filled with random passwords; 'username'-like keys get the fixed value in `fixed`."""
    fixed: tuple[tuple[str, str], ...] = ()


def elasticsearch_credentials(stack: Stack) -> GeneratedSecret:
    return GeneratedSecret(
        name=resource_name(stack, "elasticsearch-credentials"),
        keys=("password",),
        fixed=(("username", "elastic"),),
    )


def grafana_admin(stack: Stack) -> GeneratedSecret:
    return GeneratedSecret(
        name=resource_name(stack, "grafana-admin"),
        keys=("admin-password",),
        fixed=(("admin-user", "admin"),),
    )


def generated_secrets(stack: Stack) -> list[GeneratedSecret]:
    """Secrets `obs apply` must create (if absent) before the workloads that read them."""
    out = []
    es = stack.logging.elasticsearch
    if stack.logging.enabled and es.enabled and es.mode == "managed":
        out.append(elasticsearch_credentials(stack))
        if stack.logging.kibana.enabled:
            out.append(kibana_system_credentials(stack))
    grafana = stack.metrics.grafana
    if stack.metrics.enabled and grafana.enabled and grafana.mode == "managed":
        out.append(grafana_admin(stack))
    return out


def kafka_bootstrap_servers(stack: Stack) -> list[str]:
    kafka = stack.logging.kafka
    if kafka.mode == "external" and kafka.external is not None:
        return list(kafka.external.bootstrap_servers)
    return [f"{resource_name(stack, 'kafka')}.{stack.cluster.namespace}.svc:{KAFKA_PORT}"]


def elasticsearch_url(stack: Stack) -> str:
    es = stack.logging.elasticsearch
    if es.mode == "external" and es.external is not None:
        return es.external.url
    return f"http://{resource_name(stack, 'elasticsearch')}.{stack.cluster.namespace}.svc:{ELASTICSEARCH_PORT}"


def prometheus_url(stack: Stack) -> str:
    prom = stack.metrics.prometheus
    if prom.mode == "external" and prom.external is not None:
        return prom.external.url
    return f"http://{resource_name(stack, 'prometheus')}.{stack.cluster.namespace}.svc:{PROMETHEUS_PORT}"


def alertmanager_url(stack: Stack) -> str:
    return f"http://{resource_name(stack, 'alertmanager')}.{stack.cluster.namespace}.svc:{ALERTMANAGER_PORT}"


def grafana_url(stack: Stack) -> str:
    grafana = stack.metrics.grafana
    if grafana.mode == "external" and grafana.external is not None:
        return grafana.external.url
    return f"http://{resource_name(stack, 'grafana')}.{stack.cluster.namespace}.svc:{GRAFANA_PORT}"


def routed_topic_prefix(stack: Stack) -> str:
    """Prefix of the per-namespace/per-app topics Filebeat writes with topic routing ('logs.shop').

    A dot, not a dash, so no routed topic can ever be the dead-letter topic ('logs-dead-letter').
    """
    return f"{stack.logging.kafka.topics.logs.name}."


def routed_topic_pattern(stack: Stack) -> str | None:
    """librdkafka subscription regex matching every routed topic, or None without topic routing."""
    if stack.logging.filebeat.topic_routing == "none":
        return None
    return "^" + re.escape(routed_topic_prefix(stack)) + ".+"


def alertmanager_secret_path(ref: SecretRef) -> str:
    """Where a receiver credential is mounted in the Alertmanager pod (alertmanager.yml uses *_file keys)."""
    return f"{ALERTMANAGER_SECRETS_DIR}/{ref.name}/{ref.key}"


# --- additions for the manifests: cluster-scoped names, TLS material, env contract, Grafana uids -------------

KAFKA_CONTROLLER_PORT = 9093
ELASTICSEARCH_TRANSPORT_PORT = 9300
PROCESSOR_CONFIG_PATH = "/etc/processor/processor.yaml"
FILEBEAT_MONITORING_PORT = 5066
FILEBEAT_EXPORTER_PORT = 9479
NODE_EXPORTER_PORT = 9100
KUBE_STATE_METRICS_PORT = 8080
KUBE_STATE_METRICS_TELEMETRY_PORT = 8081
KAFKA_EXPORTER_PORT = 9308
ELASTICSEARCH_EXPORTER_PORT = 9114
# Names of the container ports Prometheus' per-component jobs keep (see render/prometheus.py).
METRICS_PORT_NAME = "metrics"

# Environment variables through which credentials reach the processor and exporters (never in a file).
ENV_ELASTICSEARCH_USERNAME = "ELASTICSEARCH_USERNAME"
ENV_ELASTICSEARCH_PASSWORD = "ELASTICSEARCH_PASSWORD"
ENV_KAFKA_USERNAME = "KAFKA_SASL_USERNAME"
ENV_KAFKA_PASSWORD = "KAFKA_SASL_PASSWORD"

# Grafana datasource uids: dashboards (render/dashboards.py) refer to datasources by these.
GRAFANA_PROMETHEUS_UID = "prometheus"
GRAFANA_ELASTICSEARCH_UID = "elasticsearch-logs"
GRAFANA_ALERTMANAGER_UID = "alertmanager"


def cluster_resource_name(stack: Stack, component: str) -> str:
    """Name of a cluster-scoped object (ClusterRole/Binding): includes the namespace so stacks never collide."""
    return f"{stack.cluster.namespace}-{stack.name}-{component}"


def headless_service_name(stack: Stack, component: str) -> str:
    """The governing Service of a StatefulSet: gives each pod a stable DNS name."""
    return f"{resource_name(stack, component)}-headless"


def pod_dns_name(stack: Stack, component: str, ordinal: int) -> str:
    """Stable in-cluster DNS name of StatefulSet pod `ordinal`."""
    return (
        f"{resource_name(stack, component)}-{ordinal}.{headless_service_name(stack, component)}"
        f".{stack.cluster.namespace}.svc"
    )


def credential_keys(ref: SecretRef) -> tuple[str, str]:
    """(username key, password key) in an external service's credentials Secret.

    The Secret holds a 'username' key; the password is under `ref.key`, or 'password' when the
    reference names the username key itself.
    """
    return "username", ("password" if ref.key == "username" else ref.key)


def kibana_system_credentials(stack: Stack) -> GeneratedSecret:
    """Password of Elasticsearch's built-in kibana_system user: Kibana 8 refuses the elastic superuser."""
    return GeneratedSecret(
        name=resource_name(stack, "kibana-system-credentials"),
        keys=("password",),
        fixed=(("username", "kibana_system"),),
    )


def elasticsearch_transport_tls_secret(stack: Stack) -> str:
    """Secret with the CA and node certificate (ca.crt, tls.crt, tls.key) for Elasticsearch transport TLS.

    Created once, inside the cluster, by the Job in render/manifests/elasticsearch_certs.py (used when
    there is more than one node); never rendered and never overwritten.
    """
    return resource_name(stack, "elasticsearch-transport-tls")


def elasticsearch_managed(stack: Stack) -> bool:
    es = stack.logging.elasticsearch
    return stack.logging.enabled and es.enabled and es.mode == "managed"
