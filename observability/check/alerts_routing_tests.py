"""Check layer (PURE): run Alertmanager routing tests (alerts/routing-tests.yaml) against a routing tree.

File format (one case per entry; `firing` lists the other alerts active at the same time, which is what
inhibition depends on):

    tests:
      - name: checkout error rate pages on-call and tells the payments team
        alert: {alertname: GoServiceHighErrorRate, severity: page, namespace: shop, service: checkout}
        receivers: [payments-slack, oncall]     # in routing-tree order, like `amtool config routes test`
      - name: a down service silences its error-rate alert
        firing:
          - {alertname: GoServiceDown, severity: page, namespace: shop, service: checkout}
        alert: {alertname: GoServiceHighErrorRate, severity: page, namespace: shop, service: checkout}
        receivers: [payments-slack, oncall]
        inhibited: true
        repeat_interval: 4h                     # optional: of the first matching route
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from observability.check.alerts_routing import RoutingTree
from observability.check.alerts_yaml import LineDict, line_of, load_documents
from observability.errors import CheckError

ROUTING_TESTS_FILE = "routing-tests.yaml"
_CASE_KEYS = {"name", "alert", "firing", "receivers", "inhibited", "repeat_interval"}


@dataclass(frozen=True)
class RoutingCase:
    name: str
    line: int
    alert: dict[str, str]
    firing: list[dict[str, str]]
    receivers: list[str]
    inhibited: bool
    repeat_interval: str | None


@dataclass(frozen=True)
class RoutingResult:
    case: RoutingCase
    receivers: list[str]
    inhibited: bool
    repeat_interval: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _labels(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise CheckError(f"{where}: must be a mapping of label names to values, e.g. {{alertname: X}}")
    return {str(k): str(v) for k, v in value.items()}


def parse_routing_tests(text: str, source: str = ROUTING_TESTS_FILE) -> list[RoutingCase]:
    """The cases in a routing-tests file; CheckError naming file:line for a malformed case."""
    docs = load_documents(text, source)
    if len(docs) != 1 or not isinstance(docs[0], dict) or not isinstance(docs[0].get("tests"), list):
        raise CheckError(f"{source}: expected one document with a 'tests:' list")
    cases = []
    for i, raw in enumerate(docs[0]["tests"]):
        where = f"{source}:{line_of(raw, line_of(docs[0]['tests']))}"
        if not isinstance(raw, LineDict):
            raise CheckError(f"{where}: tests[{i}] must be a mapping with name, alert and receivers")
        unknown = sorted(set(raw) - _CASE_KEYS)
        if unknown:
            raise CheckError(f"{where}: tests[{i}] has unknown keys {unknown}; allowed: {sorted(_CASE_KEYS)}")
        for key in ("name", "alert", "receivers"):
            if key not in raw:
                raise CheckError(f"{where}: tests[{i}] needs '{key}'")
        receivers = raw["receivers"]
        if not isinstance(receivers, list) or not all(isinstance(r, str) for r in receivers):
            raise CheckError(f"{where}: tests[{i}].receivers must be a list of receiver names")
        firing = raw.get("firing") or []
        if not isinstance(firing, list):
            raise CheckError(f"{where}: tests[{i}].firing must be a list of label sets")
        cases.append(
            RoutingCase(
                name=str(raw["name"]),
                line=line_of(raw),
                alert=_labels(raw["alert"], f"{where}: tests[{i}].alert"),
                firing=[_labels(f, f"{where}: tests[{i}].firing") for f in firing],
                receivers=list(receivers),
                inhibited=bool(raw.get("inhibited", False)),
                repeat_interval=str(raw["repeat_interval"]) if "repeat_interval" in raw else None,
            )
        )
    return cases


def run_routing_tests(tree: RoutingTree, cases: list[RoutingCase]) -> list[RoutingResult]:
    results = []
    for case in cases:
        routes = tree.routes_for(case.alert)
        receivers = [r.receiver for r in routes]
        inhibited = tree.inhibited(case.alert, [case.alert, *case.firing])
        problems = []
        unknown = sorted(set(case.receivers) - set(tree.receivers))
        if unknown:
            problems.append(f"expects receivers {unknown} that the config does not define")
        if receivers != case.receivers:
            problems.append(f"routed to {receivers}, expected {case.receivers}")
        if inhibited != case.inhibited:
            problems.append("inhibited, expected to notify" if inhibited else "notifies, expected to be inhibited")
        repeat = routes[0].repeat_interval
        if case.repeat_interval is not None and repeat != case.repeat_interval:
            problems.append(f"repeat_interval {repeat}, expected {case.repeat_interval}")
        results.append(RoutingResult(case, receivers, inhibited, repeat, problems))
    return results
