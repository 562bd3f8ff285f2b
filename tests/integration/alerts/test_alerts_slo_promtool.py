"""Integration: the SLO rules generated for the example spec, unit-tested with the real promtool —
a fast burn pages (and opens the slow-burn ticket), a burn within budget stays quiet, and the objectives
the SLO dashboard reads are recorded with the spec's values and the service's labels — on Debian's
promtool 2.42 and the current one built by `make tools` (prom_release in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.cli.io import read_spec
from observability.local.tools import promtool_test_rules
from observability.render.rules import SLO_RULES_FILE, render_rule_files

pytestmark = pytest.mark.integration

TESTS = """
rule_files: [slo.yaml]
evaluation_interval: 1m
tests:
  - name: the spec's objectives are constant series labelled like the service's own series
    interval: 1m
    promql_expr_test:
      - expr: namespace_service:slo_availability_objective:ratio
        eval_time: 5m
        exp_samples:
          - labels: 'namespace_service:slo_availability_objective:ratio{namespace="shop",service="checkout"}'
            value: 0.999
      - expr: namespace_service:slo_latency_objective:ratio
        eval_time: 5m
        exp_samples:
          - labels: 'namespace_service:slo_latency_objective:ratio{namespace="shop",service="checkout"}'
            value: 0.99
      - expr: namespace_service:slo_latency_threshold:seconds
        eval_time: 5m
        exp_samples:
          - labels: 'namespace_service:slo_latency_threshold:seconds{namespace="shop",service="checkout",le="0.25"}'
            value: 0.25
      - expr: namespace_service:slo_window:seconds
        eval_time: 5m
        exp_samples:
          - labels: 'namespace_service:slo_window:seconds{namespace="shop",service="checkout",window="30d"}'
            value: 2592000
  - name: the threshold series selects the SLI's histogram bucket by joining on le
    interval: 1m
    input_series:
      - series: 'http_request_duration_seconds_bucket{namespace="shop",service="checkout",instance="a",le="0.1"}'
        values: '0+500x10'
      - series: 'http_request_duration_seconds_bucket{namespace="shop",service="checkout",instance="a",le="0.25"}'
        values: '0+540x10'
      - series: 'http_request_duration_seconds_bucket{namespace="shop",service="checkout",instance="a",le="+Inf"}'
        values: '0+600x10'
    promql_expr_test:
      - expr: >-
          sum by (namespace, service) (
            http_request_duration_seconds_bucket
            and on(namespace, service, le) namespace_service:slo_latency_threshold:seconds
          )
        eval_time: 10m
        exp_samples:
          - labels: '{namespace="shop",service="checkout"}'
            value: 5400
  - name: 5% errors burn a 99.9% budget 50x too fast
    interval: 1m
    input_series:
      - series: 'http_requests_total{namespace="shop",service="checkout",instance="a",status="500"}'
        values: '0+30x120'
      - series: 'http_requests_total{namespace="shop",service="checkout",instance="a",status="200"}'
        values: '0+570x120'
    alert_rule_test:
      - eval_time: 70m
        alertname: SLOErrorBudgetBurn
        exp_alerts:
          - exp_labels: {severity: page, slo: availability, team: payments, namespace: shop, service: checkout}
            exp_annotations:
              summary: shop/checkout is burning its availability error budget too fast
              description: >-
                The share of 5xx responses of shop/checkout is 5% (objective 99.9% over 30d); at
                this rate the error budget runs out within days.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/SLOErrorBudgetBurn.md
          - exp_labels: {severity: ticket, slo: availability, team: payments, namespace: shop, service: checkout}
            exp_annotations:
              summary: shop/checkout is burning its availability error budget too slow
              description: >-
                The share of 5xx responses of shop/checkout is 5% (objective 99.9% over 30d); at
                this rate the error budget runs out before the SLO window ends.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/SLOErrorBudgetBurn.md
  - name: promhttp's own labels (code, handler) burn the budget the same way
    interval: 1m
    input_series:
      - series: 'http_requests_total{namespace="shop",service="checkout",code="503",handler="/pay",method="post"}'
        values: '0+30x120'
      - series: 'http_requests_total{namespace="shop",service="checkout",code="200",handler="/pay",method="post"}'
        values: '0+570x120'
    promql_expr_test:
      - expr: namespace_service:slo_errors:ratio_rate1h
        eval_time: 70m
        exp_samples:
          - labels: 'namespace_service:slo_errors:ratio_rate1h{namespace="shop",service="checkout"}'
            value: 0.05
  - name: 0.05% errors are within a 99.9% budget
    interval: 1m
    input_series:
      - series: 'http_requests_total{namespace="shop",service="checkout",instance="a",status="500"}'
        values: '0+3x120'
      - series: 'http_requests_total{namespace="shop",service="checkout",instance="a",status="200"}'
        values: '0+5997x120'
    alert_rule_test:
      - eval_time: 70m
        alertname: SLOErrorBudgetBurn
        exp_alerts: []
  - name: slow requests burn the latency budget (250ms threshold, 99% target)
    interval: 1m
    input_series:
      - series: 'http_request_duration_seconds_bucket{namespace="shop",service="checkout",instance="a",le="0.25"}'
        values: '0+540x120'
      - series: 'http_request_duration_seconds_count{namespace="shop",service="checkout",instance="a"}'
        values: '0+600x120'
    alert_rule_test:
      - eval_time: 70m
        alertname: SLOLatencyBudgetBurn
        exp_alerts:
          - exp_labels: {severity: page, slo: latency, team: payments, namespace: shop, service: checkout}
            exp_annotations:
              summary: shop/checkout is burning its latency error budget too fast
              description: >-
                The share of requests slower than the latency threshold of shop/checkout is 10%
                (objective 99% over 30d); at this rate the error budget runs out within days.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/SLOLatencyBudgetBurn.md
          - exp_labels: {severity: ticket, slo: latency, team: payments, namespace: shop, service: checkout}
            exp_annotations:
              summary: shop/checkout is burning its latency error budget too slow
              description: >-
                The share of requests slower than the latency threshold of shop/checkout is 10%
                (objective 99% over 30d); at this rate the error budget runs out before the SLO
                window ends.
              runbook_url: https://github.com/observability/observability/blob/main/docs/runbooks/SLOLatencyBudgetBurn.md
"""


def test_generated_slo_rules_fire_on_fast_burn_and_stay_quiet_within_budget(
    example_spec_path, tmp_path: Path, prom_release
) -> None:
    rules = render_rule_files(read_spec(example_spec_path), {})[SLO_RULES_FILE]
    (tmp_path / "slo.yaml").write_text(rules)
    (tmp_path / "slo.test.yaml").write_text(TESTS)
    result = promtool_test_rules([tmp_path / "slo.test.yaml"], promtool=prom_release.promtool)
    assert result.ok, result.output
    assert "SUCCESS" in result.output
