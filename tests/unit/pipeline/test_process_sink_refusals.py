"""ElasticsearchSink when Elasticsearch refuses a whole request or answers in a shape it should not.

Against FakeElasticsearch (a real local HTTP server; tests/doubles/fake_elasticsearch.py cites the public
sources of each answer shape it imitates). Each test is bounded by `_drain`'s deadline."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from observability.apply.elasticsearch import connect_elasticsearch
from observability.pipeline.metrics import ProcessorMetrics
from observability.pipeline.sink import Position, SinkItem
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink, bulk_lines, item_status
from observability.spec.processor import ElasticsearchSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from fake_elasticsearch import FakeElasticsearch, Faults

STREAM = "logs-go-default"


def _sink(es: FakeElasticsearch, metrics: ProcessorMetrics | None = None, **settings: Any) -> ElasticsearchSink:
    client = connect_elasticsearch(ElasticsearchSettings(url=es.url, request_timeout="2s"))
    values = {"batch_size": 50, "backoff_initial": 0.01, "backoff_max": 0.05, **settings}
    return ElasticsearchSink(client, BulkSettings(**values), metrics)


def _item(offset: int, message: str = "ok", index: str = STREAM, source: bytes | None = None) -> SinkItem:
    document = {"@timestamp": "2026-11-23T04:37:22.000Z", "message": message}
    body = source if source is not None else orjson.dumps(document)
    return SinkItem(f"logs-0-{offset}", index, body, Position("logs", 0, offset), b"original-%d" % offset)


def _drain(sink: ElasticsearchSink, timeout: float = 20, wait: bool = True) -> tuple[list[str], dict[str, str]]:
    confirmed: list[str] = []
    rejected: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while sink.pending() and time.monotonic() < deadline:
        result = sink.flush(wait=wait)
        confirmed += [i.doc_id for i in result.confirmed]
        for item, reason in result.rejected:
            assert item.original == b"original-%d" % item.position.offset  # the dead-letter topic gets it
            rejected[item.doc_id] = reason
        if result.retry_after:
            time.sleep(result.retry_after)
        elif not wait:
            time.sleep(0.001)
    assert sink.pending() == 0, f"{sink.pending()} items still pending after {timeout}s"
    return confirmed, rejected


@pytest.mark.timeout(60)
@pytest.mark.parametrize("wait", [True, False], ids=["answered-in-flush", "one-request-in-flight"])
def test_413_is_bisected_down_to_the_event_too_large_alone(wait: bool) -> None:
    big = 30_000
    with FakeElasticsearch(Faults(max_content_length=20_000)) as es:
        metrics = ProcessorMetrics()
        sink = _sink(es, metrics)
        items = [_item(i, "x" * (big if i == 17 else 100)) for i in range(120)]
        for item in items:
            sink.add(item)
        confirmed, rejected = _drain(sink, wait=wait)
    assert sorted(confirmed) == sorted(i.doc_id for i in items if i.position.offset != 17)
    assert list(rejected) == ["logs-0-17"]
    assert rejected["logs-0-17"].startswith("Elasticsearch 413 for this event alone")
    assert len(es.docs) == 119
    assert sink.up is True  # Elasticsearch answered: this is about the body, not an outage
    assert metrics.registry.get_sample_value("obs_processor_bulk_items_total", {"status": "413"}) > 0


@pytest.mark.timeout(60)
def test_after_a_413_requests_stay_below_the_size_that_was_refused() -> None:
    with FakeElasticsearch(Faults(max_content_length=12_000)) as es:
        sink = _sink(es)
        sizes: list[int] = []
        bulk = sink.client.bulk

        def recording_bulk(**kwargs: Any) -> Any:
            sizes.append(len(kwargs["operations"]))
            return bulk(**kwargs)

        sink.client.bulk = recording_bulk  # type: ignore[method-assign]
        for i in range(400):
            sink.add(_item(i, "y" * 300))
        confirmed, rejected = _drain(sink)
    assert len(confirmed) == 400 and rejected == {}
    refused = [s for s in sizes if s > 12_000]
    assert refused, "the first request must have been refused"
    assert all(s <= 12_000 for s in sizes[len(sizes) // 2 :]), "later requests must fit the learnt bound"


@pytest.mark.timeout(60)
def test_requests_are_bounded_in_bytes_and_an_event_too_large_alone_is_rejected_unsent() -> None:
    with FakeElasticsearch() as es:
        sink = _sink(es, max_body_bytes=10_000)
        sizes: list[int] = []
        bulk = sink.client.bulk

        def recording_bulk(**kwargs: Any) -> Any:
            sizes.append(len(kwargs["operations"]))
            return bulk(**kwargs)

        sink.client.bulk = recording_bulk  # type: ignore[method-assign]
        for i in range(100):
            sink.add(_item(i, "z" * (20_000 if i == 3 else 500)))
        confirmed, rejected = _drain(sink)
    assert len(confirmed) == 99 and list(rejected) == ["logs-0-3"]
    assert "max_body_bytes=10000" in rejected["logs-0-3"] and "never sent" in rejected["logs-0-3"]
    assert max(sizes) <= 10_000 and len(sizes) >= 5
    assert ("logs-go-default", "logs-0-3") not in es.docs


@pytest.mark.timeout(60)
def test_400_for_the_whole_body_is_bisected_to_the_malformed_event() -> None:
    # A source with a raw newline shifts every later line of the NDJSON body: Elasticsearch refuses the
    # whole request with 400 "Malformed action/metadata line". Bisection finds the one event.
    with FakeElasticsearch() as es:
        sink = _sink(es)
        items = [_item(i) for i in range(80)]
        items[41] = _item(41, source=b'{"message":"a"}\n{"message":"b"}')
        for item in items:
            sink.add(item)
        confirmed, rejected = _drain(sink)
    assert len(confirmed) == 79 and list(rejected) == ["logs-0-41"]
    assert "400" in rejected["logs-0-41"] and "Malformed action/metadata line" in rejected["logs-0-41"]


def test_action_lines_are_json_encoded_whatever_the_index_and_id() -> None:
    for index, doc_id in [('logs-"x', 'a"b'), ("logs-\\", "c\nd"), ("logs-é", "\u2028")]:
        action, source, end = bulk_lines(index, doc_id, b'{"m":1}').split(b"\n")
        assert orjson.loads(action) == {"create": {"_index": index, "_id": doc_id}}
        assert source == b'{"m":1}' and end == b""


@pytest.mark.timeout(60)
def test_an_index_name_elasticsearch_refuses_is_rejected_per_item_not_a_stalled_request() -> None:
    with FakeElasticsearch() as es:
        sink = _sink(es)
        for i in range(10):
            sink.add(_item(i, index='app-"quoted"-2026.11.23' if i == 4 else "app-shop-2026.11.23"))
        confirmed, rejected = _drain(sink)
    assert len(confirmed) == 9 and list(rejected) == ["logs-0-4"]
    assert rejected["logs-0-4"].startswith("Elasticsearch 400 invalid_index_name_exception: Invalid index name")


def _statuses_as(value: Any) -> Any:
    """Rewrites every item status; `errors: true` so the items are read one by one (with `errors: false`
    Elasticsearch says every item was stored, and the sink trusts it without reading them)."""

    def rewrite(answer: dict[str, Any]) -> dict[str, Any]:
        for entry in answer["items"]:
            for outcome in entry.values():
                outcome["status"] = value(outcome["status"])
        return {**answer, "errors": True}

    return rewrite


@pytest.mark.timeout(60)
def test_numeric_string_statuses_are_read_as_numbers() -> None:
    with FakeElasticsearch(Faults(answer=_statuses_as(str), item_429=0.3, seed=2)) as es:
        sink = _sink(es)
        for i in range(100):
            sink.add(_item(i))
        confirmed, rejected = _drain(sink)
    assert len(confirmed) == 100 and rejected == {} and len(es.docs) == 100


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(_statuses_as(lambda s: "created"), id="status-not-a-number"),
        pytest.param(_statuses_as(lambda s: None), id="status-null"),
        pytest.param(lambda a: {**a, "errors": True, "items": [{"create": {}} for _ in a["items"]]},
                     id="status-missing"),
        pytest.param(lambda a: {**a, "items": a["items"][:-1]}, id="one-item-short"),
        pytest.param(lambda a: {**a, "errors": True, "items": [["create"] for _ in a["items"]]},
                     id="items-not-objects"),
        pytest.param(lambda a: {"took": 1}, id="no-items"),
        pytest.param(lambda a: [a], id="answer-not-an-object"),
        pytest.param(
            lambda a: {"errors": True, "items": [{"create": {"status": 400, "error": "bad"}}] * len(a["items"])},
            id="error-a-string",
        ),
    ],
)
def test_a_malformed_answer_is_retried_never_a_crash(malformed: Any) -> None:
    faults = Faults()
    with FakeElasticsearch(faults) as es:
        sink = _sink(es)
        for i in range(20):
            sink.add(_item(i))
        faults.answer = malformed
        deadline = time.monotonic() + 5
        rejected: list[tuple[SinkItem, str]] = []
        while sink.pending() and es.bulk_requests < 3 and time.monotonic() < deadline:
            result = sink.flush()
            assert result.confirmed == []  # nothing malformed counts as stored
            rejected += result.rejected
            time.sleep(result.retry_after or 0.01)
        if rejected:  # a readable 4xx: dead-lettered with what Elasticsearch said
            assert [reason for _, reason in rejected] == ["Elasticsearch 400 error: bad"] * 20
            assert sink.pending() == 0
        else:
            assert es.bulk_requests >= 3, "the items must have been retried"
            assert sink.pending() == 20
        faults.answer = None
        confirmed, _ = _drain(sink)
    assert rejected or len(confirmed) == 20


def test_item_status_reads_what_elasticsearch_and_proxies_write() -> None:
    assert [item_status({"status": v}) for v in (201, "201", " 409", "created", None, True, 42, 700, 429.0)] == [
        201, 201, 409, None, None, None, None, None, None]  # fmt: skip
    assert item_status("not an object") is None and item_status({}) is None


def test_an_event_whose_index_name_breaks_elasticsearch_rules_is_dead_lettered_with_the_reason() -> None:
    from observability.pipeline.index_name import index_name_problem
    from observability.pipeline.transform import DEAD, STORE, Transformer, default_settings

    transform = Transformer(default_settings(index="app-{date}"), 1_000_000)
    bad = transform(b'{"message": "x", "@timestamp": "2026\\"11-23T04:37:22Z"}', Position("logs", 0, 1))
    assert bad.kind == DEAD and bad.reason == "invalid_index"
    assert "app-2026\"11.23" in bad.detail and "must not contain '\"'" in bad.detail
    good = transform(b'{"message": "x", "@timestamp": "2026-11-23T04:37:22Z"}', Position("logs", 0, 2))
    assert good.kind == STORE and good.item is not None and good.item.index == "app-2026.11.23"
    assert [index_name_problem(n) is None for n in ("logs-go-default", "_x", "a:b", "a#b", ".", "A", "é" * 128)] == [
        True, False, False, False, False, False, False]  # fmt: skip


def _failing_reason(es_url: str, timeout: str = "2s") -> tuple[str, str, float]:
    client = connect_elasticsearch(ElasticsearchSettings(url=es_url, request_timeout=timeout))
    metrics = ProcessorMetrics()
    sink = ElasticsearchSink(client, BulkSettings(batch_size=10, backoff_initial=0.01, backoff_max=0.02), metrics)
    for i in range(5):
        sink.add(_item(i))
    assert sink.flush().confirmed == [] and not sink.up
    failures = metrics.registry.get_sample_value("obs_processor_sink_failures_total", {"reason": sink.down_reason})
    sink.close()
    return sink.down_reason, sink.last_error, failures or 0.0


@pytest.mark.timeout(60)
def test_why_the_sink_is_down_is_kept_as_a_short_reason_and_counted_by_it() -> None:
    with FakeElasticsearch(Faults(request_503=1.0)) as es:
        reason, detail, count = _failing_reason(es.url)
        assert (reason, count) == ("http_503", 1.0) and "503" in detail
    with FakeElasticsearch(Faults(answer=lambda a: {"took": 1})) as es:
        assert _failing_reason(es.url)[0] == "malformed_answer"
    with FakeElasticsearch(Faults(slow=1.0, slow_seconds=3)) as es:
        assert _failing_reason(es.url, timeout="1s")[0] == "timeout"
    with FakeElasticsearch() as es:
        closed = es.url
    reason, detail, count = _failing_reason(closed)
    assert (reason, count) == ("connection", 1.0), detail
