"""`obs process` against a real Elasticsearch 8 (testcontainers): template, data stream, searchable fields.

Skips without a Docker daemon. Run on a machine with Docker: `.venv/bin/python -m pytest tests/containers/
test_process_elasticsearch.py`. Kafka is not needed: the sink and templates are exercised directly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_support import run_elasticsearch

from observability.apply.elasticsearch import connect_elasticsearch, ensure_log_templates
from observability.pipeline.sink import Position
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink
from observability.pipeline.transform import Transformer, default_settings
from observability.spec.processor import ElasticsearchSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doubles"))
from filebeat_events import LINES, event_bytes

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def es_url() -> Iterator[str]:
    yield from run_elasticsearch('test the processor against real Elasticsearch')


def test_documents_land_in_the_data_stream_with_ecs_fields(es_url: str) -> None:
    settings = ElasticsearchSettings(url=es_url, retention="3d")
    client = connect_elasticsearch(settings)
    ensure_log_templates(client, settings)
    ensure_log_templates(client, settings)  # idempotent
    assert client.indices.get_index_template(name="obs-logs-go")["index_templates"]
    assert client.ilm.get_lifecycle(name="obs-logs-go")["obs-logs-go"]["policy"]["phases"]["delete"]["min_age"] == "3d"

    sink = ElasticsearchSink(client, BulkSettings(batch_size=100))
    transform = Transformer(default_settings(), 1_000_000)
    for offset, line in enumerate(LINES.values()):
        outcome = transform(event_bytes(line), Position("logs", 0, offset))
        assert outcome.item is not None
        sink.add(outcome.item)
    deadline = time.monotonic() + 60
    confirmed = 0
    while sink.pending() and time.monotonic() < deadline:
        result = sink.flush()
        confirmed += len(result.confirmed)
        assert not result.rejected, result.rejected
        time.sleep(result.retry_after or 0)
    assert confirmed == len(LINES)

    streams = client.indices.get_data_stream(name="logs-go-default")["data_streams"]
    assert streams[0]["template"] == "obs-logs-go"
    client.indices.refresh(index="logs-go-default")
    hits = client.search(index="logs-go-default", query={"term": {"service.name": "checkout"}}, size=50)
    assert hits["hits"]["total"]["value"] == len(LINES)
    errors = client.search(index="logs-go-default", query={"terms": {"log.level": ["error", "panic"]}})
    assert errors["hits"]["total"]["value"] >= 3
    gin = client.search(index="logs-go-default", query={"term": {"http.response.status_code": 503}})
    assert gin["hits"]["hits"][0]["_source"]["url"]["path"] == "/api/v1/pay"
    mapping = client.indices.get_mapping(index="logs-go-default")
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["go"]["properties"]["fields"]["type"] == "flattened"

    # Replaying the same positions must not duplicate: create answers 409, which counts as confirmed.
    for offset, line in enumerate(LINES.values()):
        outcome = transform(event_bytes(line), Position("logs", 0, offset))
        assert outcome.item is not None
        sink.add(outcome.item)
    replay = sink.flush()
    assert len(replay.confirmed) == len(LINES)
    client.indices.refresh(index="logs-go-default")
    assert client.count(index="logs-go-default")["count"] == len(LINES)
