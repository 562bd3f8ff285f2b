"""Unit tests: the fast envelope path (msgspec.Raw pass-through, memo) against the thorough path."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from observability.pipeline.enrich import EnrichSettings, compile_drop_rules
from observability.pipeline.envelope import EnvelopeReader
from observability.pipeline.redact import Redactor
from observability.pipeline.sink import Position
from observability.pipeline.transform import DEAD, DROPPED, STORE, Outcome, Transformer
from observability.spec.model import DropRule

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from filebeat_events import LINES, event_bytes, filebeat_event

SETTINGS = EnrichSettings(environment="prod", redactor=Redactor(["password", "token", "authorization"]))
POSITION = Position("logs", 1, 7)


def slow(transform: Transformer, raw: bytes) -> Outcome:
    """The thorough path only: check_event + envelope_from_event, then the same enrichment."""
    envelope, reason, detail = transform.reader.check(raw)
    if envelope is None:
        return Outcome(DEAD, reason=reason or "", detail=detail)
    return transform._outcome(envelope, raw, POSITION, None)


def same(fast: Outcome, thorough: Outcome) -> None:
    assert (fast.kind, fast.reason, fast.format, fast.labels) == (
        thorough.kind, thorough.reason, thorough.format, thorough.labels,
    )  # fmt: skip
    if fast.kind == STORE:
        assert fast.item is not None and thorough.item is not None
        assert orjson.loads(fast.item.source) == orjson.loads(thorough.item.source)
        assert fast.item.index == thorough.item.index and fast.item.original == thorough.item.original


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=12,
)
keys = st.sampled_from(
    ["@timestamp", "kubernetes", "container", "log", "fields", "stream", "host", "agent", "input", "cloud",
     "orchestrator", "@metadata", "ecs"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=8), st.sampled_from(list(LINES.values())) | st.text(max_size=80))
def test_fast_path_equals_thorough_path_on_any_envelope(extra: dict, message: str) -> None:
    transform = Transformer(SETTINGS, 1_000_000)
    raw = orjson.dumps({**extra, "message": message})
    thorough = slow(transform, raw)
    assume(thorough.reason != "too_deep")  # the fast path leaves unread objects' depth to Elasticsearch
    same(transform(raw, POSITION), thorough)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(LINES.values())), st.sampled_from(["shop", "kube-system"]), st.integers(0, 3))
def test_fast_path_equals_thorough_path_on_filebeat_events_with_drop_rules(line: str, ns: str, app: int) -> None:
    rules = compile_drop_rules([DropRule(field="kubernetes.namespace", matches="^kube-"),
                                DropRule(field="url.path", equals="/healthz")])  # fmt: skip
    transform = Transformer(EnrichSettings(drop=rules, index="logs-{namespace}-{service}-{date}"), 1_000_000)
    raw = event_bytes(line, namespace=ns, app=f"app{app}")
    fast = transform(raw, POSITION)
    same(fast, slow(transform, raw))
    assert fast.kind == (DROPPED if ns == "kube-system" else STORE)


def test_pass_through_objects_are_copied_verbatim_and_the_document_stays_one_line() -> None:
    event = filebeat_event(LINES["zap_json"])
    pretty = orjson.dumps(event, option=orjson.OPT_INDENT_2)  # newlines between tokens: not one NDJSON line
    spaced = orjson.dumps(event).replace(b'"kubernetes":{', b'"kubernetes" :  { ')
    transform = Transformer(SETTINGS, 1_000_000)
    for raw in (pretty, spaced):
        outcome = transform(raw, POSITION)
        assert outcome.kind == STORE and outcome.item is not None
        assert b"\n" not in outcome.item.source and b"\r" not in outcome.item.source
        doc = orjson.loads(outcome.item.source)
        assert doc["kubernetes"] == event["kubernetes"] and doc["host"] == event["host"]
        assert doc["service"]["name"] == "checkout" and outcome.labels == ("checkout", "shop", "info")


def test_objects_that_are_not_objects_are_dead_lettered_and_nulls_are_left_out() -> None:
    transform = Transformer(SETTINGS, 1_000_000)
    for key in ("kubernetes", "container", "host", "agent", "fields", "input", "log"):
        outcome = transform(orjson.dumps({**filebeat_event("x"), key: "text"}), POSITION)
        assert (outcome.kind, outcome.reason) == (DEAD, "invalid_field"), key
        assert key in outcome.detail
        nulled = transform(orjson.dumps({**filebeat_event("x"), key: None}), POSITION)
        assert nulled.kind == STORE and nulled.item is not None
        assert key not in orjson.loads(nulled.item.source) or key == "log"
    cloud = transform(orjson.dumps({**filebeat_event("x"), "cloud": 5}), POSITION)  # unread: dropped, as before
    assert cloud.kind == STORE and cloud.item is not None and "cloud" not in orjson.loads(cloud.item.source)


def test_deep_objects_that_are_read_are_dead_lettered_as_too_deep() -> None:
    deep: object = 1
    for _ in range(25):
        deep = {"a": deep}
    transform = Transformer(SETTINGS, 1_000_000)
    for key in ("fields", "kubernetes"):
        outcome = transform(orjson.dumps({**filebeat_event("x"), key: deep}), POSITION)
        assert (outcome.kind, outcome.reason) == (DEAD, "too_deep"), key


def test_the_memo_is_bounded_and_keyed_by_text() -> None:
    reader = EnvelopeReader(1_000_000, memo_size=8)
    transform = Transformer(SETTINGS, 1_000_000)
    transform.reader = reader
    for i in range(50):
        event = filebeat_event("x", namespace=f"ns{i}")
        event["fields"] = {"cluster": f"c{i % 20}", "password": "hunter2"}  # custom fields: memoised by text
        outcome = transform(orjson.dumps(event), POSITION)
        assert outcome.item is not None
        doc = orjson.loads(outcome.item.source)
        # never a stale answer from another event's text
        assert outcome.labels[1] == f"ns{i}" and doc["fields"] == {"cluster": f"c{i % 20}", "password": "[REDACTED]"}
        assert len(reader._memo) <= 8
