"""Unit: services[].instrumentation — profiles, overrides, custom, and latency thresholds that must be buckets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from observability.spec.instrumentation import GO_DEFAULT_BUCKETS, OTEL_HTTP_BUCKETS, PROFILES
from observability.spec.model import GoService

BASE = {"name": "api", "namespace": "shop", "selector": {"app": "api"}, "metrics": {"port": 8080}}


def _svc(**extra: object) -> GoService:
    return GoService.model_validate({**BASE, **extra})


def test_default_is_promhttp_and_a_name_is_short_for_the_profile() -> None:
    assert _svc().profile.name == "promhttp"
    assert _svc(instrumentation="otel").profile == PROFILES["otel"]
    assert _svc(instrumentation={"profile": "grpc"}).profile.requests == "grpc_server_handled_total"


def test_every_profile_names_its_source_and_its_requests_counter() -> None:
    for profile in PROFILES.values():
        assert profile.source and profile.library and profile.requests
        assert profile.status.labels, profile.name
        if profile.has_histogram:
            assert profile.buckets == tuple(sorted(profile.buckets)), profile.name


def test_overrides_rename_metrics_and_a_renamed_histogram_counts_requests_too() -> None:
    ph = _svc(instrumentation={"profile": "promhttp", "requests_metric": "api_requests_total"}).profile
    assert ph.requests == "api_requests_total" and ph.duration == "http_request_duration_seconds"
    ghm = _svc(instrumentation={"profile": "go-http-metrics", "duration_metric": "app_http_request_duration_seconds"})
    assert ghm.profile.requests == "app_http_request_duration_seconds_count"


def test_custom_maps_labels_and_needs_them() -> None:
    custom = _svc(instrumentation={
        "profile": "custom", "duration_metric": "myapp_latency_seconds", "buckets": [0.1, 0.3, 1],
        "labels": {"status": "status_code", "route": "path", "method": "verb"}, "errors": "5..|429",
    }).profile  # fmt: skip
    assert custom.requests == "myapp_latency_seconds_count"
    assert (custom.status.labels, custom.route.labels, custom.method.labels) == (("status_code",), ("path",), ("verb",))
    assert custom.errors == "5..|429" and custom.buckets == (0.1, 0.3, 1.0)
    with pytest.raises(ValidationError, match="needs 'labels'"):
        _svc(instrumentation={"profile": "custom", "requests_metric": "x_total"})
    with pytest.raises(ValidationError, match="only be set with profile: custom"):
        _svc(instrumentation={"profile": "otel", "labels": {"status": "code"}})
    with pytest.raises(ValidationError, match="increasing order"):
        _svc(instrumentation={"profile": "promhttp", "buckets": [1, 0.5]})


@pytest.mark.parametrize(
    ("instrumentation", "threshold", "ok"),
    [
        ("promhttp", "250ms", True),
        ("promhttp", "300ms", False),
        ("otel", "750ms", True),  # an otelhttp bucket, not a Go default one
        ("go-http-metrics", "750ms", False),
        ("grpc", "1s", True),
        ({"profile": "promhttp", "buckets": [0.1, 0.3, 1]}, "300ms", True),
        ("gin-prometheus", "250ms", False),  # a summary has no buckets at all
    ],
)
def test_latency_threshold_must_be_a_bucket_bound(instrumentation: object, threshold: str, ok: bool) -> None:
    slo = {"latency": {"threshold": threshold, "target": 99}}
    if ok:
        _svc(instrumentation=instrumentation, slo=slo)
        return
    with pytest.raises(ValidationError) as e:
        _svc(instrumentation=instrumentation, slo=slo)
    message = str(e.value)
    assert "slo.latency.threshold" in message
    if instrumentation == "promhttp":
        assert ", ".join(f"{b:g}s" for b in GO_DEFAULT_BUCKETS) in message  # the boundaries it has
    if instrumentation == "gin-prometheus":
        assert "summary" in message


def test_otel_buckets_are_otelhttps_advice() -> None:
    assert 0.075 in OTEL_HTTP_BUCKETS and 7.5 in OTEL_HTTP_BUCKETS and 0.3 not in OTEL_HTTP_BUCKETS
