"""Render layer (PURE): a validated Stack plus the repo's rule and dashboard sources → every file.

No network, no disk: the CLI reads `alerts/` and `dashboards/` into `Sources` and writes the
returned `RenderedStack.files` under the output directory. Same input → byte-identical output.

Who renders what (one module per target system, mirrored in apply/):
  manifests/       Kubernetes objects per component (`render_manifests`)
  prometheus.py    prometheus.yml                   filebeat.py     filebeat.yml
  rules.py         Prometheus rule files            alertmanager.py alertmanager.yml
  dashboards.py    Grafana dashboard JSON           grafana.py      Grafana provisioning files
  elasticsearch.py index template + ILM policy      processor.py    the log processor's config
"""

from __future__ import annotations

from dataclasses import dataclass, field

from observability.render.alertmanager import render_alertmanager_config
from observability.render.dashboards import render_dashboards
from observability.render.elasticsearch import render_ilm_policy, render_index_template
from observability.render.filebeat import render_filebeat_config
from observability.render.grafana import render_grafana_provisioning
from observability.render.kube import DEFAULT_KUBE_VERSION, KubeVersion, parse_kube_version
from observability.render.manifests import render_manifests
from observability.render.processor import render_processor_config
from observability.render.prometheus import render_prometheus_config
from observability.render.rules import render_rule_files
from observability.render.yamlfmt import dump_json, dump_yaml, dump_yaml_documents
from observability.spec import Stack


@dataclass(frozen=True)
class Sources:
    """The repo's hand-edited inputs, as text keyed by file name relative to their directory."""

    alerts: dict[str, str] = field(default_factory=dict)
    """Prometheus rule files from alerts/ (name → YAML text)."""
    dashboards: dict[str, str] = field(default_factory=dict)
    """Dashboard definitions from dashboards/ (name → definition text)."""
    alerts_dir: str = "alerts"
    """The rule directory as the user named it; only for messages (`<alerts_dir>/<name>:line`)."""
    dashboards_dir: str = "dashboards"
    """The dashboards directory as the user named it; only for messages."""


@dataclass(frozen=True)
class ConfigFiles:
    """Every non-Kubernetes file of the stack, by path relative to the output directory."""

    files: dict[str, str]


@dataclass(frozen=True)
class RenderedStack:
    kube_version: KubeVersion
    manifests: dict[str, list[dict]]
    """component name → Kubernetes objects, in apply order within the component."""
    files: dict[str, str]
    """relative path → file content, including manifests/<component>.yaml."""


def render_config_files(stack: Stack, sources: Sources) -> ConfigFiles:
    """Everything except the Kubernetes objects: the files the manifests embed as ConfigMaps/Secrets."""
    files: dict[str, str] = {
        "filebeat/filebeat.yml": render_filebeat_config(stack),
        "prometheus/prometheus.yml": render_prometheus_config(stack),
        "alertmanager/alertmanager.yml": render_alertmanager_config(stack),
        "processor/processor.yaml": render_processor_config(stack),
        "elasticsearch/index-template.json": dump_json(render_index_template(stack)),
        "elasticsearch/ilm-policy.json": dump_json(render_ilm_policy(stack)),
    }
    for name, text in render_rule_files(stack, sources.alerts, sources.alerts_dir).items():
        files[f"prometheus/rules/{name}"] = text
    for name, text in render_grafana_provisioning(stack).items():
        files[f"grafana/provisioning/{name}"] = text
    for name, text in render_dashboards(stack, sources.dashboards, sources.dashboards_dir).items():
        files[f"grafana/dashboards/{name}"] = text
    return ConfigFiles(files=dict(sorted(files.items())))


def render_stack(stack: Stack, sources: Sources, kube_version: str | None = None) -> RenderedStack:
    """Render the whole stack for a target Kubernetes version (default: the spec's, then the newest)."""
    version = parse_kube_version(kube_version or stack.cluster.kube_version or DEFAULT_KUBE_VERSION)
    config = render_config_files(stack, sources)
    manifests = render_manifests(stack, version, config.files)
    files = dict(config.files)
    for component, objects in manifests.items():
        files[f"manifests/{component}.yaml"] = dump_yaml_documents(objects)
    return RenderedStack(kube_version=version, manifests=manifests, files=dict(sorted(files.items())))


__all__ = [
    "ConfigFiles",
    "RenderedStack",
    "Sources",
    "dump_json",
    "dump_yaml",
    "render_config_files",
    "render_stack",
]
