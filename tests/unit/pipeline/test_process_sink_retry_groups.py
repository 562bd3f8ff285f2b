"""Property test: ElasticsearchSink's compressed retry groups lose, duplicate and alter nothing.

Items answered 429/5xx or hit by a whole-request failure wait for their retry compressed together in
groups; whatever mix of per-item answers and outages happens, every item must end confirmed or rejected
exactly once, rejected items must carry their original Kafka value byte for byte, and every `_bulk` body
must carry each document exactly as serialised on `add`. A scripted client stands in for Elasticsearch
(the HTTP behaviour is covered against FakeElasticsearch in test_process_sink_es.py).
"""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest
from elasticsearch import ConnectionError as EsConnectionError
from hypothesis import given, settings
from hypothesis import strategies as st

from observability.pipeline.sink import Position, SinkItem
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink


class _Answer:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.body = {"errors": True, "items": items}


class _ScriptedClient:
    """Answers each `_bulk` item with a status drawn from `statuses`; `outage` fails whole requests."""

    def __init__(self, seed: int, statuses: list[int], outage: float) -> None:
        self.rng = random.Random(seed)
        self.statuses = statuses
        self.outage = outage
        self.sources: dict[str, list[bytes]] = {}

    def bulk(self, operations: bytes, filter_path: str) -> _Answer:
        if self.rng.random() < self.outage:
            raise EsConnectionError("scripted outage")
        lines = operations.split(b"\n")
        assert lines[-1] == b"" and len(lines) % 2 == 1
        items = []
        for action, source in zip(lines[0:-1:2], lines[1:-1:2], strict=True):
            doc_id = orjson.loads(action)["create"]["_id"]
            self.sources.setdefault(doc_id, []).append(source)
            status = self.rng.choice(self.statuses)
            error = {"type": "mapper_parsing_exception", "reason": "bad"} if status == 400 else None
            items.append({"create": {"status": status, **({"error": error} if error else {})}})
        return _Answer(items)

    def close(self) -> None:
        return None


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 120),
    batch=st.integers(1, 25),
    seed=st.integers(0, 10_000),
    statuses=st.lists(st.sampled_from([201, 201, 409, 429, 503, 400]), min_size=1, max_size=6),
    outage=st.sampled_from([0.0, 0.2, 0.5]),
)
def test_every_item_ends_once_with_its_bytes(count: int, batch: int, seed: int, statuses: list[int],
                                             outage: float) -> None:  # fmt: skip
    if all(s in (429, 503) for s in statuses):
        statuses = [*statuses, 201]  # something must eventually succeed
    client = _ScriptedClient(seed, statuses, outage)
    clock = [0.0]
    sink = ElasticsearchSink(client, BulkSettings(batch_size=batch, backoff_initial=0.1, backoff_max=1.0),  # type: ignore[arg-type]
                             clock=lambda: clock[0], rng=random.Random(seed).random)  # fmt: skip
    documents = {}
    originals = {}
    for offset in range(count):
        position = Position("logs", 0, offset)
        doc_id = f"logs-0-{offset}"
        documents[doc_id] = {"message": f"event {offset}", "n": offset, "pad": "x" * (offset % 50)}
        originals[doc_id] = orjson.dumps({"message": f"event {offset}"}) + bytes([offset % 256])
        sink.add(SinkItem(doc_id, "logs-go-default", orjson.dumps(documents[doc_id]), position, originals[doc_id]))
    confirmed: list[str] = []
    rejected: list[tuple[str, bytes]] = []
    for _ in range(10_000):
        if not sink.pending():
            break
        result = sink.flush()
        confirmed += [item.doc_id for item in result.confirmed]
        rejected += [(item.doc_id, item.original) for item, _reason in result.rejected]
        clock[0] += result.retry_after if result.retry_after else 0.05
    assert sink.pending() == 0
    ended = confirmed + [doc_id for doc_id, _ in rejected]
    assert sorted(ended) == sorted(documents)  # each exactly once
    for doc_id, original in rejected:
        assert original == originals[doc_id]
    for doc_id, sources in client.sources.items():
        assert all(orjson.loads(source) == documents[doc_id] for source in sources)


class _Answers:
    """Answers every `_bulk` item with the current `status` (429 during the outage, then 201)."""

    def __init__(self) -> None:
        self.status = 429
        self.stored: list[str] = []

    def bulk(self, operations: bytes, filter_path: str) -> _Answer:
        actions = operations.split(b"\n")[0:-1:2]
        if self.status == 201:
            self.stored += [orjson.loads(action)["create"]["_id"] for action in actions]
        answer = _Answer([{"create": {"status": self.status}} for _ in actions])
        answer.body["errors"] = self.status != 201
        return answer

    def close(self) -> None:
        return None


@pytest.mark.parametrize("seed", [1, 3])
def test_waiting_items_stay_compressed_while_the_runner_keeps_flushing(seed: int) -> None:
    # The runner's loop during a long 429 storm: batches of varying size arrive, flush(wait=False) runs
    # whenever the backoff allows, requests answer at varying times. Retry groups of unequal sizes then
    # come due together; what does not fit a chunk must be packed again, not kept one by one (it once
    # grew to most of the waiting items: 57k of 100k, +120 MiB RSS in `make bench`).
    rng = random.Random(seed)
    batch, count = 100, 5_117
    client = _Answers()
    clock = [0.0]
    sink = ElasticsearchSink(client, BulkSettings(batch_size=batch, backoff_initial=0.2, backoff_max=10.0),  # type: ignore[arg-type]
                             clock=lambda: clock[0], rng=rng.random)  # fmt: skip
    offset, retry_at, most = 0, 0.0, 0
    confirmed: list[str] = []
    for step in range(6_000):
        if step == 3_000:
            client.status = 201  # the outage ends
        if offset < count:
            size = min(rng.choice([batch, batch, batch, rng.randint(1, batch)]), count - offset)
            for n in range(offset, offset + size):
                sink.add(SinkItem(f"logs-0-{n}", "logs-go-default", b'{"n":%d}' % n, Position("logs", 0, n), b"x"))
            offset += size
        if sink.pending() and clock[0] >= retry_at:
            result = sink.flush(wait=False)
            confirmed += [item.doc_id for item in result.confirmed]
            retry_at = clock[0] + (result.retry_after or 0.0)
            most = max(most, sink.held_uncompressed)
        if step < 3_000:
            assert sink.pending() == offset  # nothing confirmed, nothing lost during the outage
        time.sleep(0.0002 if rng.random() < 0.3 else 0)  # let the worker thread answer, or not yet
        clock[0] += 0.1
    assert 0 < most < 3 * batch
    confirmed += [item.doc_id for item in sink.flush(wait=True).confirmed]
    assert sink.pending() == 0
    assert sorted(confirmed) == sorted(f"logs-0-{n}" for n in range(count)) == sorted(client.stored)
