"""Demo layer (PURE): turn the configuration `obs render` produces for a cluster into its local equivalent.

The demo runs the *rendered* prometheus.yml, rule files and alertmanager.yml, changed only where a single
machine differs from a cluster:

- Kubernetes service discovery cannot run, so each `kubernetes_sd_configs` job whose component runs locally
  gets a `static_configs` target carrying the `__meta_kubernetes_*` labels Kubernetes SD would attach to its
  pod (namespace, pod name, node, pod labels, container port). Prometheus then applies the rendered
  `relabel_configs` unchanged — the keep rules, the `namespace`/`service` labels and `honor_labels` are the
  real ones. Jobs for components the demo does not run (Filebeat, kubelet, cAdvisor, annotated pods) are left
  out. The self-scrape target points at the local Prometheus.
- `for:` durations of alert rules are capped (default 10s) so alerts fire within the demo's minutes;
  expressions are not touched.
- Alertmanager's webhook `url_file` points at a local file holding the demo receiver's URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from observability.render.names import alertmanager_secret_path, labels
from observability.spec import Stack, duration_seconds

DEMO_SPEC = Path(__file__).with_name("stack.yaml")
DEMO_NODE = "demo-node"
DEFAULT_MAX_FOR = "10s"


@dataclass(frozen=True)
class LocalPod:
    """A local process standing in for a pod that Kubernetes SD would discover."""

    address: str
    """host:port Prometheus scrapes."""
    namespace: str
    pod: str
    pod_labels: Mapping[str, str]
    port_name: str = ""
    port_number: int | None = None

    def meta_labels(self) -> dict[str, str]:
        """The `__meta_kubernetes_*` labels of Kubernetes SD's `pod` role for this pod."""
        out = {
            "__meta_kubernetes_namespace": self.namespace,
            "__meta_kubernetes_pod_name": self.pod,
            "__meta_kubernetes_pod_node_name": DEMO_NODE,
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_ready": "true",
            "__meta_kubernetes_pod_container_port_name": self.port_name,
            "__meta_kubernetes_pod_container_port_protocol": "TCP",
        }
        if self.port_number is not None:
            out["__meta_kubernetes_pod_container_port_number"] = str(self.port_number)
        for key, value in self.pod_labels.items():
            out[f"__meta_kubernetes_pod_label_{_sanitize(key)}"] = value
            out[f"__meta_kubernetes_pod_labelpresent_{_sanitize(key)}"] = "true"
        return out


def _sanitize(name: str) -> str:
    # Kubernetes SD turns label names into Prometheus label names by replacing invalid characters with '_'.
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


@dataclass(frozen=True)
class LocalTargets:
    """Where the local stand-ins listen, by the job name the rendered prometheus.yml gives them."""

    prometheus: str
    pods: dict[str, LocalPod] = field(default_factory=dict)


def component_pod(stack: Stack, component: str, address: str, port_name: str) -> LocalPod:
    """A stack component (processor, alertmanager) as the pod its manifests would create."""
    return LocalPod(
        address=address,
        namespace=stack.cluster.namespace,
        pod=f"{stack.name}-{component}-0",
        pod_labels=labels(stack, component),
        port_name=port_name,
    )


def service_pod(stack: Stack, name: str, namespace: str, address: str, pod_name: str) -> LocalPod:
    """A Go service of the spec as one of its pods: selector labels and the spec's metrics port."""
    svc = next(s for s in stack.services if s.name == name and s.namespace == namespace)
    port = svc.metrics.port
    return LocalPod(
        address=address,
        namespace=namespace,
        pod=pod_name,
        pod_labels=dict(svc.selector),
        port_name=port if isinstance(port, str) else "http",
        port_number=port if isinstance(port, int) else None,
    )


def localize_prometheus(rendered: str, targets: LocalTargets) -> tuple[str, list[str]]:
    """The rendered prometheus.yml with local targets, and the names of the jobs left out (nothing local)."""
    config = yaml.safe_load(rendered) or {}
    jobs: list[dict[str, Any]] = []
    skipped: list[str] = []
    for job in config.get("scrape_configs") or []:
        name = job.get("job_name", "")
        if "kubernetes_sd_configs" in job:
            pod = targets.pods.get(name)
            if pod is None:
                skipped.append(name)
                continue
            local = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
            local["static_configs"] = [{"targets": [pod.address], "labels": pod.meta_labels()}]
            # In a cluster the pod IP is scraped over plain HTTP inside the network; tls/auth stay as rendered.
            jobs.append(local)
        elif name == "prometheus":
            jobs.append({**job, "static_configs": [{"targets": [targets.prometheus]}]})
        else:
            jobs.append(job)
    config["scrape_configs"] = jobs
    config.pop("alerting", None)  # observability.local.start_prometheus points it at the local Alertmanager
    return yaml.safe_dump(config, sort_keys=False), skipped


def cap_rule_for(rule_files: Mapping[str, str], max_for: str = DEFAULT_MAX_FOR) -> dict[str, str]:
    """Rule files with every `for:` longer than `max_for` shortened to it (alerts fire in demo time)."""
    limit = duration_seconds(max_for)
    out: dict[str, str] = {}
    for name, text in rule_files.items():
        data = yaml.safe_load(text) or {}
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                if "for" in rule and duration_seconds(str(rule["for"])) > limit:
                    rule["for"] = max_for
                if "keep_firing_for" in rule and duration_seconds(str(rule["keep_firing_for"])) > limit:
                    rule["keep_firing_for"] = max_for
        out[name] = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return out


def localize_alertmanager(rendered: str, secrets: Mapping[str, Path]) -> str:
    """The rendered alertmanager.yml with each *_file secret path mapped to a local file (`secrets`:
    in-cluster path → local path); a path without a local file is left as it is."""
    config = yaml.safe_load(rendered) or {}
    for receiver in config.get("receivers") or []:
        for key, integrations in receiver.items():
            if not key.endswith("_configs"):
                continue
            for integration in integrations or []:
                for field_name, value in list(integration.items()):
                    if field_name.endswith("_file") and isinstance(value, str) and value in secrets:
                        integration[field_name] = str(secrets[value])
    return yaml.safe_dump(config, sort_keys=False)


def webhook_secret_paths(stack: Stack) -> list[str]:
    """In-cluster paths of every webhook receiver's URL file (the demo writes its receiver URL there)."""
    return [
        alertmanager_secret_path(r.webhook.url_secret) for r in stack.alerting.receivers if r.webhook is not None
    ]
