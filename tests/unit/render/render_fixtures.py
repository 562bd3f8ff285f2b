"""Test helper: the example spec, spec variants (external, disabled, minimal) and rendering them."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from observability.cli.sources import ALERTS, DASHBOARDS, read_sources, source_dir
from observability.render import RenderedStack, Sources, render_stack
from observability.spec import Stack, parse_stack

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "stack.yaml"


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def example_stack() -> Stack:
    return parse_stack(example_text(), source=str(EXAMPLE))


def example_dict() -> dict[str, Any]:
    return yaml.safe_load(example_text())


def repo_sources() -> Sources:
    return read_sources(source_dir(ALERTS, REPO / "alerts"), source_dir(DASHBOARDS, REPO / "dashboards"))


def render(stack: Stack, kube_version: str | None = None) -> RenderedStack:
    return render_stack(stack, repo_sources(), kube_version)


@functools.cache
def render_example(kube_version: str | None = None) -> RenderedStack:
    """The example spec rendered once per target version and test session."""
    return render(example_stack(), kube_version)


def stack_from(data: dict[str, Any]) -> Stack:
    return Stack.model_validate(data)


def minimal_stack() -> Stack:
    return stack_from({"cluster": {"name": "test"}})


def external_dict() -> dict[str, Any]:
    """The example with Kafka, Elasticsearch, Prometheus and Grafana all external, with credentials and TLS."""
    data = copy.deepcopy(example_dict())
    data["logging"]["kafka"] = {
        "mode": "external",
        "external": {
            "bootstrap_servers": ["kafka-0.example.com:9093", "kafka-1.example.com:9093"],
            "sasl_mechanism": "SCRAM-SHA-512",
            "credentials_secret": {"name": "kafka-credentials", "key": "password"},
            "tls": True,
        },
    }
    data["logging"]["elasticsearch"] = {
        "mode": "external",
        "external": {
            "url": "https://es.example.com:9200",
            "credentials_secret": {"name": "es-credentials", "key": "password"},
            "tls_skip_verify": True,
        },
    }
    data["metrics"]["prometheus"] = {
        "mode": "external",
        "external": {"url": "https://prom.example.com", "credentials_secret": {"name": "prom", "key": "password"}},
    }
    data["metrics"]["grafana"] = {"mode": "external", "external": {"url": "https://grafana.example.com"}}
    return data


def external_stack() -> Stack:
    return stack_from(external_dict())


def all_objects(rendered: RenderedStack) -> list[dict[str, Any]]:
    return [obj for objects in rendered.manifests.values() for obj in objects]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(owner object, pod spec) for every workload."""
    out = []
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            out.append((obj, obj["spec"]["template"]["spec"]))
    return out
