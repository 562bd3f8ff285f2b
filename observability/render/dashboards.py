"""Render layer (PURE): Grafana dashboard JSON compiled from the definitions in dashboards/.

`compile_dashboard` turns one `Definition` into the JSON model of current Grafana (schemaVersion 39,
only timeseries/stat/table/logs panels). Output is deterministic: panel ids and grid positions follow
the order in the file, the uid comes from the file name, keys are sorted by `dump_json`. The managed
tag marks what `obs dashboards sync` owns; it never touches a dashboard without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import ValidationError

from observability.errors import RenderError, SpecError
from observability.render.dashboard_defs import Definition, EsQuery, Panel, PromQuery, Row, Variable
from observability.render.yamlfmt import dump_json
from observability.spec import Stack
from observability.spec.load import dotted_path, line_for, load_yaml_with_lines

SCHEMA_VERSION = 39
MANAGED_TAG = "obs-managed"
"""Every dashboard this tool renders carries this tag; sync, diff and prune only consider tagged ones."""
DEFINITION_SUFFIXES = (".yaml", ".yml")
GRID_WIDTH = 24


def dashboard_uid(name: str, definition: Definition) -> str:
    """The definition's uid, or one derived from its file name ('go-service.yaml' → 'obs-go-service')."""
    if definition.uid:
        return definition.uid
    stem = re.sub(r"\.(ya?ml)$", "", name.rsplit("/", 1)[-1])
    return ("obs-" + re.sub(r"[^A-Za-z0-9_-]", "-", stem))[:40]


@dataclass(frozen=True)
class DefinitionFile:
    """One parsed definition and where it came from, so a problem found in its compiled JSON names file:line."""

    path: str
    """The file as the user sees it: the dashboards directory as given, then the name in it."""
    definition: Definition
    lines: dict[tuple[str | int, ...], int]
    """Line of every field path of the definition (see spec/load.py: load_yaml_with_lines)."""

    def line_of(self, *, panel_id: int | None = None, ref_id: str | None = None, variable: str | None = None) -> int:
        """The definition line a compiled panel (its id), query (its refId) or variable (its name) came from."""
        path: tuple[str | int, ...] = ()
        if variable is not None:
            index = next((i for i, v in enumerate(self.definition.variables) if v.name == variable), None)
            path = ("variables", index, "query") if index is not None else ("variables",)
        elif panel_id is not None:
            # compile_dashboard numbers panels by their 1-based position in the definition's list
            path = ("panels", panel_id - 1)
            if ref_id is not None and len(ref_id) == 1:
                path = (*path, "queries", ord(ref_id) - ord("A"), "expr")
        return line_for(path, self.lines)


def parse_definition(text: str, source: str) -> Definition:
    """Validate one definition; RenderError lists every problem as `source:line path: message`."""
    parsed, problems = _parse(text, source)
    if parsed is None:
        _fail(source, problems)
    return parsed.definition


def _parse(text: str, source: str) -> tuple[DefinitionFile | None, list[str]]:
    """The parsed definition, or None and every problem found in it."""
    try:
        data, lines = load_yaml_with_lines(text, source)
    except SpecError as e:
        return None, list(e.problems)
    if not isinstance(data, dict):
        return None, [f"{source}:1: a dashboard definition is a mapping with 'title', 'variables', 'panels'"]
    try:
        definition = Definition.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            # pydantic names the union member it tried ("Panel", "PromQuery"); the user never wrote those
            loc = tuple(p for p in err["loc"] if p not in ("prom", "es", "row", "panel"))
            message = str((err.get("ctx") or {}).get("error", err["msg"]))
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif err["type"] == "missing":
                message = "required field is missing; add it"
            problems.append(f"{source}:{line_for(loc, lines)} {dotted_path(loc)}: {message}")
        return None, list(dict.fromkeys(problems))
    problems = [
        f"{source}:{line_for(('panels', i), lines)} {dotted_path(('panels', i))}: {message}"
        for i, message in definition.panel_problems()
    ]
    if problems:
        return None, problems
    return DefinitionFile(source, definition, lines), []


def _fail(source: str, problems: list[str]) -> NoReturn:
    listed = "\n  ".join(dict.fromkeys(problems))
    raise RenderError(f"{source}: invalid dashboard definition\n  {listed}") from None


def load_definition_files(
    sources: dict[str, str], source_dir: str = "dashboards"
) -> tuple[dict[str, DefinitionFile], list[str]]:
    """Every *.yaml definition that parses, by file name, and the problems of all that do not (every file is
    read, so one run reports them all). Other files (README, exports) are not definitions."""
    files: dict[str, DefinitionFile] = {}
    problems: list[str] = []
    for name, text in sorted(sources.items()):
        if not name.endswith(DEFINITION_SUFFIXES):
            continue
        parsed, found = _parse(text, f"{source_dir}/{name}")
        if parsed is None:
            problems += found
        else:
            files[name] = parsed
    return files, problems


def load_definitions(sources: dict[str, str], source_dir: str = "dashboards") -> dict[str, Definition]:
    """Every *.yaml definition in the sources, by file name; RenderError lists the problems of every file."""
    files, problems = load_definition_files(sources, source_dir)
    if problems:
        raise RenderError(
            "invalid dashboard definitions:\n  " + "\n  ".join(problems), hint=f"fix them in {source_dir}/"
        )
    return {name: f.definition for name, f in files.items()}


def render_dashboards(stack: Stack, sources: dict[str, str], source_dir: str = "dashboards") -> dict[str, str]:
    """Compile every definition to `<uid>.json` (the provisioning and sync input)."""
    return {f"{uid}.json": dump_json(d) for uid, d in compile_sources(sources, source_dir).items()}


def compile_sources(sources: dict[str, str], source_dir: str = "dashboards") -> dict[str, dict[str, Any]]:
    """Every definition compiled, by uid; two definitions with one uid are an error naming both files."""
    out: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for name, definition in load_definitions(sources, source_dir).items():
        uid = dashboard_uid(name, definition)
        if uid in out:
            raise RenderError(
                f"{source_dir}/{name}: uid {uid!r} is already used by {source_dir}/{origin[uid]}; set a different 'uid'"
            )
        origin[uid] = name
        out[uid] = compile_dashboard(definition, uid)
    return out


def compile_dashboard(definition: Definition, uid: str) -> dict[str, Any]:
    """The Grafana dashboard JSON model (without id/version, which belong to a Grafana instance)."""
    return {
        "uid": uid,
        "title": definition.title,
        "description": definition.description,
        "tags": sorted({*definition.tags, MANAGED_TAG}),
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": definition.refresh,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": definition.time_from, "to": "now"},
        "timepicker": {},
        "links": [],
        "annotations": {"list": [_builtin_annotation()]},
        "templating": {"list": [_variable(v, definition) for v in definition.variables]},
        "panels": _panels(definition),
    }


def _builtin_annotation() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def _datasource_ref(definition: Definition, name: str) -> dict[str, str]:
    kind = next(v.datasource_type for v in definition.variables if v.name == name)
    return {"type": str(kind), "uid": f"${{{name}}}"}


def _variable(var: Variable, definition: Definition) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": var.name,
        "label": var.label or var.name.replace("_", " ").capitalize(),
        "type": var.type,
        "hide": 2 if var.hide else 0,
        "skipUrlSync": False,
    }
    if var.type == "datasource":
        return {**base, "query": var.datasource_type, "regex": "", "refresh": 1, "current": {}, "options": [],
                "multi": False, "includeAll": False}
    if var.type == "custom":
        default = var.values[0]
        return {
            **base,
            "query": ",".join(var.values),
            "current": {"selected": True, "text": default, "value": default},
            "options": [{"selected": v == default, "text": v, "value": v} for v in var.values],
            "multi": var.multi,
            "includeAll": var.include_all,
        }
    source = var.datasource or next(v.name for v in definition.variables if v.type == "datasource")
    query: Any = var.query
    if _datasource_ref(definition, source)["type"] == "prometheus":
        query = {"query": var.query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}
    return {
        **base,
        "datasource": _datasource_ref(definition, source),
        "definition": var.query,
        "query": query,
        "refresh": 2,  # on time range change: services come and go
        "regex": "",
        "sort": 1,
        "current": {},
        "options": [],
        "multi": var.multi,
        "includeAll": var.include_all,
    }


def _panels(definition: Definition) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    x = y = row_height = 0
    for index, item in enumerate(definition.panels, start=1):
        if isinstance(item, Row):
            y += row_height
            x = row_height = 0
            out.append({"type": "row", "id": index, "title": item.row, "collapsed": False, "panels": [],
                        "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}})
            y += 1
            continue
        if x + item.width > GRID_WIDTH:
            y += row_height
            x = row_height = 0
        out.append(_panel(definition, item, index, {"h": item.height, "w": item.width, "x": x, "y": y}))
        x += item.width
        row_height = max(row_height, item.height)
    return out


def _panel(definition: Definition, panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    source, _ = definition.datasource_of(panel)
    ref = _datasource_ref(definition, source)
    refs = [chr(ord("A") + i) for i in range(len(panel.queries))]
    targets = [
        _prom_target(q, ref, refs[i], panel) if isinstance(q, PromQuery) else _es_target(q, ref, refs[i], panel)
        for i, q in enumerate(panel.queries)
    ]
    defaults: dict[str, Any] = {}
    if panel.unit:
        defaults["unit"] = panel.unit
    for key in ("min", "max", "decimals"):
        if getattr(panel, key) is not None:
            defaults[key] = getattr(panel, key)
    if panel.type != "logs":
        steps = [{"color": t.color, "value": t.value} for t in panel.thresholds] or [{"color": "green", "value": None}]
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
        defaults["color"] = {"mode": "thresholds" if panel.type == "stat" else "palette-classic"}
    if panel.type == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if panel.stack else "none"},
        }
    out: dict[str, Any] = {
        "type": panel.type,
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": ref,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": _options(panel),
        "targets": targets,
    }
    if panel.type == "table":
        out["fieldConfig"]["overrides"], out["transformations"] = _table_columns(panel, refs)
    return out


def _table_columns(panel: Panel, refs: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-query column names and units: several instant queries merge into one row per label set."""
    many = len(panel.queries) > 1
    renames: dict[str, str] = {}
    overrides: list[dict[str, Any]] = []
    for ref, query in zip(refs, panel.queries, strict=True):
        if not isinstance(query, PromQuery):
            continue
        value_column = f"Value #{ref}" if many else "Value"
        column = query.column or value_column
        if query.column:
            renames[value_column] = query.column
        if query.unit:
            overrides.append({"matcher": {"id": "byName", "options": column},
                              "properties": [{"id": "unit", "value": query.unit}]})
    transformations: list[dict[str, Any]] = [{"id": "merge", "options": {}}] if many else []
    if renames or panel.hide_columns:
        transformations.append({"id": "organize", "options": {
            "excludeByName": {c: True for c in panel.hide_columns}, "renameByName": renames}})
    return overrides, transformations


def _options(panel: Panel) -> dict[str, Any]:
    if panel.type == "timeseries":
        return {"legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if panel.type == "stat":
        return {"colorMode": "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto",
                "textMode": "auto", "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    if panel.type == "table":
        return {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"]}}
    return {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending", "enableLogDetails": True,
            "dedupStrategy": "none", "prettifyLogMessage": False, "showCommonLabels": False, "showLabels": False}


def _prom_target(query: PromQuery, ref: dict[str, str], ref_id: str, panel: Panel) -> dict[str, Any]:
    instant = query.instant or panel.type == "table"
    target: dict[str, Any] = {
        "refId": ref_id,
        "datasource": ref,
        "expr": query.expr,
        "range": not instant,
        "instant": instant,
        "legendFormat": query.legend or "__auto",
        "editorMode": "code",
    }
    if panel.type == "table":
        target["format"] = "table"
    return target


def _es_target(query: EsQuery, ref: dict[str, str], ref_id: str, panel: Panel) -> dict[str, Any]:
    target: dict[str, Any] = {"refId": ref_id, "datasource": ref, "query": query.lucene, "timeField": "@timestamp"}
    if panel.type == "logs":
        target["metrics"] = [{"id": "1", "type": "logs", "settings": {"limit": str(query.limit)}}]
        target["bucketAggs"] = []
        return target
    target["metrics"] = [{"id": "1", "type": "count"}]
    aggs: list[dict[str, Any]] = [
        {"id": str(i + 2), "type": "terms", "field": field,
         "settings": {"min_doc_count": "1", "order": "desc", "orderBy": "_count", "size": str(query.size)}}
        for i, field in enumerate(query.group_by)
    ]
    if panel.type != "table":
        aggs.append({"id": str(len(aggs) + 2), "type": "date_histogram", "field": "@timestamp",
                     "settings": {"interval": "auto", "min_doc_count": "0", "trimEdges": "0"}})
    target["bucketAggs"] = aggs
    return target
