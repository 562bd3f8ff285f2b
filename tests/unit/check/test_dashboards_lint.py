"""The dashboard linter finds each kind of problem it promises to find, and only those."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from observability.check.dashboards import lint_dashboards, promql_problem, substitute
from observability.render.dashboards import compile_dashboard, parse_definition

DEFINITION = """\
uid: ok
title: OK
variables:
  - {name: datasource, type: datasource, datasource_type: prometheus}
  - {name: service, type: query, query: 'label_values(up{job="x"}, service)'}
  - {name: window, type: custom, values: [30d, 7d]}
panels:
  - type: timeseries
    title: Rate
    unit: reqps
    queries:
      - expr: sum(rate(http_requests_total{service="$service"}[$__rate_interval]))
      - expr: sum(increase(http_requests_total{service=~"${service:regex}"}[$window]))
"""


def good() -> dict[str, Any]:
    return compile_dashboard(parse_definition(DEFINITION, "ok.yaml"), "ok")


def broken(edit: Any) -> list[str]:
    dashboard = copy.deepcopy(good())
    edit(dashboard)
    return [str(p) for p in lint_dashboards({"ok.json": dashboard})]


def test_a_good_dashboard_has_no_problems() -> None:
    assert lint_dashboards({"ok.json": good()}) == []


def target(d: dict[str, Any]) -> dict[str, Any]:
    return d["panels"][0]["targets"][0]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: target(d).update(expr="sum(rate(x[5m])"), "ok: panel 'Rate' query A: PromQL does not parse"),
        (lambda d: target(d).update(expr='up{service="$servcie"}'), "uses $servcie, which is not a variable"),
        (lambda d: d["panels"][0].update(type="graph"), "'graph' is deprecated; use 'timeseries'"),
        (lambda d: d["panels"][0].update(type="piechart"), "panel type 'piechart' is not one of"),
        (lambda d: d["panels"][0]["fieldConfig"]["defaults"].pop("unit"), "has no unit"),
        (lambda d: d["panels"][0].update(datasource={"type": "prometheus", "uid": "${ds}"}),
         "datasource ${ds} is not a datasource variable"),
        (lambda d: d["panels"][0].update(datasource={"type": "elasticsearch", "uid": "${datasource}"}),
         "picks prometheus datasources but the query is for elasticsearch"),
        (lambda d: d["panels"][0].update(datasource={"type": "prometheus", "uid": "abc123"}),
         "datasource uid 'abc123' is neither a variable nor a known datasource"),
        (lambda d: d["panels"][0].update(datasource="Prometheus"), "is a name; use"),
        (lambda d: d["templating"]["list"][1].update(query={"query": "label_values(up{, service)"}),
         "variable service: PromQL does not parse"),
        (lambda d: d["templating"]["list"][1].update(query={"query": "up"}), "is not label_values(...)"),
        (lambda d: d["panels"][0]["gridPos"].update(x=20), "extends past the 24-column grid"),
        (lambda d: d["panels"][0].update(targets=[]), "has no queries"),
    ],
)
def test_each_problem_is_reported(edit: Any, expected: str) -> None:
    problems = broken(edit)
    assert any(expected in p for p in problems), problems


def test_known_datasource_uids_resolve() -> None:
    dashboard = copy.deepcopy(good())
    dashboard["panels"][0]["datasource"] = {"type": "prometheus", "uid": "obs-prometheus"}
    assert lint_dashboards({"a": dashboard}, {"obs-prometheus": "prometheus"}) == []
    assert "is elasticsearch, not prometheus" in str(
        lint_dashboards({"a": dashboard}, {"obs-prometheus": "elasticsearch"})[0]
    )


def test_duplicate_uids_and_titles_are_reported() -> None:
    other = copy.deepcopy(good())
    problems = [str(p) for p in lint_dashboards({"a.json": good(), "b.json": other})]
    assert "b.json: uid 'ok' is also used by a.json; make it unique" in problems
    assert "b.json: title 'OK' is also used by a.json; make it unique" in problems


def test_substitute_handles_every_reference_form() -> None:
    text = 'x{a="$a", b=~"${b}", c="${c:regex}", d="[[d]]"}[$__rate_interval] $unknown'
    assert substitute(text, {"a": "1", "b": "2", "c": "3", "d": "4"}) == 'x{a="1", b=~"2", c="3", d="4"}[1m] $unknown'


def test_promql_problem() -> None:
    assert promql_problem("sum by (le) (rate(x_bucket[5m]))") is None
    assert promql_problem("  ") == "the query is empty"
    assert "does not parse" in str(promql_problem("rate(x[5m]"))
