"""`obs logs search` against a real Elasticsearch 8 (testcontainers): the DSL the command builds runs on the
processor's real index template and data stream, with filters, text, time bounds and follow.

Skips without a Docker daemon. On a machine with Docker:
`.venv/bin/python -m pytest tests/containers/test_logsearch_elasticsearch.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from docker_support import run_elasticsearch

from observability.apply.elasticsearch import connect_elasticsearch, ensure_log_templates
from observability.apply.logsearch import ElasticsearchLogSearch, LogQuery, levels_at_or_above
from observability.pipeline.sink import Position, SinkItem, document_id
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink
from observability.spec.processor import ElasticsearchSettings

pytestmark = pytest.mark.containers
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def es_url() -> Iterator[str]:
    yield from run_elasticsearch('test log search against real Elasticsearch')


def doc(offset: int, message: str, level: str, service: str, age_s: int) -> SinkItem:
    position = Position("logs", 0, offset)
    stamp = (NOW - timedelta(seconds=age_s)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    document = {"@timestamp": stamp, "message": message, "log": {"level": level}, "service": {"name": service},
                "kubernetes": {"namespace": "shop"}, "data_stream": {"type": "logs", "dataset": "go",
                                                                     "namespace": "default"}}
    return SinkItem(document_id(position), "logs-go-default", orjson.dumps(document), position, b"")


@pytest.fixture(scope="module")
def indexed(es_url: str) -> str:
    settings = ElasticsearchSettings(url=es_url)
    client = connect_elasticsearch(settings)
    ensure_log_templates(client, settings)
    sink = ElasticsearchSink(client, BulkSettings(batch_size=100))
    for item in [
        doc(1, "order placed", "info", "checkout", 3600),
        doc(2, "payment provider rejected request", "error", "checkout", 600),
        doc(3, "panic recovered", "panic", "checkout", 300),
        doc(4, "catalog refreshed", "info", "catalog", 60),
    ]:
        sink.add(item)
    assert len(sink.flush().confirmed) == 4
    client.indices.refresh(index="logs-*")
    return es_url


def test_filters_text_and_time_bounds(indexed: str) -> None:
    es = ElasticsearchLogSearch(indexed)
    ids = lambda q: [h.doc_id for h in es.search(q)]  # noqa: E731
    assert ids(LogQuery()) == ["logs-0-1", "logs-0-2", "logs-0-3", "logs-0-4"]
    assert ids(LogQuery(levels=levels_at_or_above("error"))) == ["logs-0-2", "logs-0-3"]
    assert ids(LogQuery(services=("catalog",))) == ["logs-0-4"]
    assert ids(LogQuery(text='"provider rejected"')) == ["logs-0-2"]
    assert ids(LogQuery(text="rejected provider payment")) == ["logs-0-2"]
    assert ids(LogQuery(since=NOW - timedelta(minutes=15), until=NOW - timedelta(minutes=2))) == [
        "logs-0-2", "logs-0-3"]
    assert ids(LogQuery(limit=1)) == ["logs-0-4"]
    es.close()


def test_follow_sees_only_new_documents(indexed: str) -> None:
    es = ElasticsearchLogSearch(indexed)
    batches = es.follow(LogQuery(services=("checkout",)), NOW)
    assert [h.doc_id for h in next(batches)] == ["logs-0-1", "logs-0-2", "logs-0-3"]
    assert next(batches) == []
    client = connect_elasticsearch(ElasticsearchSettings(url=indexed))
    sink = ElasticsearchSink(client, BulkSettings(batch_size=10))
    sink.add(doc(5, "late error", "error", "checkout", 0))
    sink.flush()
    client.indices.refresh(index="logs-*")
    assert [h.doc_id for h in next(batches)] == ["logs-0-5"]
    es.close()


def test_the_cli_reads_es_url(indexed: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "observability", "logs", "search", "--json", "--level", "panic"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "ES_URL": indexed},
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["_id"] for line in result.stdout.splitlines()] == ["logs-0-3"]
