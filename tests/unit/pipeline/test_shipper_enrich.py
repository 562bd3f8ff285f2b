"""The processor's own decode/parse/enrich turn the demo shipper's Filebeat-shaped events into the ECS
document the search, dashboards and alerts expect (service, namespace, level, HTTP fields, trace id)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson

from observability.pipeline.shipper import AgentMeta, PodMeta, filebeat_event

READ_AT = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
LINE = json.dumps({
    "level": "error", "ts": "2026-11-23T10:00:00.100Z", "caller": "main.go:244", "msg": "request failed",
    "service": "checkout", "version": "1.4.2", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7", "method": "GET", "path": "/api/fail", "route": "/api/fail", "status": 500,
    "latency_ms": 1.5, "client_ip": "127.0.0.1", "user_agent": "demo",
})


def test_processor_turns_the_event_into_the_expected_ecs_document():
    from observability.pipeline.enrich import EnrichSettings, enrich
    from observability.pipeline.envelope import check_event
    from observability.pipeline.parse import parse_message

    raw = orjson.dumps(filebeat_event(LINE, 0, READ_AT, PodMeta("checkout", "shop"), AgentMeta()))
    event, reason, detail = check_event(raw, 1_000_000)
    assert reason is None, detail
    assert event is not None
    doc = enrich(event, parse_message(event["message"]), EnrichSettings())
    assert doc["@timestamp"] == "2026-11-23T10:00:00.100Z"  # the line's own time wins over the read time
    assert doc["service"]["name"] == "checkout"
    assert doc["kubernetes"]["namespace"] == "shop"
    assert doc["log"]["level"] == "error"
    assert doc["http"] == {"request": {"method": "GET"}, "response": {"status_code": 500}}
    assert doc["url"] == {"path": "/api/fail"}
    assert doc["trace"] == {"id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    assert doc["go"]["fields"]["route"] == "/api/fail"
