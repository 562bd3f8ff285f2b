"""Check layer (PURE): lint compiled Grafana dashboards → a list of problems (empty = fine).

Works on dashboard JSON, not on definitions, so the same checks apply to what `build` writes, to what
`export` reads back from a live Grafana and to hand-written JSON. Checks: every PromQL expression parses
(after substituting template variables, as Grafana would), every `$variable` a query uses is defined,
every datasource reference resolves to a datasource variable or a known datasource, UIDs and titles are
unique, only current panel types are used and every panel that shows numbers has a unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import promql_parser

ALLOWED_PANELS = frozenset({"timeseries", "stat", "table", "logs", "row"})
DEPRECATED_PANELS = {
    "graph": "timeseries",
    "singlestat": "stat",
    "table-old": "table",
    "grafana-piechart-panel": "piechart",
    "grafana-worldmap-panel": "geomap",
}
# Grafana's global variables and a representative value for each (only used to make a query parseable)
BUILTIN_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__interval_ms": "30000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__dashboard": "dashboard",
    "__org": "1",
    "__user": "user",
    "__from": "0",
    "__to": "0",
    "__timeFilter": "true",
}
_VAR_REF = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


@dataclass(frozen=True)
class Problem:
    dashboard: str
    """The dashboard's uid (or its file name when it has none)."""
    where: str
    """'panel "Title"', 'variable service' or '' for the dashboard itself."""
    message: str
    source: str = ""
    """The key of the dashboard in what was linted (a file name), to find the definition it came from."""
    panel_id: int | None = None
    """The panel's `id` when the problem is in a panel (compiled definitions: its position, from 1)."""
    ref_id: str | None = None
    """The query's `refId` when the problem is in one query."""
    variable: str | None = None
    """The template variable's name when the problem is in a variable."""

    @property
    def detail(self) -> str:
        """The problem without the dashboard: 'panel 'Rate' query A: PromQL does not parse: …'."""
        return f"{self.where + ': ' if self.where else ''}{self.message}"

    def __str__(self) -> str:
        return f"{self.dashboard}: {self.detail}"


def variable_names(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v.get("name", ""): v for v in (dashboard.get("templating") or {}).get("list") or []}


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace $var, ${var}, ${var:fmt} and [[var]] by `values`, then Grafana's builtins; unknown refs stay."""

    def repl(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in values:
            return values[name]
        return BUILTIN_VARIABLES.get(name, match.group(0))

    return _VAR_REF.sub(repl, expr)


def lint_values(dashboard: dict[str, Any]) -> dict[str, str]:
    """A plausible value per variable: a custom variable's current value, otherwise a placeholder."""
    out = {}
    for name, var in variable_names(dashboard).items():
        current = (var.get("current") or {}).get("value")
        out[name] = str(current) if isinstance(current, str) and current else "placeholder"
    return out


def prometheus_queries(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every Prometheus target, including panels nested in collapsed rows."""
    variables = variable_names(dashboard)
    for panel in _all_panels(dashboard):
        for target in panel.get("targets") or []:
            if _datasource_type(target.get("datasource") or panel.get("datasource"), variables) == "prometheus":
                yield panel, target


def lint_dashboards(
    dashboards: dict[str, dict[str, Any]], known_datasources: dict[str, str] | None = None
) -> list[Problem]:
    """Lint a set of dashboards (name → JSON). `known_datasources` maps fixed datasource uids to types."""
    problems: list[Problem] = []
    for key in ("uid", "title"):
        seen: dict[str, str] = {}
        for name, dashboard in sorted(dashboards.items()):
            value = str(dashboard.get(key) or "")
            if not value:
                problems.append(Problem(name, "", f"has no {key}; set one", source=name))
            elif value in seen:
                message = f"{key} {value!r} is also used by {seen[value]}; make it unique"
                problems.append(Problem(name, "", message, source=name))
            else:
                seen[value] = name
    for name, dashboard in sorted(dashboards.items()):
        found = lint_dashboard(dashboard, known_datasources or {}, name=str(dashboard.get("uid") or name))
        problems.extend(replace(p, source=name) for p in found)
    return problems


def lint_dashboard(dashboard: dict[str, Any], known_datasources: dict[str, str], *, name: str) -> list[Problem]:
    problems: list[Problem] = []
    variables = variable_names(dashboard)
    values = lint_values(dashboard)

    def add(where: str, message: str, at: dict[str, Any]) -> None:
        problems.append(Problem(name, where, message, **at))

    def ref_problem(where: str, ref: Any, at: dict[str, Any]) -> None:
        message = _datasource_problem(ref, variables, known_datasources)
        if message:
            add(where, message, at)

    def undefined(where: str, text: str, at: dict[str, Any]) -> None:
        for match in _VAR_REF.finditer(text):
            var = next(g for g in match.groups() if g)
            if var not in variables and var not in BUILTIN_VARIABLES:
                add(where, f"uses ${var}, which is not a variable of this dashboard", at)

    for var_name, var in variables.items():
        where = f"variable {var_name}"
        var_at: dict[str, Any] = {"variable": var_name}
        if var.get("type") == "query":
            ref_problem(where, var.get("datasource"), var_at)
            query = var.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query or "")
            undefined(where, text, var_at)
            if _datasource_type(var.get("datasource"), variables) == "prometheus":
                for message in _variable_query_problems(substitute(text, values)):
                    add(where, message, var_at)
    for panel in _all_panels(dashboard):
        where = f"panel {panel.get('title')!r}"
        at: dict[str, Any] = {"panel_id": _panel_id(panel)}
        kind = panel.get("type")
        if kind in DEPRECATED_PANELS:
            add(where, f"'{kind}' is deprecated; use '{DEPRECATED_PANELS[kind]}'", at)
        elif kind not in ALLOWED_PANELS:
            add(where, f"panel type {kind!r} is not one of {sorted(ALLOWED_PANELS)}", at)
        if kind == "row":
            continue
        if kind != "logs" and not ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
            add(where, "has no unit (fieldConfig.defaults.unit); set one", at)
        grid = panel.get("gridPos") or {}
        if grid.get("x", 0) + grid.get("w", 0) > 24:
            add(where, "extends past the 24-column grid", at)
        ref_problem(where, panel.get("datasource"), at)
        if not panel.get("targets"):
            add(where, "has no queries", at)
        for target in panel.get("targets") or []:
            query_at: dict[str, Any] = {**at, "ref_id": target.get("refId")}
            if target.get("datasource") is not None:
                ref_problem(where, target["datasource"], query_at)
            text = str(target.get("expr") or target.get("query") or "")
            undefined(where, text, query_at)
    for panel, target in prometheus_queries(dashboard):
        parse_problem = promql_problem(substitute(str(target.get("expr") or ""), values))
        if parse_problem:
            query_at = {"panel_id": _panel_id(panel), "ref_id": target.get("refId")}
            add(f"panel {panel.get('title')!r} query {target.get('refId')}", parse_problem, query_at)
    return problems


def _panel_id(panel: dict[str, Any]) -> int | None:
    value = panel.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def promql_problem(expr: str) -> str | None:
    """None if `expr` is valid PromQL, otherwise the parser's complaint."""
    if not expr.strip():
        return "the query is empty"
    try:
        promql_parser.parse(expr)
    except (ValueError, TypeError) as e:
        return f"PromQL does not parse: {e} (query: {' '.join(expr.split())})"
    return None


def _variable_query_problems(query: str) -> list[str]:
    """Grafana's Prometheus variable functions wrap PromQL; check the PromQL inside them."""
    query = query.strip()
    match = re.fullmatch(r"label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", query, re.S)
    if match:
        inner = match.group(1)
    elif m := re.fullmatch(r"query_result\((.*)\)", query, re.S):
        inner = m.group(1)
    elif re.fullmatch(r"label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)|label_names\(.*\)|metrics\(.*\)", query):
        return []
    else:
        return [f"variable query {query!r} is not label_values(...), label_names(), metrics() or query_result()"]
    problem = promql_problem(inner)
    return [problem] if problem else []


def _all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []  # collapsed rows keep their panels inside


def _datasource_type(ref: Any, variables: dict[str, dict[str, Any]]) -> str | None:
    if isinstance(ref, dict):
        uid, kind = str(ref.get("uid") or ""), ref.get("type")
        var = _var_of(uid)
        if var and var in variables:
            return str(variables[var].get("query") or kind)
        return str(kind) if kind else None
    return None


def _var_of(uid: str) -> str | None:
    match = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", uid)
    return next(g for g in match.groups() if g) if match else None


def _datasource_problem(ref: Any, variables: dict[str, dict[str, Any]], known: dict[str, str]) -> str | None:
    if ref is None:
        return "has no datasource; reference a datasource variable such as ${datasource}"
    if not isinstance(ref, dict):
        return f"datasource {ref!r} is a name; use {{'type': ..., 'uid': '${{datasource}}'}} so it survives renames"
    uid, kind = str(ref.get("uid") or ""), ref.get("type")
    var = _var_of(uid)
    if var is not None:
        variable = variables.get(var)
        if variable is None or variable.get("type") != "datasource":
            return f"datasource {uid} is not a datasource variable of this dashboard"
        if kind and variable.get("query") != kind:
            return f"datasource {uid} picks {variable.get('query')} datasources but the query is for {kind}"
        return None
    if uid in known:
        return None if not kind or known[uid] == kind else f"datasource {uid} is {known[uid]}, not {kind}"
    if uid in {"-- Grafana --", "-- Mixed --", "-- Dashboard --"}:
        return None
    names = ", ".join(sorted(known)) or "none"
    return f"datasource uid {uid!r} is neither a variable nor a known datasource ({names})"
