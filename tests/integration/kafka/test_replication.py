"""The processor on a 3-node Kafka 4.4 cluster (replication factor 3, min.insync.replicas 2): a broker that
crashes and comes back mid-stream.

Node 0 is the cluster's one controller (`kafka_three` in tests/integration/conftest.py), so two brokers can be
taken away without losing the controller quorum; every test brings its nodes back before it ends.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from observability.local.kafka_broker import KafkaCluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from fake_elasticsearch import FakeElasticsearch, Faults
from filebeat_events import mixed_events
from real_kafka import (
    Running,
    assert_commits_never_pass_unconfirmed,
    committed,
    create_topic,
    processor_config,
    produce,
    unique,
    wait_for,
)

pytestmark = pytest.mark.integration
PARTITIONS = 3


def _leaders(brokers: str, topic: str) -> dict[int, int]:
    meta = AdminClient({"bootstrap.servers": brokers}).list_topics(topic, timeout=10).topics[topic]
    return {p.id: p.leader for p in meta.partitions.values()}


def _isr(brokers: str, topic: str) -> set[tuple[int, ...]]:
    meta = AdminClient({"bootstrap.servers": brokers}).list_topics(topic, timeout=10).topics[topic]
    return {tuple(sorted(p.isrs)) for p in meta.partitions.values()}


@pytest.mark.timeout(180)
def test_broker_crash_and_restart_mid_stream_loses_and_duplicates_nothing(kafka_three: KafkaCluster) -> None:
    brokers = kafka_three.bootstrap_servers
    topic, group = unique("restart"), unique("obs")
    create_topic(brokers, topic, PARTITIONS, 3, **{"min.insync.replicas": "2"})
    first = produce(brokers, topic, mixed_events(4500), PARTITIONS)
    # A broker-only node that leads a partition of the topic (node 0 is the controller: it stays up).
    victim = next(leader for _, leader in sorted(_leaders(brokers, topic).items()) if leader != 0)
    with FakeElasticsearch(Faults(slow=1.0, slow_seconds=0.15, seed=2)) as es:
        run = Running(processor_config(brokers, es.url, topic, group, batch_size=100, max_in_flight=400))
        try:
            wait_for(lambda: len(es.ids()) > 600, 60, "indexing to start")
            kafka_three.kill_node(victim)  # SIGKILL: no controlled shutdown
            # Written while the broker is down: acks=all is satisfied by the two replicas left (min ISR 2).
            second = produce(brokers, topic, mixed_events(1500, seed=3), PARTITIONS, start={p: 1500 for p in range(3)})
            wait_for(lambda: victim not in _leaders(brokers, topic).values(), 60, "leadership to leave the dead node")
            assert len(es.ids()) < len(first), "the broker must be down mid-stream"
            assert_commits_never_pass_unconfirmed(brokers, group, topic, PARTITIONS, es.ids())
            kafka_three.start_node(victim)
            expected = set(first) | set(second)
            deadline = time.monotonic() + 120
            while len(es.ids()) < len(expected) and time.monotonic() < deadline:
                assert_commits_never_pass_unconfirmed(brokers, group, topic, PARTITIONS, es.ids())
                time.sleep(0.5)
        finally:
            run.close()
            kafka_three.start_node(*range(3))
        assert es.ids() == expected and len(es.docs) == len(expected)
        assert committed(brokers, group, topic, PARTITIONS) == {p: 2000 for p in range(PARTITIONS)}
        wait_for(lambda: _isr(brokers, topic) == {(0, 1, 2)}, 60, "the restarted broker to rejoin every ISR")
