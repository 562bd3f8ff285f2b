"""Unit: which profile fits an inventory of series (metric → label names), and the reason when none does.

The inventories are what the real test services (tests/go-services/) expose, as `obs services detect` reads them.
"""

from __future__ import annotations

from observability.check.instrumentation import fits, live_bucket_problem, none_fits_reason, profile_problem
from observability.spec.instrumentation import PROFILES

TARGET = {"instance", "job", "namespace", "service", "pod", "node"}
PROMHTTP = {
    "http_requests_total": {"code", "handler", "method", *TARGET},
    "http_request_duration_seconds_bucket": set(), "http_request_duration_seconds_sum": set(),
    "http_request_duration_seconds_count": {"code", "handler", "method", *TARGET}, "go_goroutines": set(),
}  # fmt: skip
GO_HTTP_METRICS = {
    "http_request_duration_seconds_count": {"code", "handler", "method", "exported_service", *TARGET},
    "http_request_duration_seconds_bucket": set(), "http_request_duration_seconds_sum": set(),
    "http_requests_inflight": set(), "http_response_size_bytes_count": set(),
}  # fmt: skip


def test_the_library_whose_own_series_are_all_there_comes_first() -> None:
    assert [f.profile for f in fits(PROMHTTP)] == ["promhttp", "go-http-metrics"]
    assert fits(PROMHTTP)[0].evidence == "http_requests_total{code,handler,method}"
    assert [f.profile for f in fits(GO_HTTP_METRICS)] == ["go-http-metrics"]


def test_a_profile_without_its_status_label_or_histogram_does_not_fit() -> None:
    ours = {"http_requests_total": {"status", "route", "method"}}  # this project's older convention
    assert profile_problem(PROFILES["promhttp"], ours) == (
        "http_request_duration_seconds_bucket is absent (latency panels, alerts and SLOs stay empty)"
    )
    assert "has no grpc_code label" in str(profile_problem(PROFILES["grpc"], {"grpc_server_handled_total": set()}))


def test_none_fits_says_why() -> None:
    assert "no series of it" in none_fits_reason({})
    old_otel = {"http_server_duration_milliseconds_count": {"http_method", "http_status_code"}}
    assert "older OpenTelemetry HTTP conventions" in none_fits_reason(old_otel)
    assert "profile: custom" in none_fits_reason({"myapp_calls_total": {"rc"}, "go_goroutines": set()})


def test_live_buckets_compare_as_numbers_whichever_way_prometheus_writes_them() -> None:
    assert live_bucket_problem(1.0, ["0.5", "1.0", "+Inf"]) is None  # Prometheus 3 writes 1 as "1.0"
    assert live_bucket_problem(0.25, ["0.1", "0.25", "+Inf"]) is None
    assert live_bucket_problem(0.25, []) is None  # no live histogram: nothing to judge
    assert "(0.1s, 0.5s)" in str(live_bucket_problem(0.3, ["0.1", "0.5", "+Inf"]))
