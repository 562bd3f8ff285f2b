"""The demo shipper's events have exactly the fields Filebeat 8's container input + add_kubernetes_metadata
publish to Kafka, and the processor's own decode/parse/enrich turns them into the expected ECS document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from observability.pipeline.shipper import AgentMeta, PodMeta, Shipper, filebeat_event, read_new_lines

READ_AT = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
LINE = json.dumps({
    "level": "error", "ts": "2026-11-23T10:00:00.100Z", "caller": "main.go:244", "msg": "request failed",
    "service": "checkout", "version": "1.4.2", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7", "method": "GET", "path": "/api/fail", "route": "/api/fail", "status": 500,
    "latency_ms": 1.5, "client_ip": "127.0.0.1", "user_agent": "demo",
})


def test_event_has_exactly_filebeats_fields():
    pod = PodMeta(service="checkout", namespace="shop")
    agent = AgentMeta(id="a-id", ephemeral_id="e-id")
    event = filebeat_event(LINE, 4096, READ_AT, pod, agent)
    assert sorted(event) == sorted([
        "@timestamp", "@metadata", "message", "stream", "input", "log", "container", "kubernetes", "ecs", "host",
        "agent",
    ])
    assert event["@timestamp"] == "2026-11-23T10:00:00.123Z"
    assert event["@metadata"] == {"beat": "filebeat", "type": "_doc", "version": "8.15.3"}
    assert event["message"] == LINE
    assert event["stream"] == "stdout"
    assert event["input"] == {"type": "container"}
    assert event["log"] == {"offset": 4096, "file": {"path": pod.log_path}}
    assert pod.log_path == f"/var/log/containers/{pod.pod}_shop_checkout-{pod.container_id}.log"
    assert event["container"] == {"id": pod.container_id, "runtime": "containerd",
                                  "image": {"name": "ghcr.io/observability/go-service:1.4.2"}}
    k8s = event["kubernetes"]
    assert sorted(k8s) == sorted(["pod", "namespace", "namespace_uid", "namespace_labels", "node", "labels",
                                  "container", "deployment", "replicaset"])
    assert sorted(k8s["pod"]) == ["ip", "name", "uid"]
    assert k8s["namespace"] == "shop"
    assert k8s["namespace_labels"] == {"kubernetes_io/metadata_name": "shop"}
    assert k8s["labels"]["app_kubernetes_io/name"] == "checkout"  # de-dotted, as labels.dedot: true does
    assert k8s["labels"]["app_kubernetes_io/version"] == "1.4.2"
    assert k8s["container"] == {"name": "checkout"}
    assert k8s["deployment"] == {"name": "checkout"}
    assert k8s["replicaset"]["name"] == pod.replicaset
    assert k8s["pod"]["name"].startswith(pod.replicaset + "-")
    assert sorted(k8s["node"]) == ["hostname", "labels", "name", "uid"]
    assert event["ecs"] == {"version": "8.0.0"}
    assert event["host"] == {"name": "demo-node"}
    assert event["agent"] == {"name": "filebeat-demo", "type": "filebeat", "version": "8.15.3", "id": "a-id",
                              "ephemeral_id": "e-id"}


def test_pod_identity_is_stable_across_runs_and_differs_per_service():
    a, b = PodMeta("checkout", "shop"), PodMeta("checkout", "shop")
    assert (a.pod, a.container_id, a.uid("pod")) == (b.pod, b.container_id, b.uid("pod"))
    assert PodMeta("catalog", "shop").pod != a.pod
    assert len(a.container_id) == 64


def test_read_new_lines_keeps_partial_lines_and_restarts_after_truncation(tmp_path):
    path = tmp_path / "svc.log"
    assert read_new_lines(path, 0) == ([], 0)  # not created yet
    path.write_bytes(b'{"a":1}\n\n{"b":2}\n{"c":')
    lines, offset = read_new_lines(path, 0)
    assert lines == [(0, '{"a":1}'), (9, '{"b":2}')]
    assert offset == 17
    assert read_new_lines(path, offset) == ([], 17)
    with path.open("ab") as f:
        f.write(b"3}\n")
    assert read_new_lines(path, offset) == ([(17, '{"c":3}')], 25)
    path.write_bytes(b'{"new":1}\n')  # rotated/truncated: shorter than our offset
    assert read_new_lines(path, 25) == ([(0, '{"new":1}')], 10)


class RecordingProducer:
    """Stands in for confluent_kafka.Producer: records messages, acks on poll, fills up once."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.pending: list = []
        self.full_once = True

    def produce(self, topic, value, on_delivery):
        if self.full_once:
            self.full_once = False
            raise BufferError("queue full")
        self.messages.append((topic, value))
        self.pending.append(on_delivery)

    def poll(self, _timeout):
        while self.pending:
            self.pending.pop(0)(None, None)

    def flush(self, _timeout):
        self.poll(0)


def test_shipper_produces_each_line_once_and_counts_deliveries(tmp_path):
    path = tmp_path / "svc.log"
    path.write_text(LINE + "\n" + LINE + "\n")
    producer = RecordingProducer()
    shipper = Shipper(path, "logs", PodMeta("checkout", "shop"), producer, clock=lambda: READ_AT)
    assert shipper.ship_once() == 2
    assert shipper.ship_once() == 0
    assert [t for t, _ in producer.messages] == ["logs", "logs"]
    offsets = [json.loads(v)["log"]["offset"] for _, v in producer.messages]
    assert offsets == [0, len(LINE) + 1]
    assert (shipper.stats.read, shipper.stats.delivered, shipper.stats.failed) == (2, 2, 0)
