"""Shared harness of the processor's delivery tests: a mock Kafka cluster per test, an in-process Processor on
a thread, and the two invariants — every event stored exactly once by `_id`, and a committed offset never
passing an event that is neither in the sink nor handled elsewhere (the dead-letter topic).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from observability.apply.elasticsearch import connect_elasticsearch
from observability.pipeline.metrics import ProcessorMetrics
from observability.pipeline.runner import Processor
from observability.pipeline.sink_elasticsearch import BulkSettings, ElasticsearchSink
from observability.spec.processor import ProcessorConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from fake_elasticsearch import FakeElasticsearch
from mock_kafka import mock_cluster

REPO = Path(__file__).resolve().parents[3]
PARTITIONS = 4  # the mock cluster auto-creates topics with 4 partitions
TOPIC = "logs"


@pytest.fixture
def kafka() -> Iterator[tuple[Producer, str]]:
    """A fresh 3-broker mock cluster per test (it lives as long as this producer)."""
    config = {"compression.type": "zstd", "linger.ms": 20, "message.max.bytes": 10_000_000}
    producer, brokers = mock_cluster(3, **config)
    yield producer, brokers
    producer.flush(5)


def produce(producer: Producer, values: list[bytes]) -> list[str]:
    """Produce evenly over the partitions; returns the expected `_id`s (topic-partition-offset)."""
    counts = [0] * PARTITIONS
    ids = []
    for i, value in enumerate(values):
        partition = i % PARTITIONS
        producer.produce(TOPIC, value, partition=partition)
        ids.append(f"{TOPIC}-{partition}-{counts[partition]}")
        counts[partition] += 1
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(30)
    return ids


def config(brokers: str, es_url: str, group: str = "obs", **processing: object) -> ProcessorConfig:
    return ProcessorConfig.model_validate({
        "kafka": {"bootstrap_servers": brokers.split(","), "topic": TOPIC, "group": group,
                  "dead_letter_topic": "logs-dead-letter",
                  "client_config": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}},
        "elasticsearch": {"url": es_url, "request_timeout": "5s"},
        "processing": {"batch_size": 500, "flush_interval": "100ms", "shutdown_grace": "10s", **processing},
        "metrics": {"port": 0, "host": "127.0.0.1"},
    })  # fmt: skip


class Running:
    """An in-process Processor on a thread."""

    def __init__(self, cfg: ProcessorConfig) -> None:
        self.metrics = ProcessorMetrics()
        sink = ElasticsearchSink(
            connect_elasticsearch(cfg.elasticsearch), BulkSettings(cfg.processing.batch_size, 0.05, 1.0), self.metrics
        )
        self.processor = Processor(cfg, sink, self.metrics)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.processor.run(self.stop)
        except BaseException as e:  # surfaced by the test
            self.error = e

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.metrics.registry.get_sample_value(name, labels or {}) or 0.0

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "processor did not stop within 30 s"
        assert self.error is None, f"processor crashed: {self.error!r}"


def committed(brokers: str, group: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)
        return {tp.partition: tp.offset for tp in tps if tp.offset >= 0}
    finally:
        consumer.close()


def assert_commits_never_pass_unconfirmed(brokers: str, group: str, es: FakeElasticsearch,
                                          handled_elsewhere: set[str] = frozenset()) -> None:  # type: ignore[assignment]  # fmt: skip
    offsets = committed(brokers, group)  # read commits first: the sink only grows afterwards
    stored = es.ids() | handled_elsewhere
    for partition, offset in offsets.items():
        missing = [o for o in range(offset) if f"{TOPIC}-{partition}-{o}" not in stored]
        assert not missing, f"partition {partition} committed {offset} but offsets {missing[:5]} are not stored"


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def assert_exactly_once(es: FakeElasticsearch, expected: list[str]) -> None:
    assert len(es.docs) == len(expected)
    assert es.ids() == set(expected)
