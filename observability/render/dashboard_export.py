"""Render layer (PURE): a Grafana dashboard JSON → a definition for dashboards/ (what `export` writes).

The inverse of `compile_dashboard`, so a dashboard made in the UI can be adopted into git. Whatever the
definition format cannot express is never dropped silently: the definition is compiled again and every
setting that differs from the live JSON is listed as a warning next to the panel it belongs to.
"""

from __future__ import annotations

import re
from typing import Any

from observability.errors import RenderError
from observability.render.dashboard_defs import Definition
from observability.render.dashboards import MANAGED_TAG, compile_dashboard
from observability.render.yamlfmt import dump_yaml

_SUPPORTED = {"timeseries", "stat", "table", "logs"}
_DEFAULT_STEPS = [{"color": "green", "value": None}]


def export_definition(dashboard: dict[str, Any]) -> tuple[str, list[str]]:
    """(definition YAML, warnings about settings the definition format cannot carry)."""
    data = decompile_dashboard(dashboard)
    definition = Definition.model_validate(data)
    warnings = _losses(dashboard, compile_dashboard(definition, str(dashboard.get("uid"))))
    header = f"# Exported from Grafana dashboard {dashboard.get('uid')} (version {dashboard.get('version', '?')}).\n"
    return header + dump_yaml(data), warnings


def decompile_dashboard(dashboard: dict[str, Any]) -> dict[str, Any]:
    found = [_variable(v) for v in (dashboard.get("templating") or {}).get("list") or []]
    variables = [v for v in found if v is not None]
    ds_vars = [v for v in variables if v["type"] == "datasource"]
    out: dict[str, Any] = {"uid": dashboard.get("uid"), "title": dashboard.get("title") or "Untitled"}
    if dashboard.get("description"):
        out["description"] = dashboard["description"]
    tags = [t for t in dashboard.get("tags") or [] if t != MANAGED_TAG]
    if tags:
        out["tags"] = tags
    if dashboard.get("refresh"):
        out["refresh"] = dashboard["refresh"]
    time_from = (dashboard.get("time") or {}).get("from")
    if time_from and time_from != "now-6h":
        out["time_from"] = time_from
    panels: list[dict[str, Any]] = []
    for panel in dashboard.get("panels") or []:
        if panel.get("type") == "row":
            panels.append({"row": panel.get("title") or "Row"})
            nested = panel.get("panels") or []
        else:
            nested = [panel]
        panels.extend(_panel(p, ds_vars, variables) for p in nested)
    out["variables"] = variables
    out["panels"] = panels
    return out


def _variable(var: dict[str, Any]) -> dict[str, Any] | None:
    kind, name = var.get("type"), var.get("name")
    if kind not in ("datasource", "query", "custom"):
        return None  # reported by _losses: templating differs
    out: dict[str, Any] = {"name": name, "type": kind}
    label = var.get("label")
    if label and label != str(name).replace("_", " ").capitalize():
        out["label"] = label
    if kind == "datasource":
        out["datasource_type"] = var.get("query")
    elif kind == "query":
        ref = var.get("datasource") or {}
        match = re.fullmatch(r"\$\{(\w+)\}", str(ref.get("uid") or ""))
        if match:
            out["datasource"] = match.group(1)
        query = var.get("query")
        out["query"] = query.get("query") if isinstance(query, dict) else (query or var.get("definition"))
    else:
        values = [str(o.get("value")) for o in var.get("options") or []] or str(var.get("query") or "").split(",")
        current = str((var.get("current") or {}).get("value") or "")
        out["values"] = [current, *[v for v in values if v != current]] if current in values else values
    for key, field in (("multi", "multi"), ("includeAll", "include_all")):
        if var.get(key):
            out[field] = True
    if var.get("hide") == 2:
        out["hide"] = True
    return out


def _panel(panel: dict[str, Any], ds_vars: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict[str, Any]:
    kind, title = panel.get("type"), panel.get("title") or "Untitled"
    if kind not in _SUPPORTED:
        raise RenderError(
            f"panel {title!r} is of type {kind!r}; definitions support {', '.join(sorted(_SUPPORTED))}. "
            "Open the dashboard in Grafana, change the visualisation (Graph → Time series, Singlestat → Stat), "
            "save, and export again"
        )
    out: dict[str, Any] = {"type": kind, "title": title}
    if panel.get("description"):
        out["description"] = panel["description"]
    source = _datasource_variable(panel.get("datasource"), ds_vars, variables)
    if ds_vars and source != ds_vars[0]["name"]:
        out["datasource"] = source
    defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
    if defaults.get("unit"):
        out["unit"] = defaults["unit"]
    elif kind != "logs":
        out["unit"] = "short"  # Grafana's own fallback; made explicit so lint passes and readers see it
    grid = panel.get("gridPos") or {}
    if grid.get("w", 12) != 12:
        out["width"] = grid.get("w")
    if grid.get("h", 8) != 8:
        out["height"] = grid.get("h")
    out["queries"] = [_query(t, kind) for t in panel.get("targets") or []]
    for key in ("min", "max", "decimals"):
        if defaults.get(key) is not None:
            out[key] = defaults[key]
    if ((defaults.get("custom") or {}).get("stacking") or {}).get("mode") == "normal":
        out["stack"] = True
    steps = (defaults.get("thresholds") or {}).get("steps") or _DEFAULT_STEPS
    if steps != _DEFAULT_STEPS:
        out["thresholds"] = [{"value": s.get("value"), "color": s.get("color")} for s in steps]
    if kind == "table":
        _table_columns(panel, out)
    return out


def _datasource_variable(ref: Any, ds_vars: list[dict[str, Any]], variables: list[dict[str, Any]]) -> str:
    """The datasource variable a panel uses; a literal uid becomes a variable of the same type."""
    ref = ref if isinstance(ref, dict) else {"type": "prometheus"}
    match = re.fullmatch(r"\$\{?(\w+)\}?", str(ref.get("uid") or ""))
    if match:
        return match.group(1)
    kind = str(ref.get("type") or "prometheus")
    for var in ds_vars:
        if var["datasource_type"] == kind:
            return str(var["name"])
    name = "datasource" if not any(v["name"] == "datasource" for v in variables) else kind
    var = {"name": name, "type": "datasource", "datasource_type": kind}
    variables.insert(len(ds_vars), var)
    ds_vars.append(var)
    return name


def _query(target: dict[str, Any], kind: str) -> dict[str, Any]:
    if "expr" in target:
        out: dict[str, Any] = {"expr": target["expr"]}
        if target.get("legendFormat") and target["legendFormat"] != "__auto":
            out["legend"] = target["legendFormat"]
        if target.get("instant") and kind != "table":
            out["instant"] = True
        return out
    es: dict[str, Any] = {"lucene": target.get("query") or "*"}
    terms = [a for a in target.get("bucketAggs") or [] if a.get("type") == "terms"]
    if terms:
        es["group_by"] = [a.get("field") for a in terms]
        size = int((terms[0].get("settings") or {}).get("size") or 10)
        if size != 10:
            es["size"] = size
    logs = [m for m in target.get("metrics") or [] if m.get("type") == "logs"]
    if logs:
        limit = int((logs[0].get("settings") or {}).get("limit") or 100)
        if limit != 100:
            es["limit"] = limit
    return es


def _table_columns(panel: dict[str, Any], out: dict[str, Any]) -> None:
    transformations = panel.get("transformations") or []
    organize: dict[str, Any] = next((t["options"] for t in transformations if t.get("id") == "organize"), {})
    hidden = [c for c, on in (organize.get("excludeByName") or {}).items() if on]
    if hidden:
        out["hide_columns"] = hidden
    renames = organize.get("renameByName") or {}
    units = {
        o["matcher"].get("options"): p["value"]
        for o in (panel.get("fieldConfig") or {}).get("overrides") or []
        for p in o.get("properties") or []
        if o.get("matcher", {}).get("id") == "byName" and p.get("id") == "unit"
    }
    many = len(out["queries"]) > 1
    for ref, query in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", out["queries"], strict=False):
        value = f"Value #{ref}" if many else "Value"
        column = renames.get(value)
        if column:
            query["column"] = column
        if units.get(column or value):
            query["unit"] = units[column or value]


def _losses(live: dict[str, Any], compiled: dict[str, Any]) -> list[str]:
    """Every setting of the live dashboard that the compiled definition does not reproduce."""
    warnings = []
    ignore = {"id", "version", "uid", "tags", "gridPos"}
    for key in sorted(set(live) | set(compiled)):
        if key in ignore or key == "panels":
            continue
        if live.get(key) != compiled.get(key) and live.get(key) not in (None, "", [], {}):
            warnings.append(f"dashboard setting '{key}' is not kept by the definition format")
    live_panels = [p for top in live.get("panels") or [] for p in [top, *(top.get("panels") or [])]]
    compiled_panels = [p for p in compiled.get("panels") or [] if True]
    for before, after in zip(live_panels, compiled_panels, strict=False):
        lost = sorted(_differing_paths(before, after, "", ignore | {"collapsed", "panels", "datasource"}))
        if lost:
            warnings.append(f"panel {before.get('title')!r}: not kept: {', '.join(lost[:8])}")
    return warnings


def _differing_paths(before: Any, after: Any, prefix: str, ignore: set[str], depth: int = 0) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict) and depth < 3:
        out = []
        for key in before:
            if key in ignore or before[key] in (None, "", [], {}):
                continue
            out += _differing_paths(before[key], after.get(key), f"{prefix}{key}.", set(), depth + 1)
        return out
    return [prefix.rstrip(".")] if before != after else []
