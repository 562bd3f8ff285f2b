"""The demo's live summary lines, its traffic plan and the smoke checks' pure parts."""

from __future__ import annotations

import random

from rich.console import Console

from observability.demo.checks import check_dashboards, dashboard_queries, resolve_variables
from observability.demo.summary import DemoSnapshot, status_line, summary_rows, summary_table
from observability.demo.traffic import BURST_MIX, TrafficPlan, in_burst, pick_request
from observability.render.dashboard_defs import Definition

SNAPSHOT = DemoSnapshot(
    uptime_s=125.4,
    lines_read=1520,
    events_shipped=1500,
    ship_failures=0,
    events_consumed=1490,
    events_indexed=1480,
    events_dead_lettered=2,
    requests_sent=2400,
    requests_5xx=310,
    burst=True,
    alerts_prometheus=("GoServiceHighErrorRate", "GoServiceHighErrorLogRate"),
    alerts_alertmanager=("GoServiceHighErrorRate",),
    alerts_webhook=(),
    sink="embedded store .demo/logs.sqlite",
    urls=(("Prometheus", "http://127.0.0.1:9090/alerts"),),
    problems=("processor exited with code 1",),
)


def test_status_line_is_one_plain_line_for_logs_without_a_terminal():
    assert status_line(SNAPSHOT) == (
        "running for 2m05s; traffic 2,400 requests, 310 × 5xx  [error burst]; "
        "shipped 1,500 of 1,520 log lines to Kafka; processed 1,490 consumed, 1,480 indexed, 2 dead-lettered; "
        "alerts firing GoServiceHighErrorLogRate, GoServiceHighErrorRate; webhook got none; "
        "problem processor exited with code 1"
    )


def test_summary_rows():
    assert summary_rows(SNAPSHOT) == [
        ("running for", "2m05s"),
        ("traffic", "2,400 requests, 310 × 5xx  [error burst]"),
        ("shipped", "1,500 of 1,520 log lines to Kafka"),
        ("processed", "1,490 consumed, 1,480 indexed, 2 dead-lettered"),
        ("log store", "embedded store .demo/logs.sqlite"),
        ("alerts firing", "GoServiceHighErrorLogRate, GoServiceHighErrorRate"),
        ("in Alertmanager", "GoServiceHighErrorRate"),
        ("webhook got", "none"),
        ("Prometheus", "http://127.0.0.1:9090/alerts"),
        ("problem", "processor exited with code 1"),
    ]


def test_summary_before_the_processor_answers_and_without_failures():
    quiet = DemoSnapshot(
        uptime_s=3, lines_read=0, events_shipped=0, ship_failures=4, events_consumed=None, events_indexed=None,
        events_dead_lettered=None, requests_sent=0, requests_5xx=0, burst=False, alerts_prometheus=(),
        alerts_alertmanager=(), alerts_webhook=(), sink="Elasticsearch http://es:9200",
    )
    rows = dict(summary_rows(quiet))
    assert rows["processed"] == "… consumed, … indexed"
    assert rows["shipped"] == "0 of 0 log lines to Kafka (4 failed)"
    assert rows["traffic"] == "0 requests, 0 × 5xx"
    assert "problem" not in rows


def test_summary_table_renders_every_row():
    console = Console(width=120, record=True)
    console.print(summary_table(SNAPSHOT))
    text = console.export_text()
    for label, value in summary_rows(SNAPSHOT):
        assert label in text and value in text
    assert "Ctrl-C stops everything" in text


def test_bursts_follow_the_plan():
    plan = TrafficPlan(first_burst_after=20, burst_every=90, burst_length=45)
    assert [in_burst(plan, t) for t in (0, 19.9, 20, 64.9, 65, 109.9, 110, 155)] == [
        False, False, True, True, False, False, True, False,
    ]


def test_burst_requests_come_from_the_failing_mix():
    rng = random.Random(7)
    burst_paths = {p for _, p, _ in BURST_MIX}
    picked = [pick_request(rng, burst=True) for _ in range(200)]
    assert {p for _, p, _ in picked} == burst_paths
    normal = [pick_request(rng, burst=False) for _ in range(500)]
    orders = [(m, b) for m, p, b in normal if p == "/api/orders"]
    assert {m for m, _ in orders} == {"POST"}
    assert b"" in {b for _, b in orders} and any(b for _, b in orders)  # empty bodies give 400s
    assert any(p == "/api/items/abc" for _, p, _ in normal)
    assert not any("{" in p for _, p, _ in normal)


DEFINITION = Definition.model_validate({
    "title": "Svc",
    "variables": [
        {"name": "datasource", "type": "datasource", "datasource_type": "prometheus"},
        {"name": "namespace", "type": "query", "query": "label_values(go_info, namespace)"},
        {"name": "service", "type": "query", "query": 'label_values(go_info{namespace="$namespace"}, service)'},
        {"name": "instance", "type": "query", "query": 'label_values(up{service="$service"}, instance)',
         "multi": True, "include_all": True},
        {"name": "quantile", "type": "custom", "values": ["0.99", "0.5"]},
    ],
    "panels": [
        {"row": "r"},
        {"type": "stat", "title": "Rate", "unit": "reqps", "queries": [
            {"expr": 'sum(rate(http_requests_total{namespace="$namespace", service="$service", '
                     'instance=~"$instance"}[$__rate_interval]))'}]},
        {"type": "stat", "title": "Nodes", "unit": "short", "queries": [{"expr": "count(kube_node_info)"}],
         "needs": {"component": "kube-state-metrics", "reason": "no nodes in the local API server"}},
    ],
})


def fake_label_values(selector, label):
    data = {
        ("go_info", "namespace"): ["shop", "other"],
        ('go_info{namespace="shop"}', "service"): ["catalog", "checkout"],
        ('up{service="checkout"}', "instance"): ["127.0.0.1:1", "127.0.0.1:2"],
    }
    return data.get((selector, label), [])


def test_variables_resolve_in_order_like_grafana():
    values, problems = resolve_variables(DEFINITION, fake_label_values, {"namespace": "shop", "service": "checkout"})
    assert problems == []
    assert values == {"namespace": "shop", "service": "checkout", "instance": r"(127\\.0\\.0\\.1:1|127\\.0\\.0\\.1:2)",
                      "quantile": "0.99"}


def test_dashboard_check_runs_every_query_except_those_needing_absent_components():
    assert [(q.panel, q.needs) for q in dashboard_queries({"svc": DEFINITION})] == [
        ("Rate", None), ("Nodes", "kube-state-metrics"),
    ]
    seen: list[str] = []

    def query(expr):
        seen.append(expr)
        return [{"value": [0, "1"]}]

    result = check_dashboards({"svc": DEFINITION}, query, fake_label_values,
                              {"namespace": "shop", "service": "checkout"})
    assert result.ok, result.detail
    assert result.detail == "1 queries returned data (1 need components the demo cannot run)"
    assert seen == [r'sum(rate(http_requests_total{namespace="shop", service="checkout", '
                    r'instance=~"(127\\.0\\.0\\.1:1|127\\.0\\.0\\.1:2)"}[1m]))']


def test_a_variable_without_values_is_a_problem():
    result = check_dashboards({"svc": DEFINITION}, lambda expr: [{"value": 1}], fake_label_values,
                              {"namespace": "shop"})  # picks service "catalog", which has no instances
    assert not result.ok
    assert "variable instance: label_values(up{service=\"$service\"}, instance) returned no values" in result.detail


def test_dashboard_check_names_the_first_empty_query():
    result = check_dashboards({"svc": DEFINITION}, lambda expr: [], fake_label_values,
                              {"namespace": "shop", "service": "checkout"})
    assert not result.ok
    assert result.detail.startswith("1 problem(s) in 1 queries, first: Svc / Rate: no data for sum(rate(")
