"""The demo's log shipping with the real Filebeat: the sample Go service's stdout and stderr written as containerd
writes them, read by the real Filebeat on the demo's filebeat.yml (observability/demo/shipping.py), and shipped
to the demo's embedded Kafka with the pod's metadata — what `obs demo` runs when the filebeat part is built."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer

from observability.demo.config import DEMO_SPEC
from observability.demo.kafka import start_embedded_kafka
from observability.demo.shipping import RealFilebeat, node_container_log, start_shipping
from observability.demo.supervisor import Supervisor
from observability.local.goservice import start_go_service
from observability.pipeline.shipper import PodMeta
from observability.spec import parse_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_the_real_filebeat_ships_the_services_container_log_with_pod_metadata(
    go_service_binary: Path, part_path: Callable[..., Path], tmp_path: Path
) -> None:
    part_path("filebeat")
    stack = parse_stack(DEMO_SPEC.read_text(encoding="utf-8"), str(DEMO_SPEC))
    svc = stack.services[0]
    pod = PodMeta(service=svc.name, namespace=svc.namespace)
    kafka = start_embedded_kafka(brokers=1, topics=(stack.logging.kafka.topics.logs.name,))
    supervisor = Supervisor()
    try:
        log = node_container_log(tmp_path, pod)
        service = start_go_service(go_service_binary, tmp_path / "svc.log", name=svc.name, container_log=log)
        supervisor.adopt("go-service", service.process)
        shipping, what = start_shipping(stack, tmp_path, tmp_path / "svc.log", log, pod, kafka.bootstrap_servers,
                                        supervisor)  # fmt: skip
        assert isinstance(shipping, RealFilebeat) and "real Filebeat" in what
        for path in ("/api/items", "/api/fail", "/api/items"):
            with contextlib.suppress(urllib.error.HTTPError):  # /api/fail answers 500
                urllib.request.urlopen(service.url + path, timeout=5).close()
        deadline = time.monotonic() + 60
        while shipping.counts().events_shipped < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        counts = shipping.counts()
        assert counts.events_shipped >= 3 and counts.failures == 0, counts
        assert counts.lines_read >= counts.events_shipped
        events = _consume(kafka.bootstrap_servers, stack.logging.kafka.topics.logs.name, counts.events_shipped)
    finally:
        supervisor.stop_all()
        kafka.stop()
    assert len(events) == counts.events_shipped
    for event in events:
        assert event["log"]["file"]["path"] == str(log.path) and event["stream"] == "stdout"
        assert event["kubernetes"]["namespace"] == svc.namespace and event["kubernetes"]["pod"]["name"] == pod.pod
        assert event["orchestrator"]["cluster"]["name"] == stack.cluster.name
        json.loads(event["message"])  # one zap JSON line per event, as the service wrote it
    assert any(json.loads(e["message"]).get("path") == "/api/fail" for e in events)


def _consume(bootstrap: str, topic: str, count: int) -> list[dict[str, object]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "check", "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        values: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(orjson.loads(message.value()))
        return values
    finally:
        consumer.close()
