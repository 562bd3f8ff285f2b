"""Every shipped dashboard definition builds, lints clean and round-trips through export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observability.check.dashboards import lint_dashboards
from observability.errors import RenderError
from observability.render.dashboard_export import export_definition
from observability.render.dashboards import (
    MANAGED_TAG,
    compile_dashboard,
    compile_sources,
    parse_definition,
    render_dashboards,
)
from observability.spec import parse_stack

REPO = Path(__file__).resolve().parents[3]
DEFINITIONS = sorted((REPO / "dashboards").glob("*.yaml"))


def sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in DEFINITIONS}


def test_all_seven_dashboards_ship() -> None:
    titles = {compile_sources(sources())[uid]["title"] for uid in compile_sources(sources())}
    assert titles == {
        "Go service overview", "Go fleet overview", "Log pipeline", "Logs", "Kubernetes nodes",
        "Alerts overview", "SLO and error budget",
    }


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_definition_builds_and_lints(path: Path) -> None:
    definition = parse_definition(path.read_text(encoding="utf-8"), str(path))
    uid = f"obs-{path.stem}"
    dashboard = compile_dashboard(definition, uid)
    assert lint_dashboards({path.name: dashboard}) == []
    assert dashboard["uid"] == uid and MANAGED_TAG in dashboard["tags"]
    assert dashboard["schemaVersion"] == 39
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert "datasource" in names
    for panel in dashboard["panels"]:
        assert panel["type"] in {"row", "timeseries", "stat", "table", "logs"}
        if panel["type"] not in ("row", "logs"):
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_export_round_trips_exactly(path: Path) -> None:
    uid = f"obs-{path.stem}"
    dashboard = compile_dashboard(parse_definition(path.read_text(encoding="utf-8"), str(path)), uid)
    text, warnings = export_definition({**dashboard, "id": 7, "version": 3})
    assert warnings == []
    assert compile_dashboard(parse_definition(text, "exported.yaml"), uid) == dashboard


def test_render_is_deterministic_and_keyed_by_uid() -> None:
    stack = parse_stack("cluster: {name: test}\n")
    first, second = render_dashboards(stack, sources()), render_dashboards(stack, dict(reversed(sources().items())))
    assert first == second
    assert set(first) == {f"obs-{p.stem}.json" for p in DEFINITIONS}
    assert json.loads(first["obs-go-service.json"])["title"] == "Go service overview"


MINIMAL = """\
title: T
variables:
  - {name: datasource, type: datasource, datasource_type: prometheus}
panels:
  - row: First
  - {type: stat, title: A, unit: short, width: 12, queries: [{expr: up}]}
  - {type: stat, title: B, unit: short, width: 12, height: 4, queries: [{expr: up}]}
  - {type: timeseries, title: C, unit: s, width: 6, queries: [{expr: up, legend: '{{job}}'}]}
"""


def test_layout_flows_left_to_right_and_wraps() -> None:
    dashboard = compile_dashboard(parse_definition(MINIMAL, "t.yaml"), "t")
    grid = [(p["title"], p["gridPos"]) for p in dashboard["panels"]]
    assert grid == [
        ("First", {"h": 1, "w": 24, "x": 0, "y": 0}),
        ("A", {"h": 8, "w": 12, "x": 0, "y": 1}),
        ("B", {"h": 4, "w": 12, "x": 12, "y": 1}),
        ("C", {"h": 8, "w": 6, "x": 0, "y": 9}),
    ]
    assert [p["id"] for p in dashboard["panels"]] == [1, 2, 3, 4]
    target = dashboard["panels"][3]["targets"][0]
    assert target == {"refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": "up",
                      "range": True, "instant": False, "legendFormat": "{{job}}", "editorMode": "code"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("unit: s", "unitt: s"), "t.yaml:8 panels[3].unitt: unknown key"),
        (("unit: s, ", ""), "panel 'C': set 'unit'"),
        (("type: timeseries", "type: graph"), "panels[3].type"),
        (
            ("{expr: up, legend: '{{job}}'}", "{lucene: up}"),
            "t.yaml:8 panels[3]: queries of a prometheus datasource are written with 'expr:'",
        ),
        (("datasource_type: prometheus", "datasource_type: influx"), "t.yaml:3 variables[0].datasource_type"),
    ],
)
def test_bad_definitions_name_file_line_and_fix(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(RenderError) as err:
        parse_definition(MINIMAL.replace(*change), "t.yaml")
    assert expected in str(err.value)


def test_logs_panel_needs_an_elasticsearch_datasource() -> None:
    text = MINIMAL + "  - {type: logs, title: L, queries: [{lucene: '*'}]}\n"
    with pytest.raises(RenderError, match="logs panels read documents"):
        parse_definition(text, "t.yaml")


def test_two_definitions_with_one_uid_are_rejected() -> None:
    with pytest.raises(RenderError, match=r"uid 'same' is already used by dashboards/a\.yaml"):
        compile_sources({"a.yaml": "uid: same\n" + MINIMAL, "b.yaml": "uid: same\n" + MINIMAL})


def test_export_refuses_deprecated_panels_and_reports_losses() -> None:
    dashboard = compile_dashboard(parse_definition(MINIMAL, "t.yaml"), "t")
    graph = {**dashboard, "panels": [{**dashboard["panels"][1], "type": "graph"}]}
    with pytest.raises(RenderError, match="Graph → Time series"):
        export_definition(graph)
    edited = json.loads(json.dumps(dashboard))
    edited["panels"][1]["options"]["colorMode"] = "background"
    edited["panels"][1]["datasource"] = {"type": "prometheus", "uid": "P1234"}
    text, warnings = export_definition(edited)
    assert any("'A': not kept: options.colorMode" in w for w in warnings)
    assert "datasource" not in parse_definition(text, "x").panels[1].model_dump(exclude_defaults=True)
