"""Pipeline layer (I/O): a DEVELOPMENT STAND-IN for Filebeat, used only by the local demo (`obs demo`).

In a cluster, Filebeat (filebeat/, rendered by `obs render`) tails /var/log/containers/*.log with its
`container` input, adds Kubernetes metadata and produces one JSON event per log line to Kafka. The demo has
no cluster and no Filebeat, so this module tails the sample service's log file and produces events in the
same shape Filebeat 8 publishes through its Kafka output (codec json), so the processor downstream cannot
tell the difference:

    @timestamp        when the line was read (the container runtime's timestamp in a cluster), UTC, ms
    @metadata         {beat: filebeat, type: _doc, version}
    message           the log line exactly as written (the CRI/docker wrapper already removed)
    stream            stdout
    input.type        container
    log.offset        byte offset of the line in the file;  log.file.path  /var/log/containers/<pod>_<ns>_<ctr>-<id>.log
    container         id, runtime, image.name
    kubernetes        pod.{name,uid,ip}, namespace, namespace_uid, namespace_labels, node.{name,uid,hostname,labels},
                      labels (de-dotted like add_kubernetes_metadata's default), container.name,
                      deployment.name, replicaset.name
    ecs.version, host.name, agent.{id,ephemeral_id,name,type,version}

Not a Filebeat replacement: no registry (it starts at the beginning of the file it is given), one file,
no multiline joining (the sample service writes one JSON object per line), no backoff tuning.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from observability.errors import PipelineError

FILEBEAT_VERSION = "8.15.3"
"""The Filebeat version the rendered DaemonSet runs; events carry it in agent.version / @metadata.version."""
FILEBEAT_ECS_VERSION = "8.0.0"
_MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True)
class PodMeta:
    """The Kubernetes metadata add_kubernetes_metadata would attach for the pod that wrote the file."""

    service: str
    namespace: str
    node: str = "demo-node"
    image: str = "ghcr.io/observability/go-service:1.4.2"
    pod_ip: str = "10.244.0.17"
    extra_labels: tuple[tuple[str, str], ...] = ()

    def _stable(self, kind: str, length: int = 32) -> str:
        # Deterministic ids so a restarted demo looks like the same pod rather than a new one every run.
        return hashlib.sha256(f"{kind}/{self.namespace}/{self.service}".encode()).hexdigest()[:length]

    @property
    def replicaset(self) -> str:
        return f"{self.service}-{self._stable('rs', 10)}"

    @property
    def pod(self) -> str:
        return f"{self.replicaset}-{self._stable('pod', 5)}"

    @property
    def container_id(self) -> str:
        return self._stable("container", 64)

    def uid(self, kind: str) -> str:
        return str(uuid.UUID(self._stable(kind)))

    @property
    def log_path(self) -> str:
        """Where the kubelet links the container's log: /var/log/containers/<pod>_<namespace>_<container>-<id>.log"""
        return f"/var/log/containers/{self.pod}_{self.namespace}_{self.service}-{self.container_id}.log"

    def labels(self) -> dict[str, str]:
        """Pod labels, de-dotted ('.' → '_') as add_kubernetes_metadata does with its default labels.dedot."""
        raw = {
            "app.kubernetes.io/name": self.service,
            "app.kubernetes.io/version": self.image.rsplit(":", 1)[-1],
            "pod-template-hash": self._stable("rs", 10),
            **dict(self.extra_labels),
        }
        return {key.replace(".", "_"): value for key, value in raw.items()}


@dataclass(frozen=True)
class AgentMeta:
    """Identity of the (pretend) Filebeat instance; one per shipper."""

    name: str = "filebeat-demo"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    ephemeral_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: str = FILEBEAT_VERSION


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pod_metadata(pod: PodMeta) -> dict[str, Any]:
    """The `container` and `kubernetes` objects add_kubernetes_metadata attaches for the pod (PURE); the demo
    gives them to the real Filebeat through add_fields when there is no Kubernetes API to look them up in."""
    return {
        "container": {"id": pod.container_id, "runtime": "containerd", "image": {"name": pod.image}},
        "kubernetes": {
            "pod": {"name": pod.pod, "uid": pod.uid("pod"), "ip": pod.pod_ip},
            "namespace": pod.namespace,
            "namespace_uid": pod.uid("namespace"),
            "namespace_labels": {"kubernetes_io/metadata_name": pod.namespace},
            "node": {
                "name": pod.node,
                "uid": pod.uid("node"),
                "hostname": pod.node,
                "labels": {"kubernetes_io/hostname": pod.node, "kubernetes_io/os": "linux"},
            },
            "labels": pod.labels(),
            "container": {"name": pod.service},
            "deployment": {"name": pod.service},
            "replicaset": {"name": pod.replicaset},
        },
    }


def filebeat_event(line: str, offset: int, read_at: datetime, pod: PodMeta, agent: AgentMeta) -> dict[str, Any]:
    """The event Filebeat's container input + add_kubernetes_metadata produce for one log line (PURE)."""
    return {
        "@timestamp": _iso_ms(read_at),
        "@metadata": {"beat": "filebeat", "type": "_doc", "version": agent.version},
        "message": line,
        "stream": "stdout",
        "input": {"type": "container"},
        "log": {"offset": offset, "file": {"path": pod.log_path}},
        **pod_metadata(pod),
        "ecs": {"version": FILEBEAT_ECS_VERSION},
        "host": {"name": pod.node},
        "agent": {
            "name": agent.name,
            "type": "filebeat",
            "version": agent.version,
            "id": agent.id,
            "ephemeral_id": agent.ephemeral_id,
        },
    }


def read_new_lines(path: Path, offset: int) -> tuple[list[tuple[int, str]], int]:
    """Complete lines written to `path` since byte `offset`, each with its own offset, and the next offset.

    A partial last line (no newline yet) is left for the next call, like Filebeat's line reader; a file
    shorter than `offset` was truncated or replaced, so reading restarts at 0.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return [], offset
    if size < offset:
        offset = 0
    if size == offset:
        return [], offset
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read(size - offset)
    lines: list[tuple[int, str]] = []
    pos = 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        raw = data[pos:end].rstrip(b"\r")
        if raw:
            lines.append((offset + pos, raw[:_MAX_LINE_BYTES].decode("utf-8", errors="replace")))
        pos = end + 1
    return lines, offset + pos


@dataclass
class ShipperStats:
    """Counters the demo's live summary shows."""

    read: int = 0
    delivered: int = 0
    failed: int = 0
    last_error: str = ""


class Shipper:
    """Tails one log file and produces Filebeat-shaped events to a Kafka topic until `stop()`.

    `producer` is a confluent_kafka.Producer (or anything with produce/poll/flush); injected so tests and
    the demo decide where Kafka is.
    """

    def __init__(self, path: Path, topic: str, pod: PodMeta, producer: Any, *, poll_interval: float = 0.2,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = path
        self.topic = topic
        self.pod = pod
        self.agent = AgentMeta()
        self.stats = ShipperStats()
        self._producer = producer
        self._poll_interval = poll_interval
        self._clock = clock
        self._offset = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ship_once(self) -> int:
        """Produce every complete new line; returns how many were handed to the producer."""
        lines, self._offset = read_new_lines(self.path, self._offset)
        for offset, line in lines:
            event = filebeat_event(line, offset, self._clock(), self.pod, self.agent)
            self._produce(orjson.dumps(event))
        self.stats.read += len(lines)
        self._producer.poll(0)
        return len(lines)

    def _produce(self, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(self.topic, value=value, on_delivery=self._delivered)
                return
            except BufferError:
                # The producer's local queue is full: serve delivery callbacks, then retry (never drop).
                self._producer.poll(0.5)

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is None:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            self.stats.last_error = str(err)

    def run(self) -> None:
        """Ship until `stop()`, then wait (bounded) for outstanding deliveries."""
        while not self._stop.is_set():
            if self.ship_once() == 0:
                self._stop.wait(self._poll_interval)
        self._producer.flush(10)
        # Release the client now (its broker threads and reconnect attempts end with it), not at interpreter exit.
        self._producer = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_guarded, name="demo-shipper", daemon=True)
        self._thread.start()

    def _run_guarded(self) -> None:
        try:
            self.run()
        except Exception as e:  # the demo's summary shows it; the thread must not die silently
            self.stats.last_error = f"shipper stopped: {e}"

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def kafka_producer(bootstrap_servers: str) -> Any:
    """A producer configured like Filebeat's Kafka output defaults (acks=1, idempotence off)."""
    from confluent_kafka import KafkaException, Producer

    try:
        return Producer({
            "bootstrap.servers": bootstrap_servers,
            "acks": 1,
            "linger.ms": 50,
            "compression.type": "lz4",
            "client.id": "filebeat-demo",
        })
    except KafkaException as e:
        raise PipelineError(f"cannot create a Kafka producer for {bootstrap_servers}: {e}") from e


def iter_events(path: Path, pod: PodMeta, read_at: datetime) -> Iterator[dict[str, Any]]:
    """Every line of a file as a Filebeat event (for tests and one-off replays)."""
    agent = AgentMeta()
    lines, _ = read_new_lines(path, 0)
    for offset, line in lines:
        yield filebeat_event(line, offset, read_at, pod, agent)
