"""ElasticsearchSink against the FakeElasticsearch double (a real local HTTP server, port 0)."""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from observability.apply.elasticsearch import connect_elasticsearch, ensure_log_templates
from observability.pipeline.metrics import MetricsServer, ProcessorMetrics
from observability.pipeline.sink import Position
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink
from observability.pipeline.transform import Transformer, default_settings
from observability.render.elasticsearch import ilm_policy_body, index_template_body
from observability.spec.processor import ElasticsearchSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from fake_elasticsearch import FakeElasticsearch, Faults
from filebeat_events import mixed_events


def _sink(es: FakeElasticsearch, metrics: ProcessorMetrics | None = None) -> ElasticsearchSink:
    client = connect_elasticsearch(ElasticsearchSettings(url=es.url, request_timeout="2s"))
    return ElasticsearchSink(client, BulkSettings(batch_size=50, backoff_initial=0.01, backoff_max=0.05), metrics)


def _fill(sink: ElasticsearchSink, count: int) -> list[str]:
    transform = Transformer(default_settings(), 1_000_000)
    ids = []
    for offset, raw in enumerate(mixed_events(count)):
        outcome = transform(raw, Position("logs", 1, offset))
        assert outcome.item is not None
        sink.add(outcome.item)
        ids.append(outcome.item.doc_id)
    return ids


def _drain(sink: ElasticsearchSink, timeout: float = 20, wait: bool = True) -> tuple[list[str], list[tuple[str, str]]]:
    confirmed: list[str] = []
    rejected: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    while sink.pending() and time.monotonic() < deadline:
        result = sink.flush(wait=wait)
        confirmed += [i.doc_id for i in result.confirmed]
        rejected += [(i.doc_id, reason) for i, reason in result.rejected]
        if result.retry_after:
            time.sleep(result.retry_after)
        elif not wait:
            time.sleep(0.001)
    assert sink.pending() == 0
    return confirmed, rejected


@pytest.mark.parametrize("wait", [True, False], ids=["answered-in-flush", "one-request-in-flight"])
def test_per_item_outcomes(wait: bool) -> None:
    poison = "logs-1-7"
    faults = Faults(item_429=0.1, item_503=0.1, reset=0.1, reset_after=0.1, request_503=0.1, seed=4,
                    reject=lambda d: (400, "document_parsing_exception", "bad field") if d["log"]["offset"] == 7 * 300
                    else None)  # fmt: skip
    metrics = ProcessorMetrics()
    with FakeElasticsearch(faults) as es:
        sink = _sink(es, metrics)
        ids = _fill(sink, 400)
        confirmed, rejected = _drain(sink, wait=wait)
    assert sorted(confirmed) == sorted(i for i in ids if i != poison)  # each exactly once
    assert rejected == [(poison, "Elasticsearch 400 document_parsing_exception: bad field")]
    assert len(es.docs) == 399
    assert es.conflicts > 0  # answers lost after storing were retried and answered 409 → confirmed
    assert metrics.registry.get_sample_value("obs_processor_retries_total") > 0
    assert metrics.registry.get_sample_value("obs_processor_bulk_items_total", {"status": "429"}) > 0
    assert metrics.registry.get_sample_value("obs_processor_bulk_items_total", {"status": "409"}) > 0


def test_outage_keeps_items_and_signals_backpressure() -> None:
    with FakeElasticsearch() as es:
        sink = _sink(es)
        ids = _fill(sink, 120)
        es.down = True
        result = sink.flush()
        assert result.confirmed == [] and result.rejected == []
        assert result.retry_after is not None and sink.up is False
        assert sink.pending() == 120
        es.down = False
        confirmed, _ = _drain(sink)
        assert sorted(confirmed) == sorted(ids) and sink.up is True


def test_one_request_in_flight_while_the_caller_goes_on() -> None:
    release = threading.Event()
    with FakeElasticsearch() as es:
        sink = _sink(es)
        client_bulk = sink.client.bulk
        calls: list[int] = []

        def slow_bulk(**kwargs: object) -> object:
            calls.append(threading.get_ident())
            assert release.wait(10)
            return client_bulk(**kwargs)

        sink.client.bulk = slow_bulk  # type: ignore[method-assign]
        ids = _fill(sink, 120)  # batch size 50: three chunks
        first = sink.flush(wait=False)
        assert first.confirmed == [] and sink.pending() == 120  # sent, not answered: still pending
        assert sink.flush(wait=False).confirmed == []  # the answer has not come: nothing new is sent
        assert len(calls) == 1 and calls[0] != threading.get_ident()  # on the worker thread
        release.set()
        confirmed, _ = _drain(sink, wait=False)
        assert confirmed == ids  # in order, each once
        assert len(calls) == 3


def test_outage_while_a_request_is_in_flight_backs_off_everything() -> None:
    with FakeElasticsearch() as es:
        sink = _sink(es)
        ids = _fill(sink, 120)
        es.down = True
        assert sink.flush(wait=False).confirmed == []
        deadline = time.monotonic() + 10
        result = sink.flush(wait=False)
        while sink.up and time.monotonic() < deadline:
            time.sleep(0.01)
            result = sink.flush(wait=False)
        assert sink.up is False and result.retry_after is not None and result.retry_after > 0
        assert sink.pending() == 120
        es.down = False
        confirmed, _ = _drain(sink, wait=False)
        assert sorted(confirmed) == sorted(ids) and sink.up is True


def test_templates_are_created_idempotently() -> None:
    with FakeElasticsearch() as es:
        settings = ElasticsearchSettings(url=es.url, retention="7d")
        client = connect_elasticsearch(settings)
        first = ensure_log_templates(client, settings)
        assert ensure_log_templates(client, settings) == first
    assert es.templates["obs-logs-go"] == {
        k: v for k, v in index_template_body("go", None, "7d").items()
    }
    assert es.policies["obs-logs-go"] == {"policy": ilm_policy_body("7d")["policy"]}


def test_index_template_shape() -> None:
    body = index_template_body("go", None, "30d")
    assert body["index_patterns"] == ["logs-go-*"]
    assert body["data_stream"] == {}
    assert body["priority"] == 200
    assert body["template"]["settings"]["index"]["lifecycle"]["name"] == "obs-logs-go"
    props = body["template"]["mappings"]["properties"]
    assert props["@timestamp"] == {"type": "date"}
    assert props["go"]["properties"]["fields"]["type"] == "flattened"
    assert props["error"]["properties"]["fingerprint"]["type"] == "keyword"
    pattern = index_template_body("go", "app-{namespace}-{date}", "30d")
    assert pattern["index_patterns"] == ["app-*-*"] and "data_stream" not in pattern
    assert ilm_policy_body("30d", rollover=False) == {
        "policy": {"_meta": {"managed_by": "observability"},
                   "phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}}
    }  # fmt: skip


def test_metrics_server_endpoints() -> None:
    metrics = ProcessorMetrics()
    metrics.log_events.labels("checkout", "shop", "error").inc(3)
    why = {"value": "sink down (unauthorized)"}
    server = MetricsServer(metrics, "127.0.0.1", 0, lambda: True, lambda: why["value"])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        text = urllib.request.urlopen(f"{base}/metrics").read().decode()
        assert 'log_events_total{level="error",namespace="shop",service="checkout"} 3.0' in text
        assert urllib.request.urlopen(f"{base}/healthz").status == 200
        try:
            urllib.request.urlopen(f"{base}/readyz")
            raise AssertionError("not ready yet must answer 503")
        except urllib.error.HTTPError as e:
            assert e.code == 503 and e.read() == b"not ready: sink down (unauthorized)\n"
        why["value"] = ""
        assert urllib.request.urlopen(f"{base}/readyz").status == 200
    finally:
        server.stop()


def test_at_most_two_chunks_wait_behind_the_request_in_flight() -> None:
    release = threading.Event()
    with FakeElasticsearch() as es:
        sink = _sink(es)  # batch size 50
        client_bulk = sink.client.bulk

        def slow_bulk(**kwargs: object) -> object:
            release.wait(0.3)
            return client_bulk(**kwargs)

        sink.client.bulk = slow_bulk  # type: ignore[method-assign]
        _fill(sink, 60)
        sink.flush(wait=False)  # 50 sent, 10 wait
        started = time.monotonic()
        assert sink.flush(wait=False).confirmed == [] and time.monotonic() - started < 0.2  # does not block
        _fill(sink, 100)  # now 110 wait behind the request: more than two chunks
        result = sink.flush(wait=False)  # blocks for the answer, then sends the next chunk
        assert len(result.confirmed) == 50 and time.monotonic() - started >= 0.25
        release.set()
        confirmed, _ = _drain(sink, wait=False)
        assert len(confirmed) == 110
