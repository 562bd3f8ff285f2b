"""Demo layer (I/O): the demo's log shipper — the real Filebeat when it is built, the stand-in otherwise.

Real Filebeat (`make tools PARTS=filebeat`): the sample service's stdout and stderr are written as containerd
writes them, to `<workdir>/node/var/log/containers/<pod>_<namespace>_<container>-<id>.log`
(observability/local/container_logs.py), and Filebeat runs the demo stack's rendered filebeat.yml with two
local changes (`localize_filebeat`): the static container input reads that directory, and the pod metadata
that add_kubernetes_metadata would look up in the Kubernetes API — the demo has none — is attached by
`add_fields` instead (the same pod the Prometheus targets describe, pipeline/shipper.py `pod_metadata`).
Multiline, drop_event, the cluster name and the Kafka output stay as rendered; Kafka's address is an `-E`
override.

Stand-in (pipeline/shipper.py): a thread tails the service's own log file and produces Filebeat-shaped events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from observability.demo.supervisor import Supervisor
from observability.local import parts
from observability.local.container_logs import KUBELET_LOG_DIR, ContainerLog, container_log_name
from observability.local.filebeat import (
    PART,
    FilebeatProcess,
    localize_node_logs,
    start_filebeat,
    write_config,
)
from observability.pipeline.shipper import PodMeta, Shipper, kafka_producer, pod_metadata
from observability.render.filebeat import render_filebeat_config
from observability.render.yamlfmt import dump_yaml
from observability.spec import Stack


def static_input_stack(stack: Stack) -> Stack:
    """The stack with `logging.filebeat.hints: false`: autodiscover needs the Kubernetes API, the static
    container input does not."""
    filebeat = stack.logging.filebeat.model_copy(update={"hints": False})
    return stack.model_copy(update={"logging": stack.logging.model_copy(update={"filebeat": filebeat})})


def localize_filebeat(stack: Stack, node_root: Path, pod: PodMeta) -> str:
    """The stack's filebeat.yml (static input) reading `node_root`'s log directory, with `pod`'s metadata
    added by add_fields where add_kubernetes_metadata would have looked it up (PURE)."""
    config = yaml.safe_load(localize_node_logs(render_filebeat_config(static_input_stack(stack)), node_root))
    processors = config["processors"]
    (index,) = [i for i, p in enumerate(processors) if "add_kubernetes_metadata" in p]
    # target "" adds the fields at the event's root (libbeat/processors/actions/add_fields.go makeFieldsProcessor)
    processors[index] = {"add_fields": {"target": "", "fields": pod_metadata(pod)}}
    return dump_yaml(config)


def node_container_log(workdir: Path, pod: PodMeta) -> ContainerLog:
    """The service's container log file on the demo's node, as the kubelet names it."""
    name = container_log_name(pod.pod, pod.namespace, pod.service, pod.container_id)
    return ContainerLog(workdir / "node" / KUBELET_LOG_DIR.lstrip("/") / name)


@dataclass(frozen=True)
class ShippingCounts:
    lines_read: int
    events_shipped: int
    failures: int
    last_error: str = ""


class RealFilebeat:
    """The real Filebeat shipping the service's container log file."""

    def __init__(self, process: FilebeatProcess, log: ContainerLog) -> None:
        self.process = process
        self.log = log
        self.name = f"real Filebeat {parts.get_part(PART).version}"

    def counts(self) -> ShippingCounts:
        try:
            events = self.process.stats()["libbeat"]["output"]["events"]
        except (requests.RequestException, ValueError, KeyError) as e:
            return ShippingCounts(self.log.lines, 0, 0, f"Filebeat's /stats did not answer: {e}")
        return ShippingCounts(self.log.lines, int(events.get("acked", 0)), int(events.get("failed", 0)))


class StandIn:
    """pipeline/shipper.py's thread, tailing the service's own log file."""

    name = "Filebeat stand-in"

    def __init__(self, shipper: Shipper) -> None:
        self.shipper = shipper

    def counts(self) -> ShippingCounts:
        stats = self.shipper.stats
        return ShippingCounts(stats.read, stats.delivered, stats.failed, stats.last_error)


Shipping = RealFilebeat | StandIn


def start_shipping(stack: Stack, workdir: Path, service_log: Path, container_log: ContainerLog | None,
                   pod: PodMeta, bootstrap_servers: str, supervisor: Supervisor) -> tuple[Shipping, str]:  # fmt: skip
    """Start the real Filebeat on `container_log` (when given), else the stand-in on `service_log`; returns
    the shipper and a line saying what it does."""
    topic = stack.logging.kafka.topics.logs.name
    if container_log is not None:
        work = workdir / "filebeat"
        config = write_config(work / "filebeat.yml", localize_filebeat(stack, workdir / "node", pod))
        hosts = json.dumps(bootstrap_servers.split(","))
        process = start_filebeat(config, work, overrides={"output.kafka.hosts": hosts})
        supervisor.adopt("filebeat", process.process, process.log_path)
        real = RealFilebeat(process, container_log)
        return real, (f"{real.name} tailing {container_log.path} → topic {topic}; pod metadata from add_fields "
                      "(no Kubernetes API here)")  # fmt: skip
    shipper = Shipper(service_log, topic, pod, kafka_producer(bootstrap_servers))
    shipper.start()
    supervisor.on_stop("shipper", shipper.stop)
    return StandIn(shipper), (f"tailing {service_log} → topic {topic} as pod {pod.pod} (Filebeat stand-in; "
                              f"`make tools PARTS={PART}` builds the real one)")  # fmt: skip

