"""Unit: SLO rule generation (Google SRE workbook multiwindow, multi-burn-rate) and alerts/ pass-through."""

from __future__ import annotations

import pytest
import yaml

from observability.errors import RenderError
from observability.render.rules import (
    BURN_WINDOWS,
    SERVICE_RULES_FILE,
    SLO_RULES_FILE,
    TARGET_RULES_FILE,
    burn_factor,
    render_rule_files,
)
from observability.spec import Stack

_BASE = {"cluster": {"name": "c"}}


def _stack(**overrides: object) -> Stack:
    return Stack.model_validate({**_BASE, **overrides})


def _svc(slo: dict | None, team: str | None = "payments") -> dict:
    out: dict = {"name": "checkout", "namespace": "shop", "selector": {"app": "checkout"}, "metrics": {"port": 8080}}
    if slo is not None:
        out["slo"] = slo
    if team:
        out["team"] = team
    return out


def test_burn_factors_match_the_workbook_for_a_30_day_window() -> None:
    assert [(w.long, w.short, burn_factor(w, "30d"), w.severity) for w in BURN_WINDOWS] == [
        ("1h", "5m", 14.4, "page"),
        ("6h", "30m", 6.0, "page"),
        ("1d", "2h", 3.0, "ticket"),
        ("3d", "6h", 1.0, "ticket"),
    ]


def test_burn_factors_scale_with_the_slo_window() -> None:
    assert burn_factor(BURN_WINDOWS[0], "7d") == pytest.approx(14.4 * 7 / 30)


def test_availability_slo_renders_recording_rules_and_page_and_ticket_alerts() -> None:
    stack = _stack(services=[_svc({"availability": 99.9})])
    files = render_rule_files(stack, {})
    doc = yaml.safe_load(files[SLO_RULES_FILE])
    (group,) = doc["groups"]
    assert group["name"] == "slo:shop/checkout"
    records = [r["record"] for r in group["rules"] if "record" in r]
    assert records == [
        "namespace_service:slo_window:seconds",
        "namespace_service:slo_availability_objective:ratio",
        *(f"namespace_service:slo_errors:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")),
    ]
    alerts = [r for r in group["rules"] if "alert" in r]
    assert [(a["alert"], a["labels"]["severity"]) for a in alerts] == [
        ("SLOErrorBudgetBurn", "page"),
        ("SLOErrorBudgetBurn", "ticket"),
    ]
    page, ticket = alerts
    # 14.4 × 0.1% and 6 × 0.1% for the page; 3 × and 1 × for the ticket.
    assert 'ratio_rate1h{namespace="shop",service="checkout"} > 0.0144' in page["expr"]
    assert 'ratio_rate5m{namespace="shop",service="checkout"} > 0.0144' in page["expr"]
    assert 'ratio_rate6h{namespace="shop",service="checkout"} > 0.006' in page["expr"]
    assert 'ratio_rate30m{namespace="shop",service="checkout"} > 0.006' in page["expr"]
    assert 'ratio_rate1d{namespace="shop",service="checkout"} > 0.003' in ticket["expr"]
    assert 'ratio_rate3d{namespace="shop",service="checkout"} > 0.001' in ticket["expr"]
    assert page["labels"]["team"] == "payments"
    assert page["annotations"]["runbook_url"].endswith("/docs/runbooks/SLOErrorBudgetBurn.md")
    assert 'status=~"5.."' in group["rules"][2]["expr"]


def test_objectives_are_recorded_as_constants_with_the_service_labels() -> None:
    slo = {"availability": 99.95, "latency": {"threshold": "250ms", "target": 99.5}, "window": "28d"}
    group = yaml.safe_load(render_rule_files(_stack(services=[_svc(slo)]), {})[SLO_RULES_FILE])["groups"][0]
    constants = {r["record"]: (r["expr"], r["labels"]) for r in group["rules"] if "labels" in r and "record" in r}
    svc = {"namespace": "shop", "service": "checkout"}
    assert constants == {
        "namespace_service:slo_window:seconds": ("vector(2419200)", {**svc, "window": "28d"}),
        "namespace_service:slo_availability_objective:ratio": ("vector(0.9995)", svc),
        "namespace_service:slo_latency_objective:ratio": ("vector(0.995)", svc),
        # `le` is the bucket bound the latency SLI selects, so dashboards can join on it
        "namespace_service:slo_latency_threshold:seconds": ("vector(0.25)", {**svc, "le": "0.25"}),
    }


def test_only_the_objectives_an_slo_declares_are_recorded() -> None:
    group = yaml.safe_load(
        render_rule_files(_stack(services=[_svc({"latency": {"threshold": "1s", "target": 95}})]), {})[SLO_RULES_FILE]
    )["groups"][0]
    constants = {r["record"]: r for r in group["rules"] if r.get("expr", "").startswith("vector(")}
    assert set(constants) == {
        "namespace_service:slo_window:seconds",
        "namespace_service:slo_latency_objective:ratio",
        "namespace_service:slo_latency_threshold:seconds",
    }
    assert constants["namespace_service:slo_latency_threshold:seconds"]["labels"]["le"] == "1"
    assert constants["namespace_service:slo_window:seconds"]["labels"]["window"] == "30d"


def test_latency_slo_uses_the_threshold_bucket() -> None:
    stack = _stack(services=[_svc({"latency": {"threshold": "250ms", "target": 99}}, team=None)])
    group = yaml.safe_load(render_rule_files(stack, {})[SLO_RULES_FILE])["groups"][0]
    sli = next(r for r in group["rules"] if r.get("record") == "namespace_service:slo_slow_requests:ratio_rate5m")
    assert 'le="0.25"' in sli["expr"]
    alerts = [r for r in group["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} == {"SLOLatencyBudgetBurn"}
    assert "team" not in alerts[0]["labels"]
    assert "> 0.144" in alerts[0]["expr"]  # 14.4 × 1%


def test_no_slo_means_no_slo_file_and_sources_pass_through_unchanged() -> None:
    text = "# comment kept\ngroups:\n- name: go-services\n  rules: []\n"
    files = render_rule_files(_stack(services=[_svc(None)]), {"go.yaml": text, "routing-tests.yaml": "tests: []\n"})
    assert files["go.yaml"] == text
    assert set(files) == {"go.yaml", SERVICE_RULES_FILE, TARGET_RULES_FILE}


def test_groups_of_disabled_components_are_dropped() -> None:
    text = "groups:\n- name: processor\n  rules: []\n- name: go-services\n  rules: []\n"
    stack = _stack(logging={"enabled": False})
    files = render_rule_files(stack, {"x.yaml": text})
    assert [g["name"] for g in yaml.safe_load(files["x.yaml"])["groups"]] == ["go-services"]


@pytest.mark.parametrize(
    ("text", "match"),
    [("groups: [\n", r"alerts/bad.yaml:\d+: invalid YAML"), ("rules: []\n", "not a Prometheus rule file")],
)
def test_broken_sources_name_the_file(text: str, match: str) -> None:
    with pytest.raises(RenderError, match=match):
        render_rule_files(_stack(), {"bad.yaml": text})


def test_a_hand_written_file_may_not_shadow_the_generated_one() -> None:
    with pytest.raises(RenderError, match="collides"):
        render_rule_files(_stack(services=[_svc({"availability": 99})]), {SLO_RULES_FILE: "groups: []\n"})


def test_repo_alert_files_render_for_the_example_spec(repo, example_spec_path) -> None:
    from observability.cli.io import read_spec
    from observability.cli.sources import ALERTS, read_source_dir, source_dir

    stack = read_spec(example_spec_path)
    files = render_rule_files(stack, read_source_dir(source_dir(ALERTS, repo / "alerts")))
    assert {"go-services.yaml", "log-pipeline.yaml", "stack.yaml", SLO_RULES_FILE} <= set(files)
    assert "routing-tests.yaml" not in files
