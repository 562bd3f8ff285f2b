"""Generate docs/spec.md — every stack.yaml key with its type, default and meaning — from the pydantic model.

Usage: `.venv/bin/python scripts/spec_reference.py > docs/spec.md`
(tests/unit/render/test_docs_spec.py fails when docs/spec.md is out of date).
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observability.spec.model import Stack

# Meanings by full key path, then by key name, for fields whose model field carries no description
# (the model's descriptions win when present).
PATH_MEANINGS = {
    "cluster": "the target cluster",
    "cluster.name": "cluster name: shown before any change and the `cluster` label of every metric",
    "cluster.namespace": "namespace every component of the stack runs in",
    "logging": "the log pipeline: Filebeat → Kafka → processor → Elasticsearch (+ Kibana)",
    "logging.kafka": "Kafka (KRaft, official apache/kafka image) buffering log events",
    "logging.elasticsearch": "Elasticsearch storing the log data streams (security on)",
    "logging.kibana": "Kibana for the managed Elasticsearch",
    "logging.filebeat": "Filebeat DaemonSet shipping container logs to Kafka (docs/filebeat.md)",
    "logging.filebeat.exclude_namespaces": "namespaces whose logs are never read nor shipped",
    "logging.filebeat.required_acks": "Kafka acks Filebeat waits for: 0 none, 1 leader, -1 all in-sync replicas",
    "logging.filebeat.max_message_bytes": "larger events are dropped by Filebeat; Kafka's limit is raised to fit",
    "logging.processor": "the log processor (docs/processor.md)",
    "logging.processor.consumer_group": "Kafka consumer group of the processor replicas",
    "logging.processor.flush_interval": "longest wait before a partial batch is indexed",
    "logging.processor.data_stream_dataset": "data_stream.dataset of indexed events",
    "logging.processor.data_stream_namespace": "data_stream.namespace of indexed events",
    "logging.processor.drop": "rules dropping events before they are stored",
    "logging.processor.redact_fields": "field names whose values are replaced before storing",
    "logging.processor.metrics_port": "port of the processor's Prometheus metrics",
    "logging.kafka.external.credentials_secret": "Secret with the SASL username and password",
    "metrics": "metrics and alerting: Prometheus, Alertmanager, Grafana and exporters",
    "metrics.prometheus": "Prometheus (StatefulSet with Kubernetes service discovery)",
    "metrics.prometheus.scrape_interval": "how often every target is scraped",
    "metrics.prometheus.evaluation_interval": "how often alert and recording rules are evaluated",
    "metrics.alertmanager": "Alertmanager (clustered when replicas > 1)",
    "metrics.grafana": "Grafana with provisioned datasources and dashboards",
    "metrics.node_exporter": "node-exporter DaemonSet (host metrics)",
    "metrics.kube_state_metrics": "kube-state-metrics (object state metrics)",
    "metrics.kafka_exporter": "kafka-exporter (consumer lag, topic metrics)",
    "metrics.elasticsearch_exporter": "elasticsearch-exporter (cluster and index metrics)",
    "services": "the Go services to monitor: scrape jobs, alerts and dashboards are generated for each",
    "services[].name": "service name: the `service` label of its metrics",
    "services[].namespace": "namespace the service's pods run in",
    "services[].slo.latency": "latency objective",
    "alerting": "alert receivers and routing (alertmanager.yml)",
    "alerting.receivers[].name": "receiver name used by routing",
    "alerting.receivers[].webhook": "POST alerts to a URL (the URL is secret)",
    "alerting.receivers[].webhook.url_secret": "Secret key holding the webhook URL",
    "alerting.receivers[].slack": "post alerts to Slack",
    "alerting.receivers[].slack.api_url_secret": "Secret key holding the Slack webhook URL",
    "alerting.receivers[].email": "send alerts by e-mail",
    "alerting.receivers[].email.auth_password_secret": "Secret key holding the SMTP password",
    "alerting.receivers[].pagerduty": "page through PagerDuty (Events API v2)",
    "alerting.receivers[].pagerduty.routing_key_secret": "Secret key holding the PagerDuty routing key",
    "alerting.routing.severity": "severity label (page, ticket, info) → receiver",
    "logging.kafka.topics.logs.name": "topic name",
    "logging.kafka.topics.dead_letter.name": "topic name",
    "logging.processor.drop[].field": "event field (dotted path)",
    "logging.kafka.external.credentials_secret.name": "Secret name",
    "logging.elasticsearch.external.credentials_secret.name": "Secret name",
}

# Meanings of keys whose model field carries no description (the model's descriptions win when present).
MEANINGS = {
    "name": "name of the thing this section declares",
    "enabled": "render this component (false: nothing is rendered for it)",
    "image": "container image; must pin a tag or digest",
    "replicas": "number of pods",
    "resources": "Kubernetes requests/limits; a missing memory limit falls back to the request",
    "requests": "guaranteed share (cpu, memory)",
    "limits": "upper bound (cpu, memory); no CPU limit unless set",
    "cpu": "CPU quantity such as 500m or 2",
    "memory": "memory quantity such as 512Mi or 2Gi",
    "storage": "persistent volume of the component",
    "size": "volume size",
    "retention": "how long data is kept",
    "mode": "managed = run it in the cluster; external = use an existing one (only its clients are configured)",
    "external": "where the external service is (mode: external)",
    "url": "http(s) URL of the external service",
    "tls_skip_verify": "do not verify the external service's TLS certificate",
    "bootstrap_servers": "host:port of at least one broker",
    "sasl_mechanism": "SASL mechanism for the external Kafka (credentials_secret required)",
    "tls": "connect to the external Kafka over TLS",
    "namespace": "Kubernetes namespace",
    "key": "key inside the Secret",
    "partitions": "number of partitions",
    "replication": "replication factor",
    "topics": "the Kafka topics the pipeline uses",
    "logs": "topic Filebeat writes and the processor reads",
    "dead_letter": "topic for events the processor cannot index",
    "field": "event field (dotted path)",
    "equals": "drop when the field equals this value",
    "port": "container port number or name",
    "path": "HTTP path",
    "scheme": "http or https",
    "selector": "pod labels that select this service's pods",
    "metrics": "where the service serves Prometheus metrics",
    "slo": "service level objectives (alerts and dashboards are generated)",
    "window": "SLO window",
    "threshold": "latency threshold",
    "receivers": "alert receivers; credentials are Secret references",
    "routing": "which receiver gets which alert",
    "send_resolved": "also notify when the alert resolves",
    "channel": "Slack channel",
    "to": "recipient address",
    "from": "sender address",
    "smarthost": "SMTP server host:port",
    "auth_username": "SMTP user",
    "require_tls": "require STARTTLS",
    "group_wait": "wait before the first notification of a group",
    "group_interval": "wait before notifying about new alerts of a group",
    "repeat_interval": "wait before repeating a notification",
    "group_by": "labels that group alerts into one notification",
}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return f"{text} or null" if type(None) in args else text
    if origin is typing.Annotated:
        base, *meta = args
        for m in meta:
            name = getattr(getattr(m, "func", None), "__name__", "")
            if name in _CHECKS:
                return _CHECKS[name]
        return _type_name(base)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


_CHECKS = {"_check_quantity": "quantity", "_check_duration": "duration", "_check_dns_label": "DNS label"}


def _field_type(field: FieldInfo) -> str:
    """Type name; pydantic keeps Annotated validators in field.metadata, which name the value's format."""
    for meta in field.metadata:
        name = getattr(getattr(meta, "func", None), "__name__", "")
        if name in _CHECKS:
            return _CHECKS[name]
    return _type_name(field.annotation)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{json.dumps(value)}`"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        meaning = field.description or PATH_MEANINGS.get(path) or MEANINGS.get(key, "")
        out.append((path, _field_type(field), _default(field), meaning))
        nested = _model_of(field.annotation)
        if nested is not None:
            is_list = typing.get_origin(field.annotation) is list
            out += rows(nested, f"{path}[]." if is_list else f"{path}.")
    return out


def render() -> str:
    lines = [
        "# stack.yaml reference",
        "",
        "Every key of `stack.yaml`, generated from the spec model (`observability/spec/model.py`) by",
        "`scripts/spec_reference.py`; a test fails when this page is out of date. A full commented example is",
        "[examples/stack.yaml](../examples/stack.yaml); `obs validate --spec FILE` checks a spec and names the",
        "file, line and key of every problem. Unknown keys are errors. Durations look like `30s`, `15m`, `12h`,",
        "`15d`; quantities like `500m`, `2`, `512Mi`, `10Gi`. Credentials are never values in the spec: they are",
        "`{name, key}` references to Kubernetes Secrets. For an external service's `credentials_secret`, the",
        "Secret holds a `username` key and the password under `key` (or under `password` when `key` is",
        "`username`).",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for path, type_name, default, meaning in rows(Stack):
        lines.append(f"| `{path}` | {type_name} | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
