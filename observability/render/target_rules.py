"""Render layer (PURE): alerts that need to know what the stack runs — generated, because a rule file cannot.

- `ScrapeJobAbsent` for every scrape job of a stack component (render/prometheus.py): `absent(up{job=…})` fires
  while the job has no target at all, including one that never had any, and keeps firing for as long as that
  lasts. (`up == 0`, a target that exists but fails, is `TargetDown` in alerts/stack.yaml; a service's own job is
  `GoServiceAbsent` in render/http_rules.py.)
- `KafkaBrokersDown` against the broker count the spec deploys (`logging.kafka.replicas`): comparing with the count
  an hour ago, as before, resolved an hour into an outage that was still going on.
"""

from __future__ import annotations

from typing import Any

from observability.render.http_rules import runbook_url, service_job
from observability.render.prometheus import render_prometheus_settings
from observability.spec import Stack

# Jobs that may legitimately be empty (opt-in annotations) or always exist while rules are evaluated, and jobs
# whose hand-written alert already says "no healthy target" (absent(up{job=…} == 1): LogProcessorDown,
# AlertmanagerDown, GrafanaDown).
_SKIPPED_JOBS = {"kubernetes-pods", "prometheus", "processor", "alertmanager", "grafana"}


def _absent_job_alert(job: str) -> dict[str, Any]:
    return {
        "alert": "ScrapeJobAbsent",
        "expr": f'absent(up{{job="{job}"}})',
        "for": "10m",
        "labels": {"severity": "ticket", "job": job},
        "annotations": {
            "summary": f"Scrape job {job} has no targets",
            "description": (
                f"Prometheus has discovered no target for the job {job} for 10 minutes: the component is not "
                "running, or its pods no longer match the job's selector and metrics port."
            ),
            "runbook_url": runbook_url("ScrapeJobAbsent"),
        },
    }


def _kafka_brokers_alert(stack: Stack) -> dict[str, Any]:
    expected = stack.logging.kafka.replicas
    return {
        "alert": "KafkaBrokersDown",
        # kafka-exporter reports the brokers in the cluster metadata; the spec says how many there should be.
        "expr": f"max by (namespace) (kafka_brokers) < {expected}",
        "for": "5m",
        "labels": {"severity": "page"},
        "annotations": {
            "summary": "Kafka has {{ $value }} of " + str(expected) + " brokers",
            "description": (
                f"The Kafka cluster reports fewer brokers than the {expected} the stack deploys, for as long as "
                "this lasts. Partitions led by the missing brokers move to others; with replication 1 they become "
                "unavailable and Filebeat buffers."
            ),
            "runbook_url": runbook_url("KafkaBrokersDown"),
        },
    }


def render_target_groups(stack: Stack) -> list[dict[str, Any]]:
    service_jobs = {service_job(svc) for svc in stack.services}
    jobs = [
        str(job["job_name"])
        for job in render_prometheus_settings(stack)["scrape_configs"]
        if job["job_name"] not in service_jobs and job["job_name"] not in _SKIPPED_JOBS
    ]
    groups: list[dict[str, Any]] = []
    if jobs and stack.metrics.enabled:
        groups.append({"name": "scrape-jobs", "rules": [_absent_job_alert(job) for job in jobs]})
    log, met = stack.logging, stack.metrics
    if log.enabled and log.kafka.enabled and log.kafka.mode == "managed" and met.enabled and met.kafka_exporter.enabled:
        groups.append({"name": "kafka-brokers", "rules": [_kafka_brokers_alert(stack)]})
    return groups
