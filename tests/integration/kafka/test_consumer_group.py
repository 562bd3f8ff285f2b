"""The processor's consumer group against a real Kafka 4.4 group coordinator: two and three `obs process`
processors (in-process, the runner of tests/integration/pipeline/) sharing the partitions of one topic, with the
classic protocol and with KIP-848's `group.protocol=consumer`. Every event is indexed once: not only once by
`_id` (Elasticsearch's `create` would hide a replay as a 409) but sent once, because a revoke flushes and commits
before the partition moves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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
PARTITIONS = 6


@pytest.mark.timeout(150)
@pytest.mark.parametrize("protocol", ["classic", "consumer"])
@pytest.mark.parametrize("count", [2, 3])
def test_processors_share_partitions_and_index_every_event_once(
    kafka_one: KafkaCluster, protocol: str, count: int
) -> None:
    brokers = kafka_one.bootstrap_servers
    topic, group = unique("group"), unique("obs")
    create_topic(brokers, topic, PARTITIONS)
    expected = produce(brokers, topic, mixed_events(1200 * count), PARTITIONS)
    # Slow answers (≤ 500 events/s per processor) and little held in flight, so the others join mid-stream.
    with FakeElasticsearch(Faults(slow=1.0, slow_seconds=0.2, seed=4)) as es:
        cfg = processor_config(brokers, es.url, topic, group, protocol, batch_size=100, max_in_flight=300)
        running = [Running(cfg)]
        try:
            wait_for(lambda: len(es.ids()) > 300, 60, "the first processor to index")
            running += [Running(cfg) for _ in range(count - 1)]
            wait_for(lambda: all(r.processor.assigned for r in running), 60,
                     f"all {count} processors to own partitions")
            owned = [r.processor.assigned for r in running]
            assert len(es.ids()) < len(expected), "the group must rebalance mid-stream"
            assert sum(len(o) for o in owned) == PARTITIONS and set().union(*owned) == {
                (topic, p) for p in range(PARTITIONS)}, f"partitions not shared disjointly: {owned}"  # fmt: skip
            assert_commits_never_pass_unconfirmed(brokers, group, topic, PARTITIONS, es.ids())
            wait_for(lambda: len(es.ids()) >= len(expected), 90, "every event")
        finally:
            for r in running:
                r.close()
        assert es.ids() == set(expected) and len(es.docs) == len(expected)
        assert es.conflicts == 0, f"{es.conflicts} events were sent twice (a partition moved before its commit)"
        assert all(r.value("obs_processor_events_indexed_total") > 0 for r in running)
        per_partition = len(expected) // PARTITIONS
        assert committed(brokers, group, topic, PARTITIONS) == {p: per_partition for p in range(PARTITIONS)}
