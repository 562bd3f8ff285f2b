"""Integration: the shipped rule files and their promtool unit tests on both Prometheus releases a user's
cluster may run — Debian's 2.42 and the current 3.x built by `make tools` (prom_release, tests/conftest.py).

Prometheus 3 changed PromQL and rule parsing (left-open range selectors, `le` normalisation of classic
histogram buckets, `.` matching newlines in regexes, UTF-8 names); a rule that passes on one and not the
other fails here with the release in the test id.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.check.alerts_lint import promtool_problems
from observability.cli.io import read_spec
from observability.local.tools import promtool_check_rules, promtool_test_rules
from observability.render.rules import SLO_RULES_FILE, render_rule_files
from observability.spec import Stack

pytestmark = pytest.mark.integration

ROUTING_TESTS = "routing-tests.yaml"


def _shipped_rule_files(repo: Path, spec_path: Path) -> dict[str, str]:
    files = {
        str(p.relative_to(repo)): p.read_text(encoding="utf-8")
        for p in sorted((repo / "alerts").glob("*.yaml"))
        if p.name != ROUTING_TESTS
    }
    files[SLO_RULES_FILE] = render_rule_files(read_spec(spec_path), {})[SLO_RULES_FILE]
    return files


def test_every_rule_file_passes_promtool_check_rules(repo: Path, example_spec_path: Path, prom_release) -> None:
    files = _shipped_rule_files(repo, example_spec_path)
    assert len(files) >= 3, sorted(files)
    result = promtool_check_rules(files, promtool=prom_release.promtool)
    assert result.ok, result.output
    assert result.output.count("SUCCESS") == len(files), result.output


def test_promtool_check_rules_rejects_a_broken_rule(prom_release) -> None:
    broken = "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n"
    result = promtool_check_rules({"broken.yaml": broken}, promtool=prom_release.promtool)
    assert not result.ok
    assert "broken.yaml" in result.output


BROKEN_TWICE = """\
groups:
  - name: first
    rules:
      - alert: BadExpr
        labels: {severity: page}
        expr: sum(rate(x[5m])
  - name: second
    rules:
      - record: fine:up
        expr: up
      - alert: BadLabel
        labels:
          bad-label: y
        expr: up == 0
"""


def test_promtool_errors_name_file_line_group_and_rule(prom_release) -> None:
    # Whatever each release reports (2.42 both errors, 3.x may stop at the first), every problem names the
    # group, the rule and a line inside that rule.
    result = promtool_check_rules({"alerts/broken.yaml": BROKEN_TWICE}, promtool=prom_release.promtool)
    assert not result.ok
    problems = promtool_problems(result.output, {"alerts/broken.yaml": BROKEN_TWICE})
    rule_lines = {"BadExpr": range(4, 7), "BadLabel": range(11, 15)}
    assert problems and all(p.file == "alerts/broken.yaml" for p in problems), result.output
    for problem in problems:
        assert problem.rule in rule_lines, (str(problem), result.output)
        assert problem.group == {"BadExpr": "first", "BadLabel": "second"}[problem.rule]
        assert problem.line in rule_lines[problem.rule], (str(problem), result.output)


def test_every_promtool_unit_test_passes(repo: Path, prom_release) -> None:
    test_files = sorted((repo / "tests" / "alerts").glob("*.test.yaml"))
    assert len(test_files) >= 3, test_files
    result = promtool_test_rules(test_files, promtool=prom_release.promtool)
    assert result.ok, result.output
    assert result.output.count("SUCCESS") == len(test_files), result.output


WHOLE_SECOND_SLI_TEST = """
rule_files: [slo.yaml]
evaluation_interval: 1m
tests:
  - name: a whole-second latency threshold selects its bucket stored as le="{le}"
    interval: 1m
    input_series:
      - series: 'http_request_duration_seconds_bucket{{namespace="shop",service="checkout",instance="a",le="{le}"}}'
        values: '0+50x10'
      - series: 'http_request_duration_seconds_count{{namespace="shop",service="checkout",instance="a"}}'
        values: '0+100x10'
    promql_expr_test:
      - expr: namespace_service:slo_slow_requests:ratio_rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'namespace_service:slo_slow_requests:ratio_rate5m{{namespace="shop",service="checkout"}}'
            value: 0.5
"""


@pytest.mark.parametrize("stored_le", ["1", "1.0"], ids=["le-as-written", "le-normalised-by-3.x"])
def test_a_whole_second_threshold_finds_its_bucket_however_it_is_stored(
    tmp_path: Path, prom_release, stored_le: str
) -> None:
    # Prometheus 3 ingests client_golang's le="1" as le="1.0" (its 3.0 migration guide); 2.x keeps "1".
    stack = Stack.model_validate(
        {
            "cluster": {"name": "t"},
            "services": [
                {
                    "name": "checkout",
                    "namespace": "shop",
                    "selector": {"app": "checkout"},
                    "metrics": {"port": 8080},
                    "slo": {"latency": {"threshold": "1s", "target": 99}, "window": "30d"},
                }
            ],
        }
    )
    (tmp_path / "slo.yaml").write_text(render_rule_files(stack, {})[SLO_RULES_FILE])
    (tmp_path / "slo.test.yaml").write_text(WHOLE_SECOND_SLI_TEST.format(le=stored_le))
    result = promtool_test_rules([tmp_path / "slo.test.yaml"], promtool=prom_release.promtool)
    assert result.ok, result.output
