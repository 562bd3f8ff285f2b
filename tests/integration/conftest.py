"""Integration fixtures: the real local Kubernetes control planes (see kapi_server.py) and real Apache Kafka
clusters (observability/local/kafka_broker.py), each started once per session.

`kafka_one`: one combined controller+broker node. `kafka_three`: three nodes for replication tests, where node 0
is the only controller and nodes 1-2 are brokers, so a test can stop two brokers and keep a controller quorum;
default replication factor 3 and min.insync.replicas 2. A test that stops nodes starts them again before it ends.
Not built: skipped locally, built or failed under CI=true (the part_path fixture of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kapi_server import CLUSTER_PARTS, ClusterUnderTest, running_test_cluster

from observability.local.kafka_broker import KafkaCluster, start_kafka

# The KIP-848 group protocol's heartbeat and session timeouts are set broker side (defaults 5 s / 45 s); shorter
# ones let a consumer that left be noticed as fast as with the classic protocol's 6 s session in these tests.
FAST_GROUPS = {
    "group.consumer.min.heartbeat.interval.ms": 500,
    "group.consumer.heartbeat.interval.ms": 500,
    "group.consumer.min.session.timeout.ms": 6000,
    "group.consumer.session.timeout.ms": 6000,
}


@pytest.fixture(scope="session", params=sorted(CLUSTER_PARTS), ids=sorted(CLUSTER_PARTS))
def kube_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, part_path: Callable[..., Path]
) -> Iterator[ClusterUnderTest]:
    """A real API server + controller-manager, one per Kubernetes version per session; tests run on each."""
    with running_test_cluster(request.param, tmp_path_factory.mktemp(request.param), part_path) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def kafka_one(tmp_path_factory: pytest.TempPathFactory, part_path: Callable[..., Path]) -> Iterator[KafkaCluster]:
    part_path("kafka")
    cluster = start_kafka(tmp_path_factory.mktemp("kafka-one"), 1, broker_config=FAST_GROUPS)
    print(f"\n{cluster.describe()} started in {cluster.started_in:.1f} s")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def kafka_three(tmp_path_factory: pytest.TempPathFactory, part_path: Callable[..., Path]) -> Iterator[KafkaCluster]:
    part_path("kafka")
    config = {**FAST_GROUPS, "default.replication.factor": 3, "min.insync.replicas": 2}
    cluster = start_kafka(tmp_path_factory.mktemp("kafka-three"), 3, controllers=1, broker_config=config)
    print(f"\n{cluster.describe()} started in {cluster.started_in:.1f} s")
    yield cluster
    cluster.stop()
