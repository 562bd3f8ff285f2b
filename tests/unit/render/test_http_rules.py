"""Unit: the recorded HTTP signals are built from each profile's own names (render/http_rules.py)."""

from __future__ import annotations

import promql_parser
import pytest

from observability.render.http_rules import DURATION_BUCKET, ERRORS, REQUESTS, service_rules
from observability.spec.instrumentation import PROFILES
from observability.spec.model import GoService


def _rules(instrumentation: object) -> dict[str, str]:
    svc = GoService.model_validate({
        "name": "api", "namespace": "shop", "selector": {"app": "api"}, "metrics": {"port": 1},
        "instrumentation": instrumentation,
    })  # fmt: skip
    return {str(r.get("record") or r.get("alert")): str(r["expr"]) for r in service_rules(svc)}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_renders_valid_promql_from_its_own_names(profile: str) -> None:
    instrumentation: object = profile
    if profile == "custom":
        instrumentation = {"profile": "custom", "requests_metric": "x_total", "labels": {"status": "rc"}}
    rules = _rules(instrumentation)
    for expr in rules.values():
        promql_parser.parse(expr)
    p = PROFILES[profile]
    if profile != "custom":
        assert f"rate({p.requests}{{" in rules[REQUESTS]
        assert f'{p.status.labels[0]}=~"{p.errors}"' in rules[ERRORS]
    assert (DURATION_BUCKET in rules) == (profile not in ("gin-prometheus", "custom"))
    assert rules["GoServiceAbsent"] == 'absent(up{job="shop/api"})'


def test_canonical_labels_come_from_the_librarys_labels() -> None:
    otel = _rules("otel")[REQUESTS]
    assert '"status", "$1", "http_response_status_code", "(.+)"' in otel
    assert '"route", "$1", "http_route", "(.+)"' in otel
    grpc = _rules("grpc")[REQUESTS]
    assert 'label_join(' in grpc and '"route", "/", "grpc_service", "grpc_method"' in grpc
    # promhttp: `code` wins over the older `status`, which only counts where `code` is empty
    errors = _rules("promhttp")[ERRORS]
    assert 'code=~"5.."' in errors and 'code="",status=~"5.."' in errors
    assert " or 0 * " in errors  # a zero, not nothing, where requests have no errors
