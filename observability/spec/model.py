"""Spec layer: the typed model of `stack.yaml` (pydantic v2, unknown keys forbidden).

Keys are snake_case, like Prometheus and Alertmanager configuration. Defaults are production-leaning
but small enough for a test cluster. Credentials are only ever *references* to Kubernetes Secrets.
The parts live in common.py, logging_stack.py, metrics_stack.py, services.py and alerting.py; this module
holds the top level and re-exports every part, so `observability.spec.model` is the one import surface.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from observability.spec.alerting import (
    Alerting,
    EmailReceiver,
    PagerDutyReceiver,
    Receiver,
    Routing,
    SlackReceiver,
    WebhookReceiver,
)
from observability.spec.common import (
    Component,
    DnsLabel,
    Duration,
    External,
    Quantity,
    ResourceAmounts,
    Resources,
    SecretRef,
    Storage,
    StrictModel,
    duration_seconds,
)
from observability.spec.logging_stack import (
    DropRule,
    Elasticsearch,
    ExternalKafka,
    Filebeat,
    Kafka,
    Kibana,
    Logging,
    Processor,
    Topic,
    Topics,
)
from observability.spec.metrics_stack import (
    Alertmanager,
    ElasticsearchExporter,
    Grafana,
    KafkaExporter,
    KubeStateMetrics,
    Metrics,
    NodeExporter,
    Prometheus,
)
from observability.spec.services import SLO, GoService, LatencySLO, ServiceMetrics


class Cluster(StrictModel):
    name: str
    namespace: DnsLabel = "observability"
    kube_version: str | None = Field(default=None, description="target Kubernetes minor version, e.g. '1.29'")
    storage_class: str | None = Field(default=None, description="default StorageClass; null uses the cluster's")

    @field_validator("kube_version")
    @classmethod
    def _version(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^1\.[0-9]+$", v):
            raise ValueError(f"must be a Kubernetes minor version such as '1.29' (quoted), got {v!r}")
        return v


class Stack(StrictModel):
    """The whole stack.yaml."""

    name: DnsLabel = Field(default="obs", description="instance name; app.kubernetes.io/instance on every object")
    cluster: Cluster
    logging: Logging = Logging()
    metrics: Metrics = Metrics()
    services: list[GoService] = Field(default_factory=list)
    alerting: Alerting = Alerting()

    @model_validator(mode="after")
    def _unique_services(self) -> Stack:
        seen: set[tuple[str, str]] = set()
        for svc in self.services:
            if (svc.namespace, svc.name) in seen:
                raise ValueError(f"service {svc.namespace}/{svc.name} is declared twice")
            seen.add((svc.namespace, svc.name))
        topics = self.logging.kafka.topics
        if self.logging.filebeat.topic_routing != "none" and topics.dead_letter.name.startswith(f"{topics.logs.name}."):
            raise ValueError(
                f"logging.kafka.topics.dead_letter {topics.dead_letter.name!r} starts with '{topics.logs.name}.', the "
                "prefix of routed topics the processor consumes; rename it (e.g. logs-dead-letter)"
            )
        if self.logging.enabled and self.logging.processor.enabled and self.logging.kafka.enabled is False:
            raise ValueError("logging.processor needs logging.kafka (enable it, or use mode: external)")
        return self


__all__ = [
    "SLO",
    "Alerting",
    "Alertmanager",
    "Cluster",
    "Component",
    "DnsLabel",
    "DropRule",
    "Duration",
    "Elasticsearch",
    "ElasticsearchExporter",
    "EmailReceiver",
    "External",
    "ExternalKafka",
    "Filebeat",
    "GoService",
    "Grafana",
    "Kafka",
    "KafkaExporter",
    "Kibana",
    "KubeStateMetrics",
    "LatencySLO",
    "Logging",
    "Metrics",
    "NodeExporter",
    "PagerDutyReceiver",
    "Processor",
    "Prometheus",
    "Quantity",
    "Receiver",
    "ResourceAmounts",
    "Resources",
    "Routing",
    "SecretRef",
    "ServiceMetrics",
    "SlackReceiver",
    "Stack",
    "Storage",
    "StrictModel",
    "Topic",
    "Topics",
    "WebhookReceiver",
    "duration_seconds",
]
