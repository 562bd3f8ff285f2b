"""Unit: every own lint check has a failing and a passing case; PrometheusRule CRs and file:line output."""

from __future__ import annotations

import json

import pytest
import yaml

from observability.check.alerts_lint import lint_rule_files, promtool_problems

GOOD = {
    "alert": "GoodAlert",
    "expr": 'sum by (namespace, service) (rate(http_requests_total{status=~"5.."}[5m])) > 1',
    "for": "5m",
    "labels": {"severity": "page"},
    "annotations": {
        "summary": "s",
        "description": "d",
        "runbook_url": "https://example.com/repo/blob/main/docs/runbooks/GoodAlert.md",
    },
}


def _file(*rules: dict, group: str = "g") -> str:
    return yaml.safe_dump({"groups": [{"name": group, "rules": list(rules)}]}, sort_keys=False)


def _lint(*rules: dict, runbooks: set[str] | None = None, **kw) -> list[tuple[str, str]]:
    problems = lint_rule_files({"r.yaml": _file(*rules)}, runbooks=runbooks, **kw)
    return [(p.check, p.severity) for p in problems]


def _with(**changes) -> dict:
    rule = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return rule


def test_the_good_rule_passes_every_check() -> None:
    assert _lint(GOOD, runbooks={"GoodAlert"}) == []


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (_with(labels={}), ("required-label", "error")),
        (_with(labels={"severity": "urgent"}), ("required-label", "error")),
        (_with(annotations={"summary": "s", "description": "d"}), ("required-annotation", "error")),
        (_with(annotations={**GOOD["annotations"], "summary": " "}), ("required-annotation", "error")),
        (_with(annotations={**GOOD["annotations"], "runbook_url": "https://wiki/x"}), ("runbook", "warning")),
        (_with(**{"for": None}), ("for-on-page", "error")),
        (_with(**{"for": "0s"}), ("for-on-page", "error")),
        (_with(expr="rate(x[1m]) > 1"), ("rate-window", "error")),
        (_with(expr="sum(increase(x[90s])) > 1"), ("rate-window", "error")),
        (_with(labels={"severity": "page", "bad-name": "x"}), ("label-name", "error")),
        (_with(labels={"severity": "page", "__meta": "x"}), ("label-name", "error")),
        (_with(labels={"severity": "page", "value": "{{ $value }}"}), ("label-cardinality", "error")),
        (_with(expr="sum by (path) (rate(x[5m])) > 1"), ("label-cardinality", "warning")),
        (_with(expr="vector(1) > 2"), ("never-fires", "error")),
        (_with(expr="count(up) == 0"), ("never-fires", "error")),
        (_with(expr="rate(x[5m]) < 0"), ("never-fires", "error")),
        (_with(expr='up{job="a", job="b"} == 0'), ("never-fires", "error")),
        (_with(expr="sum(rate(x[5m]) > 1"), ("promql", "error")),
        (_with(expr="elasticsearch_indices_indexing_index_total > 100000"), ("counter-without-rate", "error")),
        (_with(expr="sum by (job) (http_request_duration_seconds_count) > 10"), ("counter-without-rate", "error")),
    ],
)
def test_each_check_fails_on_its_bad_case(rule: dict, expected: tuple[str, str]) -> None:
    assert expected in _lint(rule, runbooks={"GoodAlert"})


@pytest.mark.parametrize(
    "rule",
    [
        _with(labels={"severity": "ticket"}, **{"for": None}),  # for: only required on pages
        _with(expr="rate(x[2m]) > 1"),  # 4 × 30s
        _with(expr="count(up) > 0"),
        _with(expr="absent(up) == 1"),
        _with(expr="sum by (namespace, service) (rate(x[5m])) < 0.5"),
        _with(expr='up{job="a", instance="b"} == 0'),
        _with(expr="vector(1) < 2"),
        _with(labels={"severity": "info", "team": "x_1"}),
    ],
)
def test_passing_variants_raise_nothing(rule: dict) -> None:
    assert _lint(rule, runbooks={"GoodAlert"}) == []


def test_missing_runbook_page_is_an_error_only_when_runbooks_are_known() -> None:
    assert ("runbook", "error") in _lint(GOOD, runbooks=set())
    assert _lint(GOOD, runbooks=None) == []


def test_scrape_interval_sets_the_minimum_window() -> None:
    rule = _with(expr="rate(x[1m]) > 1")
    assert _lint(rule, scrape_interval=15) == []
    assert ("rate-window", "error") in _lint(rule, scrape_interval=30)


def test_duplicates_across_files_and_groups() -> None:
    files = {"a.yaml": _file(GOOD), "b.yaml": _file(GOOD)}
    problems = lint_rule_files(files)
    assert [(p.file, p.check) for p in problems] == [("b.yaml", "duplicate")]
    assert "already at a.yaml:" in problems[0].message
    # the same name with a different severity (fast/slow burn) is not a duplicate
    assert lint_rule_files({"a.yaml": _file(GOOD, _with(labels={"severity": "ticket"}))}) == []
    two_groups = "groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n"
    assert [p.check for p in lint_rule_files({"c.yaml": two_groups})] == ["duplicate"]


def test_problems_carry_file_line_group_and_alert() -> None:
    text = _file(GOOD, _with(alert="Second", labels=None))
    (problem,) = [p for p in lint_rule_files({"r.yaml": text}) if p.check == "required-label"]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "alert: Second" in t)
    assert str(problem).startswith(f"r.yaml:{line}: g/Second: label 'severity' is missing")


# Every problem points at the line that has to change, not at the rule's first line (the keys of a rule are in
# any order, so a rule's first line says nothing about where its expression or labels are).
MANY = """\
groups:
  - name: first
    rules:
      - alert: BadExpr
        labels:
          severity: page
        for: 5m
        expr: sum(rate(x[5m])
        annotations: {summary: s, description: d, runbook_url: https://x/docs/runbooks/BadExpr.md}
  - name: second
    rules:
      - alert: Several
        annotations:
          summary: s
          description: d
          runbook_url: https://x/docs/runbooks/Other.md
        labels:
          team: shop
          severity: urgent
          bad-label: y
          value: "{{ $value }}"
        for: 5m
        expr: rate(x[30s]) < 0
      - alert: PagesAtOnce
        labels: {severity: page}
        for: 0s
        annotations: {summary: s, description: d, runbook_url: https://x/docs/runbooks/PagesAtOnce.md}
        expr: up == 0
"""


def test_every_problem_names_group_alert_and_the_line_to_fix() -> None:
    found = {(p.group, p.rule, p.check, p.line) for p in lint_rule_files({"r.yaml": MANY})}
    assert found == {
        ("first", "BadExpr", "promql", 8),
        ("second", "Several", "runbook", 16),
        ("second", "Several", "required-label", 19),
        ("second", "Several", "label-name", 20),
        ("second", "Several", "label-cardinality", 21),
        ("second", "Several", "rate-window", 23),
        ("second", "Several", "never-fires", 23),
        ("second", "PagesAtOnce", "for-on-page", 26),
    }
    rendered = [str(p) for p in lint_rule_files({"r.yaml": MANY})]
    assert "r.yaml:8: first/BadExpr: expression does not parse: unclosed left parenthesis [promql]" in rendered


def test_a_file_level_problem_has_no_empty_group_in_its_text() -> None:
    (problem,) = lint_rule_files({"x.yaml": "foo: [1, 2]\n"})
    assert str(problem).startswith("x.yaml:1: no 'groups:' list")


# `promtool check rules` output as promtool 2.42 (Debian) prints it for MANY, captured from the real program;
# the format is Prometheus' rulefmt Error.Error (prometheus/prometheus model/rulefmt/rulefmt.go).
PROMTOOL_OUTPUT = """\
Checking r.yaml
  FAILED:
r.yaml: 8:15: group "first", rule 1, "BadExpr": could not parse expression: 1:16: parse error: unclosed left parenthesis
r.yaml: group "second", rule 1, "Several": invalid label name: bad-label
"""


def test_promtool_output_names_file_line_group_and_rule() -> None:
    problems = promtool_problems(PROMTOOL_OUTPUT, {"r.yaml": MANY})
    assert [(p.file, p.line, p.group, p.rule) for p in problems] == [
        ("r.yaml", 8, "first", "BadExpr"),
        ("r.yaml", 12, "second", "Several"),  # no position from promtool: the rule's line
    ]
    assert str(problems[1]) == "r.yaml:12: second/Several: invalid label name: bad-label [promtool]"


def test_promtool_output_without_a_rule_keeps_the_file_and_yaml_line() -> None:
    output = "Checking r.yaml\n  FAILED:\nr.yaml: yaml: unmarshal errors:\n  line 3: field rulez not found\n"
    problems = promtool_problems(output, {"r.yaml": "groups: []\n"})
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("r.yaml", 1, "yaml: unmarshal errors:"),
        ("r.yaml", 3, "line 3: field rulez not found"),
    ]


def test_prometheusrule_custom_resources_are_linted() -> None:
    cr = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x"},
        "spec": {"groups": [{"name": "cr", "rules": [_with(labels={})]}]},
    }
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}
    text = yaml.safe_dump_all([other, cr], sort_keys=False)
    problems = lint_rule_files({"bundle.yaml": text})
    assert [(p.group, p.rule, p.check) for p in problems] == [("cr", "GoodAlert", "required-label")]
    assert problems[0].line > 5


def test_not_a_rule_file_is_reported_not_raised() -> None:
    problems = lint_rule_files({"x.yaml": "foo: [1, 2]\n", "y.yaml": "groups: [\n"})
    assert [(p.file, p.check) for p in problems] == [("x.yaml", "promql"), ("y.yaml", "promql")]
    assert "invalid YAML" in problems[1].message


def test_repo_alert_files_lint_clean(repo) -> None:
    from observability.cli.sources import ALERTS, read_source_dir, source_dir

    sources = read_source_dir(source_dir(ALERTS, repo / "alerts"))
    sources.pop("routing-tests.yaml")
    runbooks = {p.stem for p in (repo / "docs" / "runbooks").glob("*.md")}
    problems = lint_rule_files(sources, runbooks=runbooks)
    assert [str(p) for p in problems] == []


@pytest.mark.parametrize(
    "expr",
    [
        "rate(elasticsearch_indices_indexing_index_total[5m]) > 100",
        "increase(kube_pod_container_status_restarts_total[30m]) > 3",
        "absent(up{job='x'}) == 1",
        "changes(process_start_time_seconds[1h]) > 2",
        "kafka_brokers < 3",
    ],
)
def test_counters_under_rate_increase_or_absent_are_fine(expr: str) -> None:
    assert ("counter-without-rate", "error") not in _lint(_with(expr=expr), runbooks={"GoodAlert"})


def test_severity_vocabulary_accepts_the_ecosystems_and_can_be_configured() -> None:
    for severity in ("critical", "warning", "info", "none"):
        assert _lint(_with(labels={"severity": severity}), runbooks={"GoodAlert"}) == [], severity
    custom = {"severities": ("sev1", "sev2"), "paging": ("sev1",)}
    assert ("required-label", "error") in _lint(GOOD, runbooks={"GoodAlert"}, **custom)
    assert _lint(_with(labels={"severity": "sev2"}, **{"for": None}), runbooks={"GoodAlert"}, **custom) == []
    assert ("for-on-page", "error") in _lint(_with(labels={"severity": "sev1"}, **{"for": None}), **custom)
