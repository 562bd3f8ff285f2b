"""Integration fixtures: the real local Kubernetes control planes (see kapi_server.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kapi_server import CLUSTER_PARTS, ClusterUnderTest, running_test_cluster


@pytest.fixture(scope="session", params=sorted(CLUSTER_PARTS), ids=sorted(CLUSTER_PARTS))
def kube_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, part_path: Callable[..., Path]
) -> Iterator[ClusterUnderTest]:
    """A real API server + controller-manager, one per Kubernetes version per session; tests run on each."""
    with running_test_cluster(request.param, tmp_path_factory.mktemp(request.param), part_path) as cluster:
        yield cluster
