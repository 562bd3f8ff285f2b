"""The rendered filebeat.yml in the real Filebeat image: `filebeat test config`, then logs shipped to Kafka.

Needs a Docker daemon; without one every test here SKIPS with the reason. Run on a machine with Docker:
`.venv/bin/python -m pytest tests/containers/test_filebeat_container.py -m containers`.
The shipping test lays out CRI-format container log files the way a node does
(/var/log/containers/<pod>_<namespace>_<container>-<id>.log), points the rendered configuration's
Kafka output at a Kafka container, and reads the topic back.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_support import require_docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "render"))

from render_fixtures import example_dict, external_dict, stack_from

from observability.render.filebeat import render_filebeat_config

FILEBEAT_IMAGE = "docker.elastic.co/beats/filebeat:8.15.3"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.1"

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]



def run_filebeat(config: str, tmp_path: Path, args: list[str], logs_dir: Path | None = None) -> Any:
    from testcontainers.core.container import DockerContainer

    config_path = tmp_path / "filebeat.yml"
    config_path.write_text(config)
    container = (
        DockerContainer(FILEBEAT_IMAGE)
        .with_volume_mapping(str(config_path), "/etc/filebeat/filebeat.yml", "ro")
        .with_env("NODE_NAME", "test-node")
        .with_env("KAFKA_SASL_USERNAME", "filebeat")
        .with_env("KAFKA_SASL_PASSWORD", "not-a-real-secret")
        .with_kwargs(network_mode="host", user="root")
        .with_command(["-c", "/etc/filebeat/filebeat.yml", "-e", "--strict.perms=false", *args])
    )
    if logs_dir is not None:
        container = container.with_volume_mapping(str(logs_dir), "/var/log/containers", "ro")
    return container


@pytest.mark.parametrize(
    "data",
    [example_dict(), external_dict(), {**example_dict(), "logging": {**example_dict()["logging"], "filebeat": {
        "hints": False, "topic_routing": "app", "compression": "gzip"}}}],
    ids=["example", "external-sasl-tls", "static-input-app-routing"],
)  # fmt: skip
def test_filebeat_accepts_the_rendered_config(data: dict[str, Any], tmp_path: Path) -> None:
    require_docker('check the rendered filebeat.yml with the real Filebeat image and ship logs through it to Kafka')
    config = render_filebeat_config(stack_from(data))
    with run_filebeat(config, tmp_path, ["test", "config"]) as container:
        result = container.get_wrapped_container().wait(timeout=120)
        output = container.get_wrapped_container().logs().decode()
    assert result["StatusCode"] == 0, output
    assert "Config OK" in output


CRI_LINES = [
    '{"level":"info","msg":"request","status":200,"trace_id":"t-1"}',
    "panic: runtime error: index out of range [5] with length 3",
    "",
    "goroutine 7 [running]:",
    "main.handle(0xc000010000)",
    "\t/src/main.go:12 +0x1d",
    "created by main.main in goroutine 1",
    "\t/src/main.go:20 +0x25",
    '{"level":"error","msg":"recovered","trace_id":"t-2"}',
]


@pytest.fixture
def kafka() -> Iterator[str]:
    require_docker('check the rendered filebeat.yml with the real Filebeat image and ship logs through it to Kafka')
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
        yield container.get_bootstrap_server()


def test_filebeat_ships_container_logs_to_kafka(kafka: str, tmp_path: Path) -> None:
    from confluent_kafka import Consumer

    logs = tmp_path / "containers"
    logs.mkdir()
    stamp = "2024-05-01T10:00:00.000000000Z"
    name = "checkout-7d9f_shop_checkout-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log"
    (logs / name).write_text("".join(f"{stamp} stdout F {line}\n" for line in CRI_LINES))
    excluded = "coredns-1_kube-system_coredns-" + "f" * 64 + ".log"
    (logs / excluded).write_text(f"{stamp} stdout F must not be shipped\n")

    data = copy.deepcopy(example_dict())
    data["logging"]["kafka"] = {"mode": "external", "external": {"bootstrap_servers": [kafka]}}
    data["logging"]["filebeat"]["hints"] = False  # static container input: no Kubernetes API here
    config = render_filebeat_config(stack_from(data))

    consumer = Consumer({"bootstrap.servers": kafka, "group.id": "filebeat-test", "auto.offset.reset": "earliest"})
    consumer.subscribe(["logs"])
    events: list[dict[str, Any]] = []
    with run_filebeat(config, tmp_path, [], logs_dir=logs):
        deadline = time.monotonic() + 120
        while len(events) < 3 and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                events.append(json.loads(message.value()))
    consumer.close()
    messages = [e["message"] for e in events]
    assert messages == [CRI_LINES[0], "\n".join(CRI_LINES[1:8]), CRI_LINES[8]]
    assert all(e["log"]["file"]["path"].endswith(name) for e in events)
    assert all(e["orchestrator"]["cluster"]["name"] == "prod-eu-1" for e in events)
