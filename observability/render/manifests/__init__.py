"""Render layer (PURE): Kubernetes objects for every enabled component, by component name.

Components appear in apply order (the namespace first, the stores before their clients); within a
component, objects come in apply order too (identities and config before workloads). Disabled
components render nothing; `mode: external` components render no workload — the configuration of
their clients points at them instead (render/names.py).
"""

from __future__ import annotations

from typing import Any

from observability.render import names
from observability.render.kube import KubeVersion, api_version
from observability.render.manifests.alertmanager import render_alertmanager
from observability.render.manifests.elasticsearch import render_elasticsearch, render_kibana
from observability.render.manifests.exporters import (
    render_elasticsearch_exporter,
    render_kafka_exporter,
    render_kube_state_metrics,
    render_node_exporter,
)
from observability.render.manifests.filebeat import render_filebeat
from observability.render.manifests.grafana import render_grafana
from observability.render.manifests.kafka import render_kafka
from observability.render.manifests.processor import render_processor
from observability.render.manifests.prometheus import render_prometheus
from observability.spec import Stack

Objects = list[dict[str, Any]]


def render_namespace(stack: Stack, version: KubeVersion) -> dict[str, Any]:
    """The stack's namespace, labelled for Pod Security Admission.

    Filebeat and node-exporter need host paths (and node-exporter the host network), which only the
    `privileged` level admits; without them every pod meets `restricted`, so that is enforced.
    """
    host_agents = (stack.logging.enabled and stack.logging.filebeat.enabled) or (
        stack.metrics.enabled and stack.metrics.node_exporter.enabled
    )
    level = "privileged" if host_agents else "restricted"
    return {
        "apiVersion": api_version("Namespace", version),
        "kind": "Namespace",
        "metadata": {
            "name": stack.cluster.namespace,
            "labels": {
                **names.labels(stack, "namespace"),
                "pod-security.kubernetes.io/enforce": level,
                "pod-security.kubernetes.io/warn": level,
            },
        },
    }


def render_manifests(stack: Stack, version: KubeVersion, files: dict[str, str]) -> dict[str, Objects]:
    """component → objects; `files` are the rendered config files the objects embed."""
    out: dict[str, Objects] = {"namespace": [render_namespace(stack, version)]}
    logging, metrics = stack.logging, stack.metrics
    if logging.enabled:
        if logging.kafka.enabled and logging.kafka.mode == "managed":
            out["kafka"] = render_kafka(stack, version)
        if names.elasticsearch_managed(stack):
            out["elasticsearch"] = render_elasticsearch(stack, version)
            if logging.kibana.enabled:
                out["kibana"] = render_kibana(stack, version)
        if logging.processor.enabled:
            out["processor"] = render_processor(stack, version, files)
        if logging.filebeat.enabled:
            out["filebeat"] = render_filebeat(stack, version, files)
    if metrics.enabled:
        if metrics.prometheus.enabled and metrics.prometheus.mode == "managed":
            out["prometheus"] = render_prometheus(stack, version, files)
        if metrics.alertmanager.enabled:
            out["alertmanager"] = render_alertmanager(stack, version, files)
        if metrics.grafana.enabled and metrics.grafana.mode == "managed":
            out["grafana"] = render_grafana(stack, version, files)
        if metrics.node_exporter.enabled:
            out["node-exporter"] = render_node_exporter(stack, version)
        if metrics.kube_state_metrics.enabled:
            out["kube-state-metrics"] = render_kube_state_metrics(stack, version)
        if metrics.kafka_exporter.enabled and logging.enabled and logging.kafka.enabled:
            out["kafka-exporter"] = render_kafka_exporter(stack, version)
        if metrics.elasticsearch_exporter.enabled and logging.enabled and logging.elasticsearch.enabled:
            out["elasticsearch-exporter"] = render_elasticsearch_exporter(stack, version)
    return out
