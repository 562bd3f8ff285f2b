"""Demo layer (I/O): the checks `obs demo --smoke` waits for, each answering "done yet, and if not, why".

1. logs: the sample service's events are searchable with parsed fields (level, route, HTTP status, trace id);
2. alerts: the high-error-rate and high-error-log-rate alerts are active in Alertmanager and reached the
   local webhook receiver;
3. dashboards: every Prometheus query of every dashboard returns data, with its template variables resolved
   the way Grafana would (label_values against the same Prometheus). Panels marked `needs:` a component the
   demo cannot run (kube-state-metrics, kafka-exporter, Elasticsearch, ...) are listed, not queried.
Each check returns a `CheckResult`; the demo polls them until all pass or the deadline names the first
failing step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests

from observability.apply.logsearch import ElasticsearchLogSearch, LogQuery, StoreLogSearch
from observability.check.dashboards import substitute
from observability.errors import ObservabilityError
from observability.pipeline.store_sqlite import field_value
from observability.render.dashboard_defs import Definition, Panel, PromQuery

REQUIRED_ALERTS = ("GoServiceHighErrorRate", "GoServiceHighErrorLogRate")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>[a-zA-Z_]\w*)\s*\)\s*$")
# What Grafana makes of $__rate_interval at a 5s scrape interval, rounded up to a safe window.
_RATE_INTERVAL = "1m"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


# -- 1. logs ---------------------------------------------------------------------------------------

# The parsed fields a person searching the logs relies on, and where the processor's ECS document keeps them.
PARSED_FIELDS = {
    "level": ("log.level",),
    "route": ("http.route", "go.fields.route"),
    "status": ("http.response.status_code",),
    "trace id": ("trace.id",),
}


def _first(doc: dict[str, Any], paths: Iterable[str]) -> Any:
    return next((v for v in (field_value(doc, p) for p in paths) if v not in (None, "")), None)


def check_logs(search: StoreLogSearch | ElasticsearchLogSearch, service: str, namespace: str) -> CheckResult:
    """Pass when an error event and an ordinary request event of the service are found by search, each with
    every parsed field, and a free-text search finds the error by its message."""
    name = "logs searchable with parsed fields"
    try:
        errors = search.search(LogQuery(services=(service,), namespaces=(namespace,), levels=("error",), limit=50))
        found = search.search(LogQuery(text="request failed", services=(service,), limit=5))
        recent = search.search(LogQuery(services=(service,), namespaces=(namespace,), limit=200))
    except ObservabilityError as e:
        return CheckResult(name, False, f"search failed: {e}")
    complete_error = next((h for h in errors if _complete(h.document)), None)
    complete_ok = next(
        (h for h in recent if _complete(h.document) and _first(h.document, PARSED_FIELDS["status"]) == 200), None
    )
    if not recent:
        return CheckResult(name, False, f"no events of {namespace}/{service} stored yet")
    if complete_error is None:
        sample = errors[-1].document if errors else recent[-1].document
        missing = [f for f, paths in PARSED_FIELDS.items() if _first(sample, paths) is None]
        return CheckResult(name, False, f"{len(errors)} error events, none with all parsed fields "
                                        f"(latest lacks {', '.join(missing) or 'level=error'})")
    if complete_ok is None:
        return CheckResult(name, False, "no successful request event (status 200) with all parsed fields yet")
    if not found:
        return CheckResult(name, False, 'full-text search for "request failed" found nothing')
    doc = complete_error.document
    return CheckResult(name, True, "error event: " + ", ".join(
        f"{f}={_first(doc, paths)}" for f, paths in PARSED_FIELDS.items()
    ))


def _complete(doc: dict[str, Any]) -> bool:
    return all(_first(doc, paths) is not None for paths in PARSED_FIELDS.values())


# -- 2. alerts -------------------------------------------------------------------------------------


def alertmanager_alerts(alertmanager_url: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Active alerts in Alertmanager (API v2)."""
    response = requests.get(f"{alertmanager_url}/api/v2/alerts", params={"active": "true"}, timeout=timeout)
    response.raise_for_status()
    alerts = response.json()
    return alerts if isinstance(alerts, list) else []


def prometheus_firing(prometheus_url: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Alerts Prometheus evaluates as firing (API v1 /alerts)."""
    response = requests.get(f"{prometheus_url}/api/v1/alerts", timeout=timeout)
    response.raise_for_status()
    return [a for a in response.json()["data"]["alerts"] if a.get("state") == "firing"]


def check_alerts(alertmanager_url: str, webhook_firing: set[str], service: str, namespace: str,
                 required: tuple[str, ...] = REQUIRED_ALERTS) -> CheckResult:
    name = "alerts reached Alertmanager and the webhook"
    try:
        active = alertmanager_alerts(alertmanager_url)
    except (requests.RequestException, ValueError) as e:
        return CheckResult(name, False, f"cannot read Alertmanager's alerts: {e}")
    in_am = {
        a["labels"].get("alertname") for a in active
        if a.get("labels", {}).get("service") == service and a["labels"].get("namespace") == namespace
    }
    missing_am = [a for a in required if a not in in_am]
    missing_hook = [a for a in required if a not in webhook_firing]
    if missing_am or missing_hook:
        parts = []
        if missing_am:
            parts.append(f"not in Alertmanager: {', '.join(missing_am)}")
        if missing_hook:
            parts.append(f"not at the webhook: {', '.join(missing_hook)}")
        return CheckResult(name, False, "; ".join(parts))
    return CheckResult(name, True, f"{', '.join(required)} for {namespace}/{service}")


# -- 3. dashboards ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardQuery:
    dashboard: str
    panel: str
    expr: str
    needs: str | None
    """Component the panel needs that the demo does not run (then the query is not run)."""


def dashboard_queries(definitions: dict[str, Definition]) -> list[DashboardQuery]:
    """Every Prometheus query of every dashboard, with the panel it belongs to."""
    out = []
    for name, definition in sorted(definitions.items()):
        for panel in definition.panels:
            if not isinstance(panel, Panel):
                continue
            for query in panel.queries:
                if isinstance(query, PromQuery):
                    needs = panel.needs.component if panel.needs is not None else None
                    out.append(DashboardQuery(definition.title or name, panel.title, query.expr, needs))
    return out


Query = Callable[[str], list[dict[str, Any]]]
LabelValues = Callable[[str | None, str], list[str]]


def resolve_variables(definition: Definition, label_values: LabelValues,
                      preferred: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Values for the dashboard's query variables, resolved in order like Grafana does; problems found.

    A multi-value/All variable becomes a regex alternation of all its values; a single-value one takes
    `preferred[name]` when that is among its values, else the first value.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    sources = [(v.name, v.datasource_type) for v in definition.variables if v.type == "datasource"]
    for var in definition.variables:
        if var.type == "custom":
            values[var.name] = preferred[var.name] if preferred.get(var.name) in var.values else var.values[0]
            continue
        datasource = var.datasource or (sources[0][0] if sources else None)
        if var.type != "query" or not var.query or dict(sources).get(datasource or "") != "prometheus":
            continue  # Elasticsearch-backed variables are resolved by Grafana against Elasticsearch
        match = _LABEL_VALUES.match(substitute(var.query, {**values, "__rate_interval": _RATE_INTERVAL}))
        if match is None:
            problems.append(f"variable {var.name}: only label_values(...) queries are resolved here")
            continue
        found = sorted(set(label_values(match.group("selector"), match.group("label"))))
        if not found:
            problems.append(f"variable {var.name}: {var.query} returned no values")
            values[var.name] = preferred.get(var.name, "")
            continue
        if var.multi or var.include_all:
            values[var.name] = "(" + "|".join(_prometheus_regex_escape(v) for v in found) + ")"
        else:
            values[var.name] = preferred[var.name] if preferred.get(var.name) in found else found[0]
    return values, problems


def _prometheus_regex_escape(value: str) -> str:
    """Escape a value for a regex inside a PromQL string, as Grafana's Prometheus datasource does: the
    backslash itself must be escaped for the string literal, so '.' becomes '\\\\.' in the query text."""
    return re.sub(r"([\\$^*{}\[\]'+?.()|])", r"\\\\\1", value)


def check_dashboards(definitions: dict[str, Definition], query: Query, label_values: LabelValues,
                     preferred: dict[str, str]) -> CheckResult:
    name = "every dashboard query returns data"
    failed: list[str] = []
    ran = skipped = 0
    for key, definition in sorted(definitions.items()):
        values, problems = resolve_variables(definition, label_values, preferred)
        failed += [f"{definition.title}: {p}" for p in problems]
        values = {**values, "__rate_interval": _RATE_INTERVAL}
        for q in dashboard_queries({key: definition}):
            if q.needs is not None:
                skipped += 1
                continue
            ran += 1
            expr = substitute(q.expr, values)
            try:
                result = query(expr)
            except (requests.RequestException, ValueError, KeyError) as e:
                failed.append(f"{q.dashboard} / {q.panel}: query error {e}")
                continue
            if not result:
                failed.append(f"{q.dashboard} / {q.panel}: no data for {expr}")
    if failed:
        return CheckResult(name, False, f"{len(failed)} problem(s) in {ran} queries, first: {failed[0]}")
    return CheckResult(name, True, f"{ran} queries returned data ({skipped} need components the demo cannot run)")


def prometheus_query(prometheus_url: str) -> Query:
    def run(expr: str) -> list[dict[str, Any]]:
        response = requests.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"value": result}]
        return list(result)

    return run


def prometheus_label_values(prometheus_url: str) -> LabelValues:
    def run(selector: str | None, label: str) -> list[str]:
        params = {"match[]": selector} if selector else {}
        response = requests.get(f"{prometheus_url}/api/v1/label/{label}/values", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
        return [str(v) for v in body["data"]]

    return run

