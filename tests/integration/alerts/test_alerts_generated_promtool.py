"""Integration: the rules `obs render` generates from the spec for targets and services, unit-tested with the real
promtool (2.42 and the built 3.x): absent/down alerts fire for a service or job that never had a target and keep
firing for as long as the outage lasts (hours, not the hour after which `offset 1h` forgot the target), and
KafkaBrokersDown holds against the broker count the spec deploys."""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.cli.io import read_spec
from observability.local.tools import promtool_test_rules
from observability.render.rules import SERVICE_RULES_FILE, TARGET_RULES_FILE, render_rule_files

pytestmark = pytest.mark.integration

TESTS = """
rule_files: [services.yaml, targets.yaml]
evaluation_interval: 1m
tests:
  - name: a service that never had a target pages, and still pages three hours later
    interval: 1m
    input_series:
      - series: 'up{job="shop/catalog",namespace="shop",service="catalog",instance="a"}'
        values: '1x200'
    alert_rule_test:
      - eval_time: 10m
        alertname: GoServiceAbsent
        exp_alerts:
          - exp_labels: {severity: page, job: shop/checkout, namespace: shop, service: checkout, team: payments}
            exp_annotations:
              summary: shop/checkout has no scrape targets
              description: >-
                Prometheus has found no target of shop/checkout for 5 minutes: its pods are gone, were never
                deployed, or no longer match the service's selector or metrics port in stack.yaml.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/GoServiceAbsent.md
      - eval_time: 180m
        alertname: GoServiceAbsent
        exp_alerts:
          - exp_labels: {severity: page, job: shop/checkout, namespace: shop, service: checkout, team: payments}
            exp_annotations:
              summary: shop/checkout has no scrape targets
              description: >-
                Prometheus has found no target of shop/checkout for 5 minutes: its pods are gone, were never
                deployed, or no longer match the service's selector or metrics port in stack.yaml.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/GoServiceAbsent.md
  - name: a service whose targets vanish pages during the whole outage and resolves when they return
    interval: 1m
    input_series:
      - series: 'up{job="shop/checkout",namespace="shop",service="checkout",instance="a"}'
        values: '1x10 _x200 1x20'
      - series: 'up{job="shop/catalog",namespace="shop",service="catalog",instance="a"}'
        values: '1x240'
    alert_rule_test:
      - eval_time: 9m
        alertname: GoServiceAbsent
        exp_alerts: []
      - eval_time: 200m
        alertname: GoServiceAbsent
        exp_alerts:
          - exp_labels: {severity: page, job: shop/checkout, namespace: shop, service: checkout, team: payments}
            exp_annotations:
              summary: shop/checkout has no scrape targets
              description: >-
                Prometheus has found no target of shop/checkout for 5 minutes: its pods are gone, were never
                deployed, or no longer match the service's selector or metrics port in stack.yaml.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/GoServiceAbsent.md
      - eval_time: 225m
        alertname: GoServiceAbsent
        exp_alerts: []
  - name: a component job without targets opens a ticket for as long as it has none (a down target is no absence)
    interval: 1m
    input_series:
      - series: 'up{job="kube-state-metrics",instance="k"}'
        values: '1x300'
      - series: 'up{job="filebeat",instance="f"}'
        values: '1x300'
      - series: 'up{job="kafka-exporter",instance="ke"}'
        values: '0x300'
      - series: 'up{job="elasticsearch-exporter",instance="ee"}'
        values: '1x300'
      - series: 'up{job="kubelet",instance="kl"}'
        values: '1x300'
      - series: 'up{job="cadvisor",instance="ca"}'
        values: '1x300'
    alert_rule_test:
      - eval_time: 240m
        alertname: ScrapeJobAbsent
        exp_alerts:
          - exp_labels: {severity: ticket, job: node-exporter}
            exp_annotations:
              summary: Scrape job node-exporter has no targets
              description: >-
                Prometheus has discovered no target for the job node-exporter for 10 minutes: the component is not
                running, or its pods no longer match the job's selector and metrics port.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/ScrapeJobAbsent.md
  - name: a lost Kafka broker pages until it is back, however long that takes
    interval: 1m
    input_series:
      - series: 'kafka_brokers{job="kafka-exporter",namespace="observability",instance="ke-0"}'
        values: '3x30 2x200 3x20'
    alert_rule_test:
      - eval_time: 25m
        alertname: KafkaBrokersDown
        exp_alerts: []
      - eval_time: 200m
        alertname: KafkaBrokersDown
        exp_alerts:
          - exp_labels: {severity: page, namespace: observability}
            exp_annotations:
              summary: Kafka has 2 of 3 brokers
              description: >-
                The Kafka cluster reports fewer brokers than the 3 the stack deploys, for as long as this lasts.
                Partitions led by the missing brokers move to others; with replication 1 they become unavailable
                and Filebeat buffers.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/KafkaBrokersDown.md
      - eval_time: 245m
        alertname: KafkaBrokersDown
        exp_alerts: []
  - name: promhttp's code/handler labels are recorded as status/route, errors with a zero where there are none
    interval: 1m
    input_series:
      - series: 'http_requests_total{namespace="shop",service="checkout",code="500",method="get",handler="/pay"}'
        values: '0+60x10'
      - series: 'http_requests_total{namespace="shop",service="checkout",code="200",method="get",handler="/pay"}'
        values: '0+240x10'
      - series: 'http_requests_total{namespace="shop",service="checkout",code="200",method="get",handler="/list"}'
        values: '0+60x10'
    promql_expr_test:
      - expr: service:http_requests:rate5m{service="checkout"}
        eval_time: 10m
        exp_samples:
          - labels: 'service:http_requests:rate5m{namespace="shop",service="checkout",
            method="get",route="/pay",status="500"}'
            value: 1
          - labels: 'service:http_requests:rate5m{namespace="shop",service="checkout",
            method="get",route="/pay",status="200"}'
            value: 4
          - labels: 'service:http_requests:rate5m{namespace="shop",service="checkout",
            method="get",route="/list",status="200"}'
            value: 1
      - expr: service:http_errors:rate5m{service="checkout"}
        eval_time: 10m
        exp_samples:
          - labels: 'service:http_errors:rate5m{namespace="shop",service="checkout",method="get",route="/pay"}'
            value: 1
          - labels: 'service:http_errors:rate5m{namespace="shop",service="checkout",method="get",route="/list"}'
            value: 0
"""


def test_generated_target_and_service_rules(example_spec_path, tmp_path: Path, prom_release) -> None:
    files = render_rule_files(read_spec(example_spec_path), {})
    (tmp_path / "services.yaml").write_text(files[SERVICE_RULES_FILE])
    (tmp_path / "targets.yaml").write_text(files[TARGET_RULES_FILE])
    (tmp_path / "generated.test.yaml").write_text(TESTS)
    result = promtool_test_rules([tmp_path / "generated.test.yaml"], promtool=prom_release.promtool)
    assert result.ok, result.output
    assert "SUCCESS" in result.output
