"""A consumer that drains its prefetch queue quickly never waits long for the next fetch.

Real Kafka protocol (confluent-kafka's mock cluster), the processor's own consumer settings. librdkafka
postpones the next fetch by `fetch.queue.backoff.ms` once the prefetch queue is full (default 1 s); a
processor that empties the queue within that time would otherwise sit idle for the rest of it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from observability.pipeline.source import open_consumer
from observability.spec.processor import KafkaSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from filebeat_events import mixed_events
from mock_kafka import BACKLOG_CONFIG, mock_cluster, produce_backlog

pytestmark = pytest.mark.integration
EVENTS = 60_000  # ≈ 50 MB: three times the processor's 16 MB prefetch queue


def test_a_full_prefetch_queue_does_not_stall_consumption() -> None:
    producer, brokers = mock_cluster(**BACKLOG_CONFIG)
    produce_backlog(producer, "logs", mixed_events(500, compact=True), EVENTS)

    consumer = open_consumer(KafkaSettings(bootstrap_servers=[brokers], topic="logs", group="fetch"))
    received, gaps, last = 0, [], None
    deadline = time.monotonic() + 60
    try:
        while received < EVENTS and time.monotonic() < deadline:
            batch = [m for m in consumer.consume(2000, timeout=0.05) if m.error() is None]
            now = time.monotonic()
            if batch:
                if last is not None:
                    gaps.append(now - last)
                received += len(batch)
                time.sleep(len(batch) * 10e-6)  # a processor handling 100,000 events/s
                last = time.monotonic()
    finally:
        consumer.close()
    assert received == EVENTS
    # With librdkafka's default backoff the longest wait is ≈ 0.8 s; with ours it is a few fetch round trips.
    assert max(gaps) < 0.4, f"consumption stalled for {max(gaps):.2f}s between batches"
