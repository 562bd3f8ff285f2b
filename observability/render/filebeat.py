"""Render layer (PURE): filebeat.yml — container logs of every node → Kafka.

Every option used here is in Filebeat's documented reference (container input, kubernetes autodiscover
with hints, add_kubernetes_metadata, drop_event, the Kafka output, the HTTP endpoint); docs/filebeat.md
explains each choice. Credentials are never written here: they come from environment variables the
DaemonSet fills from Secrets (`${VAR}` is Filebeat's own environment expansion).
"""

from __future__ import annotations

import re
from typing import Any

from observability.render import names
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack

CONFIG_DIR = "/etc/filebeat"
DATA_DIR = "/usr/share/filebeat/data"
CONTAINER_LOGS = "/var/log/containers"

# Continuation lines of a Go panic or stack trace: indented file:line lines, goroutine headers, frames
# such as `main.handler(0x1, ...)`, bare symbols as zap's console encoder prints them
# (`github.com/acme/shop.(*Server).Handle`), `created by`, signal lines, blank separators and the exit
# status. A JSON log line starts with '{' and never matches, so structured logs stay one event per line.
GO_STACK_CONTINUATION = (
    r"^([ \t]|$|goroutine [0-9]+ \[|created by |\[signal |exit status [0-9]+$|"
    r"[A-Za-z0-9_./*()\[\]-]+\(.*\)$|"
    r"[A-Za-z0-9_/-]+(\.[A-Za-z0-9_/*()\[\]-]+)+$)"
)
# Go's regexp syntax (RE2) and Python's agree on every construct used above; tests run it with `re`.
_REGEX_SPECIAL = re.compile(r"([.\\+*?()|\[\]{}^$])")


def regexp_literal(value: str) -> str:
    """`value` as a regular expression matching exactly it (the same in RE2 and Python's re)."""
    return _REGEX_SPECIAL.sub(r"\\\1", value)


def multiline() -> dict[str, Any]:
    """Join a panic's header and its stack into one event (negate false + match after: glue to the line before)."""
    return {
        "multiline.type": "pattern",
        "multiline.pattern": GO_STACK_CONTINUATION,
        "multiline.negate": False,
        "multiline.match": "after",
        "multiline.max_lines": 500,
        "multiline.timeout": "5s",
    }


def _namespace_regexp(namespaces: list[str]) -> str:
    return "^(" + "|".join(regexp_literal(n) for n in sorted(set(namespaces))) + ")$"


def _container_input(stack: Stack, paths: list[str]) -> dict[str, Any]:
    fb = stack.logging.filebeat
    out: dict[str, Any] = {"type": "container", "paths": paths, "stream": "all"}
    if fb.exclude_namespaces:
        # Log file names are <pod>_<namespace>_<container>-<id>.log: skip excluded namespaces unread.
        alternatives = "|".join(regexp_literal(n) for n in sorted(set(fb.exclude_namespaces)))
        out["exclude_files"] = [f"^{CONTAINER_LOGS}/[^_]+_({alternatives})_"]
    out.update(multiline())
    return out


# Deployment/CronJob names would need RBAC on replicasets/jobs; the ClusterRole grants only
# pods, namespaces and nodes, so those lookups are switched off explicitly.
_RESOURCE_METADATA = {"deployment": False, "cronjob": False}


def _inputs(stack: Stack) -> dict[str, Any]:
    fb = stack.logging.filebeat
    if fb.hints:
        provider = {
            "type": "kubernetes",
            "node": "${NODE_NAME}",
            "add_resource_metadata": _RESOURCE_METADATA,
            "hints.enabled": True,
            # Pods without hints get this; `co.elastic.logs/enabled: "false"` opts a pod out.
            "hints.default_config": _container_input(
                stack, [f"{CONTAINER_LOGS}/*-${{data.kubernetes.container.id}}.log"]
            ),
        }
        return {"filebeat.autodiscover": {"providers": [provider]}}
    return {"filebeat.inputs": [_container_input(stack, [f"{CONTAINER_LOGS}/*.log"])]}


def _processors(stack: Stack) -> list[dict[str, Any]]:
    fb = stack.logging.filebeat
    out: list[dict[str, Any]] = []
    if not fb.hints:
        out.append(
            {
                "add_kubernetes_metadata": {
                    "host": "${NODE_NAME}",
                    "add_resource_metadata": _RESOURCE_METADATA,
                    "matchers": [{"logs_path": {"logs_path": f"{CONTAINER_LOGS}/"}}],
                }
            }
        )
    if fb.exclude_namespaces:
        # Second line of defence for events whose file name did not reveal the namespace.
        out.append(
            {"drop_event": {"when": {"regexp": {"kubernetes.namespace": _namespace_regexp(fb.exclude_namespaces)}}}}
        )
    # The target is one key, not a path: `target: orchestrator.cluster` would add a top-level key with a dot in
    # its name beside the `orchestrator` object add_kubernetes_metadata fills (seen from a real Filebeat,
    # tests/integration/filebeat/). Merged into that object, the spec's name overwrites the kubeconfig's.
    out.append({"add_fields": {"target": "orchestrator", "fields": {"cluster": {"name": stack.cluster.name}}}})
    return out


def topic_rules(stack: Stack) -> list[dict[str, Any]]:
    """Topic selector rules; an event whose routing field is missing falls back to the logs topic."""
    fb = stack.logging.filebeat
    if fb.topic_routing == "namespace":
        fields = ["kubernetes.namespace"]
    elif fb.topic_routing == "app":
        # add_kubernetes_metadata de-dots label keys: app.kubernetes.io/name → app_kubernetes_io/name.
        fields = ["kubernetes.labels.app_kubernetes_io/name", "kubernetes.labels.app"]
    else:
        return []
    prefix = names.routed_topic_prefix(stack)
    return [{"topic": f"{prefix}%{{[{field}]}}", "when.has_fields": [field]} for field in fields]


def _kafka_output(stack: Stack) -> dict[str, Any]:
    fb = stack.logging.filebeat
    kafka = stack.logging.kafka
    out: dict[str, Any] = {
        "hosts": names.kafka_bootstrap_servers(stack),
        "topic": kafka.topics.logs.name,
    }
    rules = topic_rules(stack)
    if rules:
        out["topics"] = rules
    out.update(
        {
            "partition.round_robin": {"reachable_only": True},
            "required_acks": fb.required_acks,
            "compression": fb.compression,
            "max_message_bytes": fb.max_message_bytes,
            "client_id": f"filebeat-{stack.name}",
        }
    )
    ext = kafka.external if kafka.mode == "external" else None
    if ext is not None:
        if ext.credentials_secret is not None:
            out["username"] = f"${{{names.ENV_KAFKA_USERNAME}}}"
            out["password"] = f"${{{names.ENV_KAFKA_PASSWORD}}}"
            if ext.sasl_mechanism:
                out["sasl.mechanism"] = ext.sasl_mechanism
        if ext.tls:
            out["ssl.enabled"] = True
    return out


def render_filebeat_config(stack: Stack) -> str:
    config: dict[str, Any] = {
        **_inputs(stack),
        "processors": _processors(stack),
        "output.kafka": _kafka_output(stack),
        # Local-only monitoring endpoint; the beat-exporter sidecar turns /stats into Prometheus metrics.
        "http.enabled": True,
        "http.host": "localhost",
        "http.port": names.FILEBEAT_MONITORING_PORT,
        "monitoring.enabled": False,
        "logging.level": "info",
        "logging.metrics.enabled": False,
    }
    header = (
        "# filebeat.yml rendered by `obs render` from stack.yaml; do not edit by hand.\n"
        "# ${NODE_NAME} and the Kafka credentials come from the DaemonSet's environment.\n"
    )
    return header + dump_yaml(config)
