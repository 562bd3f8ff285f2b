"""Unit: the offline Alertmanager routing tree, inhibition and routing-tests file runner."""

from __future__ import annotations

import pytest
import yaml

from observability.check.alerts_routing import parse_matchers, routing_tree
from observability.check.alerts_routing_tests import parse_routing_tests, run_routing_tests
from observability.errors import CheckError

CONFIG = yaml.safe_load(
    """
route:
  receiver: default
  group_by: [alertname]
  repeat_interval: 4h
  routes:
    - receiver: team
      matchers: ['team="a"']
      continue: true
    - receiver: db
      match: {service: db}
      routes:
        - receiver: db-pager
          matchers: ['severity=~"page|critical"']
    - receiver: pager
      matchers: ['severity="page"']
      repeat_interval: 1h
    - receiver: never
      matchers: ['severity="page"']
inhibit_rules:
  - source_matchers: ['alertname="Down"']
    target_matchers: ['alertname=~"Slow|Errors"']
    equal: [service]
  - source_matchers: ['severity="page"']
    target_matchers: ['severity=~"page|ticket"']
    equal: [alertname]
receivers: [{name: default}, {name: team}, {name: db}, {name: db-pager}, {name: pager}, {name: never}]
"""
)


@pytest.fixture
def tree():
    return routing_tree(CONFIG)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"alertname": "X"}, ["default"]),
        ({"alertname": "X", "severity": "page"}, ["pager"]),  # first match without continue stops the walk
        ({"alertname": "X", "team": "a", "severity": "page"}, ["team", "pager"]),
        ({"alertname": "X", "team": "a"}, ["team"]),  # a continue-match alone means no fallback to the root
        ({"service": "db", "severity": "critical"}, ["db-pager"]),
        ({"service": "db", "severity": "info"}, ["db"]),  # no child matched: the parent takes it
    ],
)
def test_routes_follow_alertmanager_semantics(tree, labels, expected) -> None:
    assert tree.receivers_for(labels) == expected


def test_children_inherit_and_override_settings(tree) -> None:
    assert tree.routes_for({"severity": "page"})[0].repeat_interval == "1h"
    (db_pager,) = tree.routes_for({"service": "db", "severity": "page"})
    assert db_pager.repeat_interval == "4h" and db_pager.group_by == ("alertname",)


def test_inhibition_needs_a_firing_source_with_equal_labels(tree) -> None:
    slow = {"alertname": "Slow", "service": "api"}
    assert not tree.inhibited(slow, [slow])
    assert tree.inhibited(slow, [slow, {"alertname": "Down", "service": "api"}])
    assert not tree.inhibited(slow, [slow, {"alertname": "Down", "service": "web"}])
    # equal on a label missing from both sides counts as equal (both "")
    assert tree.inhibited({"alertname": "Slow"}, [{"alertname": "Down"}])


def test_an_alert_matching_both_sides_does_not_inhibit_itself(tree) -> None:
    page = {"alertname": "A", "severity": "page"}
    assert not tree.inhibited(page, [page])
    ticket = {"alertname": "A", "severity": "ticket"}
    assert tree.inhibited(ticket, [ticket, page])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a="b"', [("a", "=", "b")]),
        ('{a=~"x|y", b!=c}', [("a", "=~", "x|y"), ("b", "!=", "c")]),
        ('team=""', [("team", "=", "")]),
        ('msg="say \\"hi\\""', [("msg", "=", 'say "hi"')]),
        ("a!~b.*", [("a", "!~", "b.*")]),
    ],
)
def test_matcher_syntax(text, expected) -> None:
    assert [(m.name, m.op, m.value) for m in parse_matchers(text)] == expected


@pytest.mark.parametrize("text", ["a", "=b", '1a="b"', 'a=~"("'])
def test_bad_matchers_are_reported(text) -> None:
    with pytest.raises(CheckError, match="bad"):
        parse_matchers(text)


def test_unknown_receiver_in_a_route_is_an_error() -> None:
    with pytest.raises(CheckError, match=r"route.routes\[0\]: receiver 'x' is not defined"):
        routing_tree({"route": {"receiver": "d", "routes": [{"receiver": "x"}]}, "receivers": [{"name": "d"}]})


def test_routing_test_file_pass_and_fail(tree) -> None:
    cases = parse_routing_tests(
        """
tests:
  - name: ok
    alert: {alertname: Slow, service: api, severity: page}
    firing: [{alertname: Down, service: api}]
    receivers: [pager]
    inhibited: true
    repeat_interval: 1h
  - name: wrong
    alert: {alertname: X}
    receivers: [pager]
"""
    )
    ok, wrong = run_routing_tests(tree, cases)
    assert ok.ok, ok.problems
    assert wrong.problems == ["routed to ['default'], expected ['pager']"]
    assert wrong.case.line == 9


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("tests: [{name: x, alert: {a: b}}]", "needs 'receivers'"),
        ("tests: [{name: x, alert: {a: b}, receivers: [r], colour: red}]", "unknown keys"),
        ("tests: [{name: x, alert: [], receivers: [r]}]", "must be a mapping"),
        ("nope: 1", "expected one document with a 'tests:' list"),
    ],
)
def test_malformed_routing_tests_name_the_problem(text, match) -> None:
    with pytest.raises(CheckError, match=match):
        parse_routing_tests(text)


def test_repo_routing_tests_pass_for_the_example_spec(repo, example_spec_path) -> None:
    from observability.cli.io import read_spec
    from observability.render.alertmanager import render_alertmanager_dict

    tree = routing_tree(render_alertmanager_dict(read_spec(example_spec_path)))
    cases = parse_routing_tests((repo / "alerts" / "routing-tests.yaml").read_text())
    results = run_routing_tests(tree, cases)
    assert len(results) >= 10
    assert [r.case.name for r in results if not r.ok] == []
