"""Render layer (PURE): prometheus.yml — what Prometheus scrapes and where it sends alerts.

Jobs, in order: Prometheus itself; every enabled stack component (pod discovery in the stack's
namespace, kept by the component's selector labels and its named metrics port); every Go service of
the spec (pod discovery in its namespace, kept by its selector and metrics port, labelled `service`,
`namespace` and `team` so alert rules and dashboards can use them); pods annotated
`prometheus.io/scrape: "true"`; and the kubelet/cAdvisor of every node through the API server proxy.
Checked with `promtool check config` in tests (Prometheus 2.42 here, the image runs 2.54: only options
both understand are used).
"""

from __future__ import annotations

import re
from typing import Any

from observability.render import names
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack
from observability.spec.model import GoService, duration_seconds

CONFIG_DIR = "/etc/prometheus"
RULES_DIR = f"{CONFIG_DIR}/rules"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

Job = dict[str, Any]


def _label_name(key: str) -> str:
    """Kubernetes label key → the name Prometheus' discovery gives it (invalid characters become '_')."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


def _literal(value: str) -> str:
    """A label value as an (anchored) RE2 regex matching exactly that value."""
    return re.sub(r"([.\\+*?()|\[\]{}^$])", r"\\\1", value)


def _pod_labels() -> list[dict[str, Any]]:
    """namespace/pod/node target labels every pod job shares."""
    return [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
    ]


_SKIP_FINISHED = {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Failed|Succeeded", "action": "drop"}


def _component_targets(stack: Stack) -> list[tuple[str, str, str]]:
    """(job/component name, container port name, metrics path) for each enabled, in-cluster component."""
    out: list[tuple[str, str, str]] = []
    logging, metrics = stack.logging, stack.metrics
    if logging.enabled:
        if logging.processor.enabled:
            out.append(("processor", names.METRICS_PORT_NAME, "/metrics"))
        if logging.filebeat.enabled:
            out.append(("filebeat", names.METRICS_PORT_NAME, "/metrics"))
    if metrics.enabled:
        if metrics.alertmanager.enabled:
            out.append(("alertmanager", "http", "/metrics"))
        if metrics.grafana.enabled and metrics.grafana.mode == "managed":
            out.append(("grafana", "http", "/metrics"))
        for component, enabled in (
            ("node-exporter", metrics.node_exporter.enabled),
            ("kube-state-metrics", metrics.kube_state_metrics.enabled),
            ("kafka-exporter", metrics.kafka_exporter.enabled and logging.enabled and logging.kafka.enabled),
            (
                "elasticsearch-exporter",
                metrics.elasticsearch_exporter.enabled and logging.enabled and logging.elasticsearch.enabled,
            ),
        ):
            if enabled:
                out.append((component, names.METRICS_PORT_NAME, "/metrics"))
    return out


def _component_job(stack: Stack, component: str, port_name: str, path: str) -> Job:
    selector = names.selector_labels(stack, component)
    keep = [
        {
            "source_labels": [f"__meta_kubernetes_pod_label_{_label_name(k)}"],
            "regex": _literal(v),
            "action": "keep",
        }
        for k, v in selector.items()
    ]
    job: Job = {
        "job_name": component,
        "metrics_path": path,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [stack.cluster.namespace]}}],
        "relabel_configs": [
            *keep,
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": port_name, "action": "keep"},
            _SKIP_FINISHED,
            *_pod_labels(),
        ],
    }
    if component in {"processor", "kube-state-metrics"}:
        # Both export series *about other pods*: log_events_total{service,namespace,level} and
        # kube_pod_*{namespace,pod}. Keep those labels instead of renaming them to exported_* — the
        # error-log, restart and memory alerts join on them.
        job["honor_labels"] = True
    return job


def _service_job(svc: GoService) -> Job:
    keep = [
        {
            "source_labels": [f"__meta_kubernetes_pod_label_{_label_name(k)}"],
            "regex": _literal(v),
            "action": "keep",
        }
        for k, v in sorted(svc.selector.items())
    ]
    port = svc.metrics.port
    # Discovery yields one target per declared container port: keep the metrics one (the port must be
    # declared in the pod spec, as it is for any Service-exposed port).
    port_keep = (
        {"source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": str(port), "action": "keep"}
        if isinstance(port, int)
        else {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": port, "action": "keep"}
    )
    labels = [{"target_label": "service", "replacement": svc.name}]
    if svc.team:
        labels.append({"target_label": "team", "replacement": svc.team})
    return {
        "job_name": f"{svc.namespace}/{svc.name}",
        "metrics_path": svc.metrics.path,
        "scheme": svc.metrics.scheme,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [svc.namespace]}}],
        "relabel_configs": [*keep, port_keep, _SKIP_FINISHED, *_pod_labels(), *labels],
    }


def _annotated_pods_job(stack: Stack) -> Job:
    relabel: list[dict[str, Any]] = [
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            "regex": "true",
            "action": "keep",
        },
        _SKIP_FINISHED,
    ]
    # Pods of spec'd services already have their own job: do not scrape them twice.
    for svc in stack.services:
        keys = sorted(svc.selector)
        relabel.append(
            {
                "source_labels": [
                    "__meta_kubernetes_namespace",
                    *(f"__meta_kubernetes_pod_label_{_label_name(k)}" for k in keys),
                ],
                "regex": ";".join([_literal(svc.namespace), *(_literal(svc.selector[k]) for k in keys)]),
                "action": "drop",
            }
        )
    relabel += [
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scheme"],
            "regex": "(https?)",
            "target_label": "__scheme__",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "regex": "(.+)",
            "target_label": "__metrics_path__",
        },
        {
            "source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
            "regex": r"([^:]+)(?::\d+)?;(\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        *_pod_labels(),
        {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "target_label": "app"},
    ]
    return {"job_name": "kubernetes-pods", "kubernetes_sd_configs": [{"role": "pod"}], "relabel_configs": relabel}


def _node_job(name: str, path_suffix: str) -> Job:
    """Kubelet endpoints reached through the API server proxy: works without node network access."""
    return {
        "job_name": name,
        "scheme": "https",
        "tls_config": {"ca_file": f"{SA_DIR}/ca.crt"},
        "authorization": {"credentials_file": f"{SA_DIR}/token"},
        "kubernetes_sd_configs": [{"role": "node"}],
        "relabel_configs": [
            {"target_label": "__address__", "replacement": "kubernetes.default.svc:443"},
            {
                "source_labels": ["__meta_kubernetes_node_name"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
                "replacement": f"/api/v1/nodes/$1/proxy/metrics{path_suffix}",
            },
            {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"},
        ],
    }


def alertmanager_targets(stack: Stack) -> list[str]:
    """Every Alertmanager replica individually: alerts must reach all of them for HA deduplication."""
    am = stack.metrics.alertmanager
    return [f"{names.pod_dns_name(stack, 'alertmanager', i)}:{names.ALERTMANAGER_PORT}" for i in range(am.replicas)]


def render_prometheus_settings(stack: Stack) -> dict[str, Any]:
    prom = stack.metrics.prometheus
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": prom.scrape_interval,
            # Timeout may not exceed the interval.
            "scrape_timeout": prom.scrape_interval if duration_seconds(prom.scrape_interval) < 10 else "10s",
            "evaluation_interval": prom.evaluation_interval,
            "external_labels": {"cluster": stack.cluster.name},
        },
        "rule_files": [f"{RULES_DIR}/*.yaml", f"{RULES_DIR}/*.yml"],
    }
    if stack.metrics.alertmanager.enabled:
        config["alerting"] = {
            "alertmanagers": [{"api_version": "v2", "static_configs": [{"targets": alertmanager_targets(stack)}]}]
        }
    jobs: list[Job] = [
        {
            "job_name": "prometheus",
            "static_configs": [{"targets": [f"localhost:{names.PROMETHEUS_PORT}"]}],
            "relabel_configs": [{"target_label": "namespace", "replacement": stack.cluster.namespace}],
        }
    ]
    jobs += [_component_job(stack, *target) for target in _component_targets(stack)]
    jobs += [_service_job(svc) for svc in stack.services]
    jobs.append(_annotated_pods_job(stack))
    jobs += [_node_job("kubelet", ""), _node_job("cadvisor", "/cadvisor")]
    config["scrape_configs"] = jobs
    return config


def render_prometheus_config(stack: Stack) -> str:
    header = "# prometheus.yml rendered by `obs render` from stack.yaml; do not edit by hand.\n"
    return header + dump_yaml(render_prometheus_settings(stack))
