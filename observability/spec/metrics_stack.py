"""Spec layer: the metrics stack of stack.yaml — Prometheus, Alertmanager, Grafana and the exporters."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from observability.spec.common import Component, Duration, External, Resources, Storage, StrictModel, resources


class Prometheus(Component):
    mode: Literal["managed", "external"] = "managed"
    image: str = "quay.io/prometheus/prometheus:v2.54.1"
    resources: Resources = resources("500m", "2Gi", None, "4Gi")
    storage: Storage = Storage(size="50Gi")
    retention: Duration = "15d"
    scrape_interval: Duration = "30s"
    evaluation_interval: Duration = "30s"
    external: External | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Prometheus:
        if self.mode == "external" and self.external is None:
            raise ValueError("mode is 'external', so 'external.url' must say where Prometheus runs")
        return self


class Alertmanager(Component):
    image: str = "quay.io/prometheus/alertmanager:v0.27.0"
    resources: Resources = resources("100m", "128Mi", None, "256Mi")
    storage: Storage = Storage(size="2Gi")
    retention: Duration = "120h"


class Grafana(Component):
    mode: Literal["managed", "external"] = "managed"
    image: str = "docker.io/grafana/grafana:11.3.0"
    resources: Resources = resources("100m", "256Mi", None, "512Mi")
    storage: Storage = Storage(size="5Gi")
    external: External | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Grafana:
        if self.mode == "external" and self.external is None:
            raise ValueError("mode is 'external', so 'external.url' must say where Grafana runs")
        return self


class NodeExporter(Component):
    image: str = "quay.io/prometheus/node-exporter:v1.8.2"
    resources: Resources = resources("50m", "64Mi", None, "128Mi")


class KubeStateMetrics(Component):
    image: str = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"
    resources: Resources = resources("50m", "128Mi", None, "256Mi")


class KafkaExporter(Component):
    image: str = "docker.io/danielqsj/kafka-exporter:v1.8.0"
    resources: Resources = resources("50m", "64Mi", None, "128Mi")


class ElasticsearchExporter(Component):
    image: str = "quay.io/prometheuscommunity/elasticsearch-exporter:v1.8.0"
    resources: Resources = resources("50m", "64Mi", None, "128Mi")


class Metrics(StrictModel):
    enabled: bool = True
    prometheus: Prometheus = Prometheus()
    alertmanager: Alertmanager = Alertmanager()
    grafana: Grafana = Grafana()
    node_exporter: NodeExporter = NodeExporter()
    kube_state_metrics: KubeStateMetrics = KubeStateMetrics()
    kafka_exporter: KafkaExporter = KafkaExporter()
    elasticsearch_exporter: ElasticsearchExporter = ElasticsearchExporter()
