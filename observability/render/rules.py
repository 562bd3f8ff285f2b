"""Render layer (PURE): Prometheus rule files — the repo's alerts/ plus SLO rules generated from the spec.

SLO alerts follow the multiwindow, multi-burn-rate scheme of the Google SRE Workbook ("Alerting on SLOs",
Table 5-8): page when the 1h and 5m error ratios both exceed 14.4× the budget rate, or the 6h and 30m
ratios exceed 6×; ticket when 3d and 6h exceed 1×. Like Sloth and Pyrra we add the 1d/2h @ 3× ticket pair
so a steady medium burn opens a ticket within hours instead of days. The factors are derived from the share of
the budget each pair may consume (2%, 5%, 10%, 10%) and the SLO window, so a 30d window gives exactly the
workbook's 14.4 / 6 / 3 / 1 and other windows stay consistent.

Each SLO group also records the objectives themselves as constant series (`vector(<value>)` with the service's
`namespace`/`service` labels), so the SLO dashboard reads each service's own objectives from Prometheus instead of
asking the user to re-type what the spec already says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from observability.errors import RenderError
from observability.render.http_rules import (
    duration_rate,
    errors_rate,
    render_service_groups,
    requests_rate,
    runbook_url,
    selector,
)
from observability.render.target_rules import render_target_groups
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack
from observability.spec.instrumentation import format_bound
from observability.spec.model import GoService, duration_seconds
from observability.spec.yamlsafe import YamlInputError, load_yaml_documents

ROUTING_TESTS_FILE = "routing-tests.yaml"
"""Lives in alerts/ next to the rules but is not a rule file (see check/alerts_routing_tests.py)."""
SLO_RULES_FILE = "slo-generated.yaml"
SERVICE_RULES_FILE = "services-generated.yaml"
TARGET_RULES_FILE = "targets-generated.yaml"
GENERATED_FILES = {
    SERVICE_RULES_FILE: "the services of the stack spec (recorded HTTP signals from each service's instrumentation, "
    "GoServiceAbsent)",
    SLO_RULES_FILE: "the services' slo sections of the stack spec",
    TARGET_RULES_FILE: "the scrape jobs and components of the stack spec (ScrapeJobAbsent, KafkaBrokersDown)",
}


@dataclass(frozen=True)
class BurnWindow:
    long: str
    short: str
    budget_share: float
    """Share of the whole error budget spent in `long` at the alert's burn rate."""
    severity: str


BURN_WINDOWS = (
    BurnWindow("1h", "5m", 0.02, "page"),
    BurnWindow("6h", "30m", 0.05, "page"),
    BurnWindow("1d", "2h", 0.10, "ticket"),
    BurnWindow("3d", "6h", 0.10, "ticket"),
)
SLO_RATE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def burn_factor(window: BurnWindow, slo_window: str) -> float:
    """Burn rate at which `window.long` consumes `budget_share` of the budget of an `slo_window` SLO."""
    return round(window.budget_share * duration_seconds(slo_window) / duration_seconds(window.long), 4)


def _le_matcher(x: float) -> str:
    """Matches bucket `x` on Prometheus 2 and 3: 3.x stores whole bounds as le="1.0" (its migration guide:
    le/quantile values are normalised on ingestion), 2.x as client_golang writes them (le="1")."""
    bound = format_bound(x)
    return f'le=~"{bound}(\\\\.0)?"' if float(x).is_integer() else f'le="{bound}"'


def _record_name(kind: str, window: str) -> str:
    return f"namespace_service:slo_{kind}:ratio_rate{window}"


def _objective_rule(svc: GoService, kind: str, unit: str, value: float, **extra: str) -> dict[str, Any]:
    return {
        "record": f"namespace_service:slo_{kind}:{unit}",
        "expr": f"vector({value:.10g})",
        "labels": {"namespace": svc.namespace, "service": svc.name, **extra},
    }


def _objective_rules(svc: GoService) -> list[dict[str, Any]]:
    """The SLO as constant series: the window (its spec text in `window`, usable as a PromQL range), the
    availability and latency objectives as ratios, and the latency threshold with the histogram bucket bound
    it selects in `le` — so `and on(namespace, service, le)` picks the SLI's bucket without retyping it."""
    slo = svc.slo
    assert slo is not None
    rules = [_objective_rule(svc, "window", "seconds", duration_seconds(slo.window), window=slo.window)]
    if slo.availability is not None:
        rules.append(_objective_rule(svc, "availability_objective", "ratio", round(slo.availability / 100, 10)))
    if slo.latency is not None:
        threshold = duration_seconds(slo.latency.threshold)
        rules.append(_objective_rule(svc, "latency_objective", "ratio", round(slo.latency.target / 100, 10)))
        rules.append(_objective_rule(svc, "latency_threshold", "seconds", threshold, le=format_bound(threshold)))
    return rules


def _sli_rules(svc: GoService, kind: str) -> list[dict[str, Any]]:
    """SLI ratios over every burn window, from the service's own metric names (render/http_rules.py)."""
    rules = []
    for w in SLO_RATE_WINDOWS:
        if kind == "errors":
            expr = f"{errors_rate(svc, w)}\n/\n{requests_rate(svc, w)}"
        else:
            assert svc.slo is not None and svc.slo.latency is not None
            fast = _le_matcher(duration_seconds(svc.slo.latency.threshold))
            expr = (
                f"1 - (\n  {duration_rate(svc, 'bucket', w, ('namespace', 'service'), fast)}\n"
                f"  /\n  {duration_rate(svc, 'count', w)}\n)"
            )
        rules.append({"record": _record_name(kind, w), "expr": expr})
    return rules


def _burn_alert(svc: GoService, kind: str, objective: float, severity: str) -> dict[str, Any]:
    assert svc.slo is not None
    budget = round(1 - objective / 100, 10)
    sel = selector(svc)
    clauses = []
    for bw in (w for w in BURN_WINDOWS if w.severity == severity):
        factor = burn_factor(bw, svc.slo.window)
        threshold = f"{factor * budget:.10g}"
        clauses.append(
            f"(\n  {_record_name(kind, bw.long)}{sel} > {threshold}\n"
            f"and\n  {_record_name(kind, bw.short)}{sel} > {threshold}\n)"
        )
    name = "SLOErrorBudgetBurn" if kind == "errors" else "SLOLatencyBudgetBurn"
    what = "5xx responses" if kind == "errors" else "requests slower than the latency threshold"
    speed = "fast" if severity == "page" else "slow"
    labels: dict[str, str] = {"severity": severity, "slo": "availability" if kind == "errors" else "latency"}
    if svc.team:
        labels["team"] = svc.team
    return {
        "alert": name,
        "expr": "\nor\n".join(clauses),
        "for": "2m" if severity == "page" else "15m",
        "labels": labels,
        "annotations": {
            "summary": f"{svc.namespace}/{svc.name} is burning its {labels['slo']} error budget too {speed}",
            "description": (
                f"The share of {what} of {svc.namespace}/{svc.name} is {{{{ $value | humanizePercentage }}}} "
                f"(objective {objective:g}% over {svc.slo.window}); at this rate the error budget runs out "
                f"{'within days' if severity == 'page' else 'before the SLO window ends'}."
            ),
            "runbook_url": runbook_url(name),
        },
    }


def render_slo_groups(stack: Stack) -> list[dict[str, Any]]:
    """One rule group per service with an SLO: objective and SLI recording rules, then page and ticket alerts."""
    groups = []
    for svc in sorted(stack.services, key=lambda s: (s.namespace, s.name)):
        if svc.slo is None:
            continue
        rules = _objective_rules(svc)
        targets: list[tuple[str, float]] = []
        if svc.slo.availability is not None:
            targets.append(("errors", svc.slo.availability))
        if svc.slo.latency is not None:
            targets.append(("slow_requests", svc.slo.latency.target))
        for kind, _ in targets:
            rules += _sli_rules(svc, kind)
        for kind, objective in targets:
            rules += [_burn_alert(svc, kind, objective, severity) for severity in ("page", "ticket")]
        groups.append({"name": f"slo:{svc.namespace}/{svc.name}", "rules": rules})
    return groups


def component_groups(stack: Stack) -> dict[str, bool]:
    """Rule-group name → whether the component it watches is deployed; disabled ones are not rendered."""
    log, met = stack.logging, stack.metrics
    return {
        "processor": log.enabled and log.processor.enabled,
        "filebeat": log.enabled and log.filebeat.enabled and met.enabled and met.kube_state_metrics.enabled,
        "kafka": log.enabled and log.kafka.enabled and met.enabled and met.kafka_exporter.enabled,
        "elasticsearch": (
            log.enabled and log.elasticsearch.enabled and met.enabled and met.elasticsearch_exporter.enabled
        ),
        "alertmanager": met.enabled and met.alertmanager.enabled,
        "grafana": met.enabled and met.grafana.enabled,
        "node": met.enabled and met.node_exporter.enabled,
    }


def _without_disabled_groups(text: str, groups: list[dict[str, Any]], enabled: dict[str, bool]) -> str:
    kept = [g for g in groups if enabled.get(str(g.get("name")), True)]
    if len(kept) == len(groups):
        return text  # unchanged: keep the author's comments and layout
    return dump_yaml({"groups": kept})


def _parse_source(name: str, text: str, source_dir: str) -> list[dict[str, Any]]:
    try:
        docs = load_yaml_documents(text, f"{source_dir}/{name}", plain=True)
    except YamlInputError as e:
        raise RenderError("\n".join(e.problems), hint="run `obs alerts lint`") from None
    if len(docs) != 1 or not isinstance(docs[0], dict) or not isinstance(docs[0].get("groups"), list):
        raise RenderError(
            f"{source_dir}/{name}: not a Prometheus rule file (expected one document with a 'groups:' list)",
            hint="PrometheusRule custom resources are linted by `obs alerts lint` but rendered only as rule files",
        )
    return list(docs[0]["groups"])


def render_rule_files(stack: Stack, sources: dict[str, str], source_dir: str = "alerts") -> dict[str, str]:
    """The rule files Prometheus loads: alerts/*.yaml (minus groups of disabled components) + GENERATED_FILES.

    `source_dir` is the rule directory as the user named it, for messages only."""
    files: dict[str, str] = {}
    enabled = component_groups(stack)
    for name, text in sorted(sources.items()):
        if not name.endswith((".yaml", ".yml")) or name.rsplit("/", 1)[-1] == ROUTING_TESTS_FILE:
            continue
        groups = _parse_source(name, text, source_dir)
        files[name] = _without_disabled_groups(text, groups, enabled)
    generated = {
        SERVICE_RULES_FILE: render_service_groups(stack),
        SLO_RULES_FILE: render_slo_groups(stack),
        TARGET_RULES_FILE: render_target_groups(stack),
    }
    for name, groups in generated.items():
        if not groups:
            continue
        if name in files:
            raise RenderError(
                f"{source_dir}/{name} collides with generated rules of the same name; rename the hand-written file"
            )
        header = f"# Generated from {GENERATED_FILES[name]} by `obs render`; do not edit.\n"
        files[name] = header + dump_yaml({"groups": groups})
    return files
