"""Unit tests: events recorded from the real Filebeat (real_filebeat_events.py) through the processor's per-event
path — read on the fast path, and every field the document takes from the envelope where it belongs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from real_filebeat_events import NAMES, recorded_event, recorded_raw

from observability.pipeline.envelope import EnvelopeReader
from observability.pipeline.sink import Position
from observability.pipeline.transform import STORE, Transformer, default_settings


def document(name: str) -> dict[str, Any]:
    outcome = Transformer(default_settings(), max_bytes=1_000_000)(recorded_raw(name), Position("logs", 0, 7))
    assert outcome.kind == STORE and outcome.item is not None, f"{name}: {outcome.reason} {outcome.detail}"
    doc: dict[str, Any] = orjson.loads(outcome.item.source)
    return doc


@pytest.mark.parametrize("name", NAMES)
def test_the_fast_path_reads_real_events(name: str) -> None:
    envelope = EnvelopeReader(1_000_000).decode(recorded_raw(name))
    event = recorded_event(name)
    assert envelope is not None, "the strict decoder refused a real Filebeat event"
    assert (envelope.message, envelope.timestamp, envelope.stream) == (
        event["message"], event["@timestamp"], event["stream"],
    )  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_what_filebeat_and_add_kubernetes_metadata_sent_reaches_the_document(name: str) -> None:
    event, doc = recorded_event(name), document(name)
    assert doc["log"]["file"] == event["log"]["file"]
    assert doc["log"]["offset"] == event["log"]["offset"]
    assert doc["log"]["stream"] == event["stream"]
    for key in ("kubernetes", "container", "host", "agent", "orchestrator", "input"):
        assert doc[key] == event[key], key
    assert doc["orchestrator"]["cluster"]["name"] == "prod-eu-1"  # the spec's cluster.name, from add_fields
    pod = event["kubernetes"]
    assert doc["service"]["name"] == pod["labels"]["app_kubernetes_io/name"]
    assert doc["kubernetes"]["namespace"] == "shop"
    assert len(doc["container"]["id"]) == 64


def test_a_joined_panic_keeps_filebeats_multiline_flag_and_its_stack() -> None:
    doc = document("cri_go_panic")
    assert doc["log"]["flags"] == ["multiline"]
    assert doc["go"]["format"] == "go_panic" and doc["log"]["level"] == "panic"
    assert doc["error"]["type"] == "panic"
    assert "goroutine 8406 [running]:" in doc["error"]["stack_trace"]
    assert (
        doc["log"]["origin"]["function"]
        == "github.com/status-im/status-go/protocol.TestActiveContactRequestNotification"
    )


def test_the_lines_own_fields_are_parsed() -> None:
    zap, slog = document("cri_zap_line"), document("docker_slog_line")
    assert (zap["go"]["format"], zap["log"]["level"], zap["message"]) == ("zap_json", "warn",
                                                                          "Log without structured data...")  # fmt: skip
    assert zap["@timestamp"] == "1970-01-01T00:00:00.000Z"  # the line's own `ts`, not Filebeat's read time
    assert (slog["go"]["format"], slog["message"], slog["go"]["fields"]) == ("slog_json", "hello", {"count": 3})
    assert slog["@timestamp"] == "2022-11-08T20:28:26.000Z"
