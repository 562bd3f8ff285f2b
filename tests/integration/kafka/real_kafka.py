"""Helpers for the processor tests against a real Kafka: topics, producing, committed offsets, a processor config.

The in-process processor (`Running`) and `wait_for` are the ones of tests/integration/pipeline/ (the mock-Kafka
reliability tests); these add what a real cluster needs: a unique topic per test, created with the AdminClient.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from observability.spec.processor import ProcessorConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from pipeline_harness import Running, wait_for

__all__ = ["Running", "wait_for"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(brokers: str, name: str, partitions: int, replication: int = 1, **config: str) -> None:
    """Create a topic and wait until every partition has a leader in the metadata."""
    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics([NewTopic(name, partitions, replication, config=config)], operation_timeout=30)
    futures[name].result(60)
    wait_for(lambda: _leaders(admin, name) == partitions, 60, f"leaders for every partition of {name}")


def _leaders(admin: AdminClient, topic: str) -> int:
    meta = admin.list_topics(topic, timeout=5).topics.get(topic)
    if meta is None or meta.error is not None:
        return 0
    return sum(1 for p in meta.partitions.values() if p.leader >= 0)


def produce(brokers: str, topic: str, values: list[bytes], partitions: int, start: dict[int, int] | None = None,
            acks: str = "all") -> list[str]:  # fmt: skip
    """Produce evenly over the partitions; the `_id`s (topic-partition-offset) they will get."""
    producer = Producer({"bootstrap.servers": brokers, "acks": acks, "linger.ms": 20, "compression.type": "zstd"})
    counts = dict(start or {p: 0 for p in range(partitions)})
    ids = []
    failed: list[str] = []
    for i, value in enumerate(values):
        partition = i % partitions
        producer.produce(topic, value, partition=partition,
                         on_delivery=lambda err, _m: failed.append(str(err)) if err else None)  # fmt: skip
        ids.append(f"{topic}-{partition}-{counts[partition]}")
        counts[partition] += 1
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "not every event was acknowledged within 60 s"
    assert not failed, f"{len(failed)} events were not acknowledged: {failed[:3]}"
    return ids


def committed(brokers: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps if tp.offset >= 0}
    finally:
        consumer.close()


def assert_commits_never_pass_unconfirmed(brokers: str, group: str, topic: str, partitions: int,
                                          stored_ids: set[str]) -> None:  # fmt: skip
    """A committed offset never passes an event that is not in `stored_ids` (read the commits first)."""
    offsets = committed(brokers, group, topic, partitions)
    for partition, offset in offsets.items():
        missing = [o for o in range(offset) if f"{topic}-{partition}-{o}" not in stored_ids]
        assert not missing, f"{topic}[{partition}] committed {offset} but offsets {missing[:5]} are not stored"


def processor_config(brokers: str, es_url: str, topic: str, group: str, protocol: str = "classic",
                     dead_letter_topic: str | None = None, **processing: object) -> ProcessorConfig:  # fmt: skip
    client: dict[str, object] = {"group.protocol": protocol}
    if protocol == "classic":
        client |= {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    return ProcessorConfig.model_validate({
        "kafka": {"bootstrap_servers": brokers.split(","), "topic": topic, "group": group,
                  "dead_letter_topic": dead_letter_topic or f"{topic}-dead-letter", "client_config": client},
        "elasticsearch": {"url": es_url, "request_timeout": "5s"},
        "processing": {"batch_size": 200, "flush_interval": "100ms", "shutdown_grace": "10s", **processing},
        "metrics": {"port": 0, "host": "127.0.0.1"},
    })  # fmt: skip
