"""The sample Go service builds offline from Debian's packages and behaves as the docs say."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def log_lines(service) -> list[dict]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in service.log_path.read_text().splitlines() if line.strip()]
        if any(line.get("msg") == "panic recovered" for line in lines):
            return lines
        time.sleep(0.05)
    return lines


def test_routes_metrics_and_logs(go_service):
    assert get(f"{go_service.url}/api/items")[0] == 200
    assert get(f"{go_service.url}/api/items/abc")[0] == 400
    assert get(f"{go_service.url}/api/fail")[0] == 500
    assert get(f"{go_service.url}/api/panic")[0] == 500

    status, metrics = get(go_service.metrics_url)
    assert status == 200
    assert 'http_requests_total{method="GET",route="/api/items",status="200"} 1' in metrics
    assert 'http_requests_total{method="GET",route="/api/panic",status="500"} 1' in metrics
    assert 'http_request_duration_seconds_bucket{method="GET",route="/api/fail",status="500",le="0.005"}' in metrics
    assert "go_goroutines" in metrics and "process_resident_memory_bytes" in metrics

    lines = log_lines(go_service)
    panic = next(line for line in lines if line.get("msg") == "panic recovered")
    assert panic["level"] == "error"
    assert "assignment to entry in nil map" in panic["panic"]
    assert "goroutine" in panic["stacktrace"] or "main.routes" in panic["stacktrace"]
    assert len(panic["trace_id"]) == 32 and len(panic["span_id"]) == 16
    access = next(line for line in lines if line.get("route") == "/api/items" and line.get("status") == 200)
    assert access["method"] == "GET" and access["service"] == "checkout"


def test_fail_ratio_drives_errors(go_service):
    go_service.set_fail_ratio(1.0)
    assert get(f"{go_service.url}/api/items")[0] == 500
    go_service.set_fail_ratio(0.0)
    assert get(f"{go_service.url}/api/items")[0] == 200
    request = urllib.request.Request(f"{go_service.url}/admin/fail-ratio?ratio=2", method="POST")
    with pytest.raises(urllib.error.HTTPError) as rejected:
        urllib.request.urlopen(request, timeout=5)
    assert rejected.value.code == 400
