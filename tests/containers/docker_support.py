"""Shared by the testcontainers suites: skip with a reason without Docker, and a real Elasticsearch 8."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

ES_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"


def require_docker(purpose: str) -> None:
    """Skip the calling test unless a Docker daemon answers; the reason says what the suite would prove."""
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        pytest.skip(f"no Docker daemon ({type(e).__name__}); run this suite on a machine with Docker to {purpose}")


def run_elasticsearch(purpose: str) -> Iterator[str]:
    """A single-node Elasticsearch (security off: the suites test mappings and search, not auth); yields its URL."""
    require_docker(purpose)
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = (
        DockerContainer(ES_IMAGE)
        .with_env("discovery.type", "single-node")
        .with_env("xpack.security.enabled", "false")
        .with_env("ES_JAVA_OPTS", "-Xms512m -Xmx512m")
        .with_exposed_ports(9200)
    )
    with container:
        wait_for_logs(container, "started", timeout=180)
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(9200)}"
