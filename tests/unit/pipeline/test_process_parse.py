"""Unit tests: one exact expected result per log format the processor recognises."""

from __future__ import annotations

import pytest

from observability.pipeline.parse import go_duration_ns, normalise_timestamp, parse_message

CASES = {
    "zap_json": (
        '{"level":"info","ts":1795408642.123456,"logger":"http","caller":"server/handler.go:88",'
        '"msg":"request handled","status":200}',
        {"format": "zap_json", "message": "request handled", "timestamp": "2026-11-23T04:37:22.123Z",
         "level": "info", "logger": "http", "caller": "server/handler.go:88", "fields": {"status": 200}},
    ),
    "zap_json_iso_with_stack": (
        '{"level":"error","ts":"2026-11-23T05:37:22.5+01:00","msg":"query failed","error":"timeout",'
        '"stacktrace":"main.run\\n\\t/app/main.go:12"}',
        {"format": "zap_json", "message": "query failed", "timestamp": "2026-11-23T04:37:22.500Z",
         "level": "error", "error": "timeout", "stack_trace": "main.run\n\t/app/main.go:12", "fields": {}},
    ),
    "zap_console": (
        '2026-11-23T04:37:22.123Z\tINFO\thttp\tserver/main.go:42\trequest handled\t{"method": "GET"}',
        {"format": "zap_console", "level": "INFO", "timestamp": "2026-11-23T04:37:22.123Z", "logger": "http",
         "caller": "server/main.go:42", "message": "request handled", "fields": {"method": "GET"}},
    ),
    "zap_console_dev_with_stack": (
        "2026-11-23T05:37:22.123+0100\tERROR\tmain.go:10\tboom\nmain.main\n\t/app/main.go:10",
        {"format": "zap_console", "level": "ERROR", "timestamp": "2026-11-23T04:37:22.123Z",
         "caller": "main.go:10", "message": "boom", "stack_trace": "main.main\n\t/app/main.go:10", "fields": {}},
    ),
    "logrus_json": (
        '{"level":"warning","msg":"cache miss","time":"2026-11-23T05:37:22+01:00","key":"user:42"}',
        {"format": "logrus_json", "message": "cache miss", "timestamp": "2026-11-23T04:37:22.000Z",
         "level": "warning", "fields": {"key": "user:42"}},
    ),
    "logrus_text": (
        'time="2026-11-23T04:37:22Z" level=info msg="started \\"api\\"" port=8080 error="none"',
        {"format": "logrus_text", "message": 'started "api"', "timestamp": "2026-11-23T04:37:22.000Z",
         "level": "info", "error": "none", "fields": {"port": "8080"}},
    ),
    "zerolog_json": (
        '{"level":"debug","time":1795408642,"message":"tick","n":3}',
        {"format": "zerolog_json", "message": "tick", "timestamp": "2026-11-23T04:37:22.000Z",
         "level": "debug", "fields": {"n": 3}},
    ),
    "go_log": (
        "2026/11/23 04:37:22.123456 main.go:17: listening on :8080",
        {"format": "go_log", "message": "listening on :8080", "timestamp": "2026-11-23T04:37:22.123Z",
         "caller": "main.go:17"},
    ),
    "go_log_prefix": (
        "checkout: 2026/11/23 04:37:22 ready",
        {"format": "go_log", "message": "ready", "timestamp": "2026-11-23T04:37:22.000Z", "logger": "checkout"},
    ),
    "gin": (
        '[GIN] 2026/11/23 - 04:37:22 | 200 |    1.234ms |       10.0.0.1 | GET      "/api/orders?id=1"',
        {"format": "gin", "message": "GET /api/orders?id=1 200", "timestamp": "2026-11-23T04:37:22.000Z",
         "http": {"method": "GET", "path": "/api/orders?id=1", "status_code": 200, "duration_ns": 1_234_000,
                  "client_ip": "10.0.0.1"}},
    ),
    "go_panic": (
        "panic: assignment to entry in nil map\n\ngoroutine 7 [running]:\nmain.save(...)\n\t/app/store.go:31 +0x1d"
        "\nmain.main()\n\t/app/main.go:12 +0x25",
        {"format": "go_panic", "level": "panic", "message": "panic: assignment to entry in nil map",
         "error": "assignment to entry in nil map", "function": "main.save", "caller": "/app/store.go:31",
         "stack_trace": "goroutine 7 [running]:\nmain.save(...)\n\t/app/store.go:31 +0x1d\nmain.main()\n\t"
                        "/app/main.go:12 +0x25"},
    ),
    "cri_wrapper": (
        '2026-11-23T04:37:22.987654321Z stderr F {"level":"info","ts":1795408642.5,"msg":"wrapped"}',
        {"format": "zap_json", "message": "wrapped", "timestamp": "2026-11-23T04:37:22.500Z", "level": "info",
         "fields": {}, "stream": "stderr"},
    ),
    "cri_wrapper_plain_keeps_cri_time": (
        "2026-11-23T04:37:22.987654321Z stdout F hello",
        {"format": "plain", "message": "hello", "stream": "stdout", "timestamp": "2026-11-23T04:37:22.987Z"},
    ),
    "docker_json_file": (
        '{"log":"2026/11/23 04:37:22 docker wrapped\\n","stream":"stderr","time":"2026-11-23T04:37:22.5Z"}',
        {"format": "go_log", "message": "docker wrapped", "timestamp": "2026-11-23T04:37:22.000Z",
         "stream": "stderr"},
    ),
    "generic_json": ('{"a":[1,2]}', {"format": "json", "message": "", "fields": {"a": [1, 2]}}),
    "plain": ("just some text", {"format": "plain", "message": "just some text"}),
    "json_array_is_plain": ("[1,2,3]", {"format": "plain", "message": "[1,2,3]"}),
    "empty": ("", {"format": "plain", "message": ""}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_format_exact(name: str) -> None:
    line, expected = CASES[name]
    assert parse_message(line) == expected


def test_klog_uses_current_year_and_letter_level() -> None:
    result = parse_message("E1123 04:37:22.123456   12345 reflector.go:42] failed to list")
    assert result["format"] == "klog"
    assert result["level"] == "E"
    assert result["caller"] == "reflector.go:42"
    assert result["message"] == "failed to list"
    assert result["timestamp"].endswith("-11-23T04:37:22.123Z")


def test_go_log_line_with_panic_becomes_panic() -> None:
    line = "2026/11/23 04:37:22 panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:9 +0x1"
    result = parse_message(line)
    assert result["format"] == "go_panic"
    assert result["timestamp"] == "2026-11-23T04:37:22.000Z"
    assert result["error"] == "boom"


def test_deeply_nested_json_is_kept_as_plain_text() -> None:
    line = '{"msg":"x","level":"info","a":' + "[" * 40 + "]" * 40 + "}"
    assert parse_message(line) == {"format": "plain", "message": line}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-23T04:37:22Z", "2026-11-23T04:37:22.000Z"),
        ("2026-11-23T04:37:22.123456789-05:00", "2026-11-23T09:37:22.123Z"),
        ("2026-11-23 04:37:22", "2026-11-23T04:37:22.000Z"),
        (1795408642, "2026-11-23T04:37:22.000Z"),
        (1795408642123, "2026-11-23T04:37:22.123Z"),
        (1795408642123456789, "2026-11-23T04:37:22.123Z"),
        ("yesterday", None),
        (True, None),
        (None, None),
    ],
)
def test_normalise_timestamp(value: object, expected: str | None) -> None:
    assert normalise_timestamp(value) == expected


@pytest.mark.parametrize(
    ("text", "ns"),
    [("1.5ms", 1_500_000), ("2m3.5s", 123_500_000_000), ("850ns", 850), ("12µs", 12_000), ("x", None), ("", None)],
)
def test_go_duration(text: str, ns: int | None) -> None:
    assert go_duration_ns(text) == ns
