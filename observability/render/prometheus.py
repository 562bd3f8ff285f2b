"""Render layer (PURE): prometheus.yml."""

from __future__ import annotations

from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack


def render_prometheus_config(stack: Stack) -> str:
    prom = stack.metrics.prometheus
    config = {
        "global": {
            "scrape_interval": prom.scrape_interval,
            "evaluation_interval": prom.evaluation_interval,
            "external_labels": {"cluster": stack.cluster.name},
        },
        "rule_files": ["/etc/prometheus/rules/*.yaml"],
        "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]}],
    }
    return dump_yaml(config)
