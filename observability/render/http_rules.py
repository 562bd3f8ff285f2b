"""Render layer (PURE): each service's HTTP signals in one vocabulary, from its instrumentation profile.

Libraries name the same facts differently (promhttp `code`, OTel `http_response_status_code`, gRPC `grpc_code`…;
see spec/instrumentation.py). Instead of one copy of every alert and dashboard per library, each service gets
one generated rule group that records its traffic under canonical names and labels; the hand-written alerts in
alerts/ and every dashboard panel read only these. The PromQL builders here are also what the SLO rules
(render/rules.py) use, so the profile table is the one place that knows a library's names.

Recorded per service (every 5m-rate sums the service's pods; labels `namespace`, `service` plus):

    service:http_requests:rate5m                          method, route, status   every request
    service:http_errors:rate5m                            method, route           failed requests (0 when none)
    service:http_request_duration_seconds_bucket:rate5m   route, le               histogram profiles only
    service:http_request_duration_seconds_count:rate5m    route                   requests timed
    service:http_request_duration_seconds_sum:rate5m      route                   seconds spent (mean = sum/count)

The group also holds `GoServiceAbsent` for the service: `absent(up{job=…})` fires while the service has no scrape
target at all — also one that never had any — and keeps firing for as long as that lasts.
"""

from __future__ import annotations

from typing import Any

from observability.spec import Stack
from observability.spec.instrumentation import Profile
from observability.spec.model import GoService

RATE_WINDOW = "5m"
REQUESTS = "service:http_requests:rate5m"
ERRORS = "service:http_errors:rate5m"
DURATION_BUCKET = "service:http_request_duration_seconds_bucket:rate5m"
DURATION_COUNT = "service:http_request_duration_seconds_count:rate5m"
DURATION_SUM = "service:http_request_duration_seconds_sum:rate5m"
RUNBOOK_BASE_URL = "https://github.com/observability/observability/blob/main/docs/runbooks"
SERVICE_KEYS = ("namespace", "service")


def runbook_url(alert: str) -> str:
    return f"{RUNBOOK_BASE_URL}/{alert}.md"


def service_job(svc: GoService) -> str:
    """The scrape job of a service (render/prometheus.py names it so)."""
    return f"{svc.namespace}/{svc.name}"


def selector(svc: GoService, *extra: str) -> str:
    """The service's series: the namespace/service target labels its scrape job sets, plus `extra` matchers."""
    return "{" + ",".join([f'namespace="{svc.namespace}"', f'service="{svc.name}"', *extra]) + "}"


def _canonical(expr: str, profile: Profile, labels: tuple[str, ...]) -> str:
    """`expr` with the canonical labels among `labels` copied from the profile's own label names."""
    for canonical in labels:
        if canonical not in ("method", "route", "status"):
            continue
        source = profile.label(canonical)
        if source.join is not None:
            names = ", ".join(f'"{n}"' for n in source.labels)
            expr = f'label_join({expr}, "{canonical}", "{source.join}", {names})'
            continue
        # Lowest priority first: a later label_replace overwrites, and "(.+)" leaves the label alone when empty.
        for name in reversed(source.labels):
            if name != canonical:
                expr = f'label_replace({expr}, "{canonical}", "$1", "{name}", "(.+)")'
    return expr


def _by(labels: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(labels)})"


def requests_rate(svc: GoService, window: str, labels: tuple[str, ...] = SERVICE_KEYS) -> str:
    """Requests per second over `window`, summed by `labels` (canonical names)."""
    p = svc.profile
    return f"{_by(labels)} ({_canonical(f'rate({p.requests}{selector(svc)}[{window}])', p, labels)})"


def errors_rate(svc: GoService, window: str, labels: tuple[str, ...] = SERVICE_KEYS, *, zero: bool = True) -> str:
    """Failed requests per second over `window` by `labels`; with `zero`, 0 where requests but no errors exist.

    The error status is matched on the library's own label; a fallback label (promhttp: `status` where `code` is
    missing) gets its own branch, selected only where the preferred labels are empty.
    """
    p = svc.profile
    branches = []
    status_labels = p.status.labels
    for i, name in enumerate(status_labels):
        empty = [f'{prior}=""' for prior in status_labels[:i]]
        sel = selector(svc, *empty, f'{name}=~"{p.errors}"')
        branches.append(_canonical(f"rate({p.requests}{sel}[{window}])", p, labels))
    errors = f"{_by(labels)} ({' or '.join(branches)})"
    return f"({errors} or 0 * {requests_rate(svc, window, labels)})" if zero else errors


def duration_rate(svc: GoService, part: str, window: str, labels: tuple[str, ...] = SERVICE_KEYS, *extra: str) -> str:
    """rate() of the duration metric's `part` (bucket, count, sum) by `labels`; `extra` selects e.g. one `le`."""
    p = svc.profile
    assert p.duration is not None
    if not p.duration_has_route:
        labels = tuple(label for label in labels if label != "route")
    inner = f"rate({p.duration}_{part}{selector(svc, *extra)}[{window}])"
    return f"{_by(labels)} ({_canonical(inner, p, labels)})"


def _record(name: str, expr: str) -> dict[str, Any]:
    return {"record": name, "expr": expr}


def _absent_alert(svc: GoService) -> dict[str, Any]:
    labels = {"severity": "page", "namespace": svc.namespace, "service": svc.name}
    if svc.team:
        labels["team"] = svc.team
    return {
        "alert": "GoServiceAbsent",
        "expr": f'absent(up{{job="{service_job(svc)}"}})',
        "for": "5m",
        "labels": labels,
        "annotations": {
            "summary": f"{svc.namespace}/{svc.name} has no scrape targets",
            "description": (
                f"Prometheus has found no target of {svc.namespace}/{svc.name} for 5 minutes: its pods are gone, "
                "were never deployed, or no longer match the service's selector or metrics port in stack.yaml."
            ),
            "runbook_url": runbook_url("GoServiceAbsent"),
        },
    }


def service_rules(svc: GoService) -> list[dict[str, Any]]:
    """The recording rules of one service (see the module docstring) and its absent alert."""
    p, w = svc.profile, RATE_WINDOW
    by_all = ("namespace", "service", "method", "route", "status")
    by_route = ("namespace", "service", "method", "route")
    rules = [
        _record(REQUESTS, requests_rate(svc, w, by_all)),
        _record(ERRORS, errors_rate(svc, w, by_route)),
    ]
    timed = ("namespace", "service", "route")
    if p.has_histogram:
        rules.append(_record(DURATION_BUCKET, duration_rate(svc, "bucket", w, (*timed, "le"))))
    if p.duration is not None:
        rules.append(_record(DURATION_COUNT, duration_rate(svc, "count", w, timed)))
        rules.append(_record(DURATION_SUM, duration_rate(svc, "sum", w, timed)))
    return [*rules, _absent_alert(svc)]


def render_service_groups(stack: Stack) -> list[dict[str, Any]]:
    """One group per service, in namespace/name order."""
    return [
        {"name": f"service:{svc.namespace}/{svc.name}", "rules": service_rules(svc)}
        for svc in sorted(stack.services, key=lambda s: (s.namespace, s.name))
    ]
