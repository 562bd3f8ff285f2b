"""The log path end to end with the real programs: a node's /var/log/containers → the real Filebeat (the
rendered filebeat.yml, add_kubernetes_metadata against a real kube-apiserver 1.35) → the real Kafka 4.4 → the
processor → its Elasticsearch bulk requests (FakeElasticsearch: Elasticsearch cannot run here).

The node has three Pods in the API server, bound to it with their containers reported running
(tests/integration/filebeat/node.py). Their log files are written the way the runtimes write them
(observability/local/container_logs.py): `checkout` by containerd (CRI records, one line longer than 16 KiB
cut into `P` parts, a Go panic on stderr), `payments` by dockerd (json-file, one long line in parts), and
`coredns` in kube-system, a namespace the spec excludes. The lines are real ones from the processor's public
corpus (tests/unit/pipeline/corpus/), with the fields the corpus expects of them.

The filebeat.yml is rendered from the example spec with `hints: false` (the static container input and
add_kubernetes_metadata), moved only to read the node's log directory under a temporary root
(observability/local/filebeat.py localize_node_logs), its Kafka hosts set with an `-E` override.
Filebeat runs until its output acknowledged every expected event; the processor then reads the topic.
A second run without `exclude_files` shows drop_event alone keeping the excluded namespace out.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
import yaml
from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kafka"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "pipeline"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "render"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))

from fake_elasticsearch import FakeElasticsearch
from node import Node, PodContainer
from real_filebeat_events import FILEBEAT_VERSION as RECORDED_VERSION
from real_filebeat_events import key_paths, recorded_event
from real_kafka import Running, create_topic, processor_config, unique, wait_for
from render_fixtures import example_dict, render, stack_from
from test_process_corpus import _MISSING, load_corpus, mismatches
from test_process_corpus import field as doc_field

from observability.local.container_logs import MAX_LINE_BYTES, Stream
from observability.local.filebeat import FilebeatProcess, localize_node_logs, start_filebeat, write_config
from observability.local.kafka_broker import KafkaCluster
from observability.local.kube_apiserver import LocalCluster, control_plane_of_part, running_local_cluster
from observability.pipeline.enrich import MAX_FIELD_CHARS
from observability.pipeline.envelope import EnvelopeReader
from observability.render.filebeat import GO_STACK_CONTINUATION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PartPath = Callable[..., Path]
NODE_NAME = "node-1"
PARTITIONS = 4
CLUSTER_NAME = example_dict()["cluster"]["name"]
# add_kubernetes_metadata starts its node, namespace and pod watchers in that order, the pod watcher last
# (beats libbeat/processors/add_kubernetes_metadata/kubernetes.go init); until the pod cache is filled,
# events pass unannotated. Each watcher logs this (debug, selector `kubernetes`) once its cache is synced.
WATCHERS_SYNCED = ("cache sync done", 3)


def _corpus(family: str, go_format: str) -> list[dict[str, Any]]:
    """The family's corpus lines of one format that the processor gets right with the test double's envelope."""
    return [entry for fam, entry in load_corpus()
            if fam == family and entry["expect"].get("go.format") == go_format and not mismatches(entry)]  # fmt: skip


def _panic() -> dict[str, Any]:
    """The first corpus panic the processor gets right whose stack the rendered multiline pattern joins."""
    continuation = re.compile(GO_STACK_CONTINUATION)
    for entry in _corpus("panic", "go_panic"):
        first, *rest = entry["text"].split("\n")
        if not continuation.match(first) and all(continuation.match(line) for line in rest):
            return entry
    raise AssertionError("no corpus panic fits the multiline pattern")


def _long_zap_line(length: int) -> str:
    # A zap production JSON line (keys as in the corpus' uber-go/zap lines) with one large field, so the runtime
    # cuts it into parts; the content is ours, the cutting is the runtime's.
    return json.dumps({"level": "info", "ts": 1795408642.5, "caller": "export/batch.go:77", "msg": "batch exported",
                       "payload": "x" * length}, separators=(",", ":"))  # fmt: skip


@dataclass
class Written:
    """One event Filebeat should make of what a container wrote."""

    container: PodContainer
    offset: int
    """Byte offset of its first record in the log file: Filebeat's log.offset."""
    text: str
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass
class Shipped:
    written: list[Written]
    excluded: PodContainer
    raw_events: list[bytes]
    documents: list[dict[str, Any]]
    es: FakeElasticsearch
    filebeat_log: str
    topic_messages: int


def _write(pc: PodContainer, stream: Stream, text: str, expect: dict[str, Any] | None = None) -> Written:
    assert pc.log is not None
    offset = pc.log.path.stat().st_size
    pc.log.write(stream, [line.encode() for line in text.split("\n")])
    return Written(pc, offset, text, dict(expect or {}))


def _consume_all(brokers: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": unique("raw"), "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
        return values
    finally:
        consumer.close()


def _topic_size(brokers: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": unique("size")})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS))
    finally:
        consumer.close()


def _acked(fb: FilebeatProcess) -> int:
    try:
        return fb.acked()
    except requests.RequestException:  # not answering for a moment: nothing more acknowledged yet
        return 0


def _rendered_filebeat_yml(topic: str) -> str:
    """filebeat.yml of the example spec with the static input (`hints: false`), shipping to `topic`."""
    data = example_dict()
    data["logging"]["filebeat"]["hints"] = False
    data["logging"]["kafka"]["topics"]["logs"]["name"] = topic
    return render(stack_from(data)).files["filebeat/filebeat.yml"]


@pytest.fixture(scope="module")
def kube(part_path: PartPath, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A real kube-apiserver 1.35 (no controller-manager: nothing here needs one) for the Pods of the node."""
    part_path("kube-apiserver", "kube-apiserver")
    plane = control_plane_of_part("kube-apiserver")
    with running_local_cluster(plane, tmp_path_factory.mktemp("kube"), controller_manager=False) as cluster:
        yield cluster


@contextlib.contextmanager
def running_filebeat(config_text: str, work: Path, kube: LocalCluster, brokers: str) -> Iterator[FilebeatProcess]:
    """The real Filebeat on `config_text`, as on the node, once add_kubernetes_metadata can annotate events."""
    config = write_config(work / "filebeat.yml", config_text)
    fb = start_filebeat(
        config, work / "filebeat", env={"NODE_NAME": NODE_NAME, "KUBECONFIG": str(kube.kubeconfig)},
        overrides={"output.kafka.hosts": json.dumps(brokers.split(",")), "logging.level": "debug",
                   "logging.selectors": '["kubernetes"]'},
    )  # fmt: skip
    try:
        text, count = WATCHERS_SYNCED
        wait_for(lambda: fb.logs().count(text) >= count, 60, "add_kubernetes_metadata's watchers to sync")
        yield fb
    finally:
        fb.stop()


@pytest.fixture(scope="module")
def shipped(kafka_one: KafkaCluster, kube: LocalCluster, part_path: PartPath,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shipped]:  # fmt: skip
    part_path("filebeat")
    work = tmp_path_factory.mktemp("filebeat-node")
    brokers = kafka_one.bootstrap_servers
    topic = unique("logs")
    create_topic(brokers, topic, PARTITIONS)
    node = Node(kube, NODE_NAME, work / "node")
    checkout = node.run(PodContainer(
        "shop", "checkout-7d9f8c6b5-x2x9z", "checkout", "ghcr.io/acme/checkout:1.4.2", "containerd",
        {"app.kubernetes.io/name": "checkout", "app.kubernetes.io/version": "1.4.2", "pod-template-hash": "7d9f8c6b5"},
    ), "10.244.0.17")  # fmt: skip
    payments = node.run(PodContainer(
        "shop", "payments-5c6d7e8f9-q4w5e", "payments", "ghcr.io/acme/payments:2.0.1", "docker",
        {"app.kubernetes.io/name": "payments", "pod-template-hash": "5c6d7e8f9"},
    ), "10.244.0.18")  # fmt: skip
    coredns = node.run(PodContainer(
        "kube-system", "coredns-668d6bf9bc-h7k2p", "coredns", "registry.k8s.io/coredns/coredns:v1.11.3",
        "containerd", {"k8s-app": "kube-dns", "pod-template-hash": "668d6bf9bc"},
    ), "10.244.0.2")  # fmt: skip

    with running_filebeat(localize_node_logs(_rendered_filebeat_yml(topic), node.root), work, kube, brokers) as fb:
        written = [_write(checkout, "stdout", e["text"], e["expect"]) for e in _corpus("zap", "zap_json")]
        written.append(_write(checkout, "stdout", _long_zap_line(40_000)))
        panic = _panic()
        written.append(_write(checkout, "stderr", panic["text"], panic["expect"]))
        written += [_write(payments, "stdout", e["text"], e["expect"]) for e in _corpus("slog", "slog_json")]
        written += [_write(payments, "stdout", e["text"], e["expect"]) for e in _corpus("zerolog", "zerolog_json")]
        written.append(_write(payments, "stdout", _long_zap_line(20_000)))
        for entry in _corpus("klog", "klog_structured"):
            _write(coredns, "stderr", entry["text"])
        wait_for(lambda: _acked(fb) >= len(written), 90, f"Filebeat to ship {len(written)} events")
    raw_events = _consume_all(brokers, topic, len(written))
    with FakeElasticsearch() as es:
        running = Running(processor_config(brokers, es.url, topic, unique("obs")))
        try:
            wait_for(lambda: len(es.docs) >= len(written), 60, f"the processor to index {len(written)} events")
        finally:
            running.close()
        yield Shipped(written, coredns, raw_events, list(es.docs.values()), es, fb.logs(), _topic_size(brokers, topic))


def _document(shipped: Shipped, w: Written) -> dict[str, Any]:
    assert w.container.log is not None
    name = w.container.log.path.name
    found = [
        d for d in shipped.documents if d["log"]["file"]["path"].endswith("/" + name) and d["log"]["offset"] == w.offset
    ]
    assert len(found) == 1, f"{len(found)} documents for {name} at offset {w.offset}"
    return found[0]


def _raw_event(shipped: Shipped, w: Written) -> dict[str, Any]:
    assert w.container.log is not None
    events = [orjson.loads(raw) for raw in shipped.raw_events]
    (event,) = [
        e for e in events if e["log"]["file"]["path"] == str(w.container.log.path) and e["log"]["offset"] == w.offset
    ]
    return event


def test_every_event_is_shipped_and_indexed_once_and_nothing_else(shipped: Shipped) -> None:
    assert shipped.topic_messages == len(shipped.written), "Filebeat shipped more or fewer events than written"
    assert len(shipped.raw_events) == len(shipped.written)
    assert len(shipped.documents) == len(shipped.written)
    assert sorted((Path(d["log"]["file"]["path"]).name, d["log"]["offset"]) for d in shipped.documents) == sorted(
        (w.container.log.path.name, w.offset) for w in shipped.written if w.container.log is not None
    )
    assert shipped.es.conflicts == 0 and set(shipped.es.create_attempts.values()) == {1}


def test_each_json_line_is_one_document_with_the_fields_the_corpus_expects(shipped: Shipped) -> None:
    lines = [w for w in shipped.written if w.expect and "\n" not in w.text]
    assert len(lines) >= 10
    wrong = []
    for w in lines:
        doc = _document(shipped, w)
        for path, want in w.expect.items():
            got = doc_field(doc, path)
            if got != want:
                wrong.append(f"{w.text[:60]!r} {path}: want {want!r}, got {'(missing)' if got is _MISSING else got!r}")
    assert not wrong, "\n".join(wrong)


def test_lines_the_runtime_cut_into_parts_are_one_event_again(shipped: Shipped) -> None:
    cut = [w for w in shipped.written if not w.expect]
    assert {w.container.runtime for w in cut} == {"containerd", "docker"}
    for w in cut:
        assert w.container.log is not None
        records = w.container.log.path.read_bytes()[w.offset :].split(b"\n")
        parts = len(w.text.encode()) // MAX_LINE_BYTES + 1
        if w.container.runtime == "containerd":
            assert [r.split(b" ")[2] for r in records[:parts]] == [b"P"] * (parts - 1) + [b"F"]
        else:
            assert [json.loads(r)["log"].endswith("\n") for r in records[:parts]] == [False] * (parts - 1) + [True]
        assert _raw_event(shipped, w)["message"] == w.text
        doc = _document(shipped, w)
        assert (doc["message"], doc["go"]["format"]) == ("batch exported", "zap_json")
        assert doc["go"]["fields"]["payload"] == "x" * MAX_FIELD_CHARS  # Elasticsearch's keyword limit


def test_a_go_panic_is_one_document_with_its_stack_trace(shipped: Shipped) -> None:
    (w,) = [w for w in shipped.written if "\n" in w.text]
    doc = _document(shipped, w)
    assert doc["go"]["format"] == "go_panic" and doc["error"]["type"] == "panic"
    assert doc["log"]["stream"] == "stderr" and doc["log"]["flags"] == ["multiline"]
    for frame in w.text.split("\n")[1:]:
        assert frame.strip() in doc["error"]["stack_trace"]
    for path, want in w.expect.items():
        assert doc_field(doc, path) == want, path


def test_the_excluded_namespace_is_never_read_nor_shipped(shipped: Shipped) -> None:
    assert shipped.excluded.log is not None and shipped.excluded.log.lines > 0
    namespaces = {d["kubernetes"]["namespace"] for d in shipped.documents}
    assert namespaces == {"shop"}
    assert not any(shipped.excluded.pod.encode() in raw for raw in shipped.raw_events)
    # exclude_files skipped the file unopened: Filebeat's log names every file it harvests, never this one
    read = {w.container.log.path.name for w in shipped.written if w.container.log is not None}
    assert all(name in shipped.filebeat_log for name in read)
    assert shipped.excluded.log.path.name not in shipped.filebeat_log


def test_pod_metadata_comes_from_the_api_server(shipped: Shipped) -> None:
    for w in shipped.written:
        doc, pc = _document(shipped, w), w.container
        k8s = doc["kubernetes"]
        assert (k8s["namespace"], k8s["pod"]["name"], k8s["container"]["name"]) == (pc.namespace, pc.pod, pc.container)
        assert k8s["node"]["name"] == NODE_NAME and k8s["replicaset"]["name"] == pc.replicaset
        assert k8s["labels"] == {key.replace(".", "_"): value for key, value in pc.labels.items()}  # de-dotted
        assert doc["container"] == {"id": pc.container_id, "runtime": pc.runtime, "image": {"name": pc.image}}
        assert doc["service"]["name"] == pc.labels["app.kubernetes.io/name"]
        assert doc["orchestrator"]["cluster"]["name"] == CLUSTER_NAME


def test_real_events_have_the_recorded_shape_and_the_fast_path_reads_them(shipped: Shipped) -> None:
    reader = EnvelopeReader(1_000_000)
    for raw in shipped.raw_events:
        event = orjson.loads(raw)
        assert reader.decode(raw) is not None, f"the strict decoder refused a real event: {raw[:300]!r}"
        assert not [key for key in event if "." in key], "a top-level key with a dot: a processor wrote a path as a key"
        assert event["@metadata"]["version"] == RECORDED_VERSION, "another Filebeat: record its events anew"
        kind = ("cri_go_panic" if event["stream"] == "stderr" else
                "cri_zap_line" if event["container"]["runtime"] == "containerd" else "docker_slog_line")  # fmt: skip
        assert key_paths(event) == key_paths(recorded_event(kind)), f"{kind}: the event shape changed"


def test_drop_event_keeps_an_excluded_namespace_out_when_the_file_name_does_not(
    kafka_one: KafkaCluster, kube: LocalCluster, part_path: PartPath, tmp_path: Path
) -> None:
    """The second line of defence: the same filebeat.yml without its exclude_files, as if a file's name had not
    revealed its namespace. add_kubernetes_metadata names it, and drop_event drops its events."""
    part_path("filebeat")
    brokers, topic = kafka_one.bootstrap_servers, unique("logs")
    create_topic(brokers, topic, PARTITIONS)
    node = Node(kube, NODE_NAME, tmp_path / "node")
    proxy = node.run(PodContainer(
        "kube-system", "kube-proxy-7x9qw", "kube-proxy", "registry.k8s.io/kube-proxy:v1.35.4", "containerd",
        {"k8s-app": "kube-proxy"},
    ), "10.0.0.5")  # fmt: skip
    cart = node.run(PodContainer("shop", "cart-6b8d9f7c4-m2n3b", "cart", "ghcr.io/acme/cart:3.1.0", "containerd",
                                 {"app.kubernetes.io/name": "cart"}), "10.244.0.21")  # fmt: skip
    config = yaml.safe_load(localize_node_logs(_rendered_filebeat_yml(topic), node.root))
    del config["filebeat.inputs"][0]["exclude_files"]
    klog = [entry["text"] for entry in _corpus("klog", "klog_structured")]
    with running_filebeat(yaml.safe_dump(config), tmp_path, kube, brokers) as fb:
        for text in klog:
            _write(proxy, "stderr", text)
        shop = _write(cart, "stdout", _corpus("zap", "zap_json")[0]["text"])
        # The registry marks a line done once it is acknowledged by Kafka or dropped by a processor: both files
        # done, with one event acknowledged, means every kube-proxy line was read and dropped.
        files = {str(pc.log.path): pc.log.path.stat().st_size for pc in (proxy, cart) if pc.log is not None}
        wait_for(lambda: all(fb.registry_offsets().get(p) == size for p, size in files.items()), 60,
                 "Filebeat's registry to mark both files done")  # fmt: skip
        assert _acked(fb) == 1
    assert proxy.log is not None and proxy.log.path.name in fb.logs(), "the kube-system file was not even read"
    (event,) = [orjson.loads(raw) for raw in _consume_all(brokers, topic, 1)]
    assert (event["kubernetes"]["namespace"], event["log"]["offset"]) == ("shop", shop.offset)
    assert _topic_size(brokers, topic) == 1
