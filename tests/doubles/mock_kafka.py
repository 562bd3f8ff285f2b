"""confluent-kafka's mock cluster (real Kafka protocol, in-memory brokers on 127.0.0.1), for tests and the bench.

Topics are auto-created with 4 partitions; retention is about 5 MB per partition of stored (compressed) bytes.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer

from observability.demo.kafka import mock_cluster_owner

PARTITIONS = 4
# Large zstd batches: a backlog of ~1 KB events then fits the mock broker's per-partition retention.
BACKLOG_CONFIG = {"compression.type": "zstd", "linger.ms": 20, "batch.num.messages": 10000, "batch.size": 4_000_000}


def mock_cluster(brokers: int = 1, **config: Any) -> tuple[Producer, str]:
    """A producer that starts `brokers` mock brokers, and their bootstrap address for other clients."""
    producer = mock_cluster_owner(brokers, **config)
    metadata = producer.list_topics(timeout=10)
    return producer, ",".join(f"{b.host}:{b.port}" for b in metadata.brokers.values())


def produce_backlog(producer: Producer, topic: str, events: list[bytes], count: int) -> None:
    """`count` events cycling through `events`, evenly over the partitions, all acknowledged on return."""
    for i in range(count):
        while True:
            try:
                producer.produce(topic, events[i % len(events)], partition=i % PARTITIONS)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.01)
    if producer.flush(60) != 0:
        raise RuntimeError(f"mock Kafka: {len(producer)} of {count} events were not acknowledged within 60 s")
