"""Delivery guarantees that each used to survive a deliberate bug (issue 18): every test here names the
mutation of `make mutants` it catches.

- the dead-letter producer fails, then stalls: no offset is committed past an event whose dead letter was
  not acknowledged (mutant: confirm a dead letter when it is sent, not when Kafka acknowledged it);
- (a rebalance hands the held events over without sending any twice — mutant: skip the flush on revoke — is
  checked against a real group coordinator in tests/integration/kafka/test_consumer_group.py: the mock
  cluster refuses the revoke's commit with REBALANCE_IN_PROGRESS, which a real broker accepts;)
- every item answered 429 for a while: consumption stops at max_in_flight (mutant: no in-flight cap);
- the processor's own RSS, as a subprocess, with 100,000 events in flight stays at or under 200 MiB.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from pipeline_harness import (
    PARTITIONS,
    REPO,
    TOPIC,
    Running,
    assert_commits_never_pass_unconfirmed,
    assert_exactly_once,
    committed,
    config,
    kafka,
    produce,
    wait_for,
)

from observability.pipeline import source

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from dead_letter_producer import GatedProducerDouble
from fake_elasticsearch import FakeElasticsearch, Faults
from filebeat_events import mixed_events
from mock_kafka import BACKLOG_CONFIG, mock_cluster, produce_backlog

pytestmark = pytest.mark.integration
__all__ = ["kafka"]  # a fixture: imported for pytest, not called
DEAD_LETTER_TOPIC = "logs-dead-letter"


def _dead_letter_offsets(brokers: str, count: int, timeout: float = 30) -> set[tuple[int, int]]:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "dlq-check", "auto.offset.reset": "earliest"})
    consumer.subscribe([DEAD_LETTER_TOPIC])
    found: set[tuple[int, int]] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for msg in consumer.consume(100, timeout=0.5):
                if msg.error() is None:
                    headers = dict(msg.headers() or [])
                    found.add((int(headers["obs.source.partition"]), int(headers["obs.source.offset"])))
    finally:
        consumer.close()
    return found


@pytest.mark.timeout(150)
def test_no_commit_passes_a_dead_letter_kafka_has_not_acknowledged(
    kafka: tuple[Producer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    producer, brokers = kafka
    good = mixed_events(2000)
    values: list[bytes] = []
    for i, event in enumerate(good):
        values.append(event)
        if i % 50 == 10:  # 40 malformed events spread over every partition
            values.append(b"{not json %d" % i)
    ids = produce(producer, values)
    bad = {(int(i.rsplit("-", 2)[1]), int(i.rsplit("-", 2)[2])) for v, i in zip(values, ids, strict=True)
           if v.startswith(b"{not json")}  # fmt: skip
    first_bad = {p: min(o for q, o in bad if q == p) for p in range(PARTITIONS)}
    GatedProducerDouble.instances.clear()
    monkeypatch.setattr(source, "Producer", GatedProducerDouble)
    with FakeElasticsearch() as es:
        run = Running(config(brokers, es.url))
        (gate,) = GatedProducerDouble.instances
        gate.mode = "fail"
        try:
            wait_for(lambda: len(es.ids()) >= len(good), 60, "every good event to be indexed")
            wait_for(lambda: gate.failed > 100, 30, "dead-letter produces to fail and be retried")
            for mode in ("fail", "stall"):
                gate.mode = mode
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    offsets = committed(brokers, "obs")
                    for partition, offset in offsets.items():
                        assert offset <= first_bad[partition], (
                            f"{mode}: partition {partition} committed {offset}, past the unacknowledged dead "
                            f"letter at {first_bad[partition]}"
                        )
                    time.sleep(0.3)
            gate.mode = "ok"
            assert _dead_letter_offsets(brokers, len(bad)) == bad
            end = {p: sum(1 for i in ids if i.split("-")[1] == str(p)) for p in range(PARTITIONS)}
            wait_for(lambda: committed(brokers, "obs") == end, 30, "commits to reach the end once acknowledged")
        finally:
            run.close()
    assert_exactly_once(es, [i for v, i in zip(values, ids, strict=True) if not v.startswith(b"{not json")])


@pytest.mark.timeout(120)
def test_consumption_stops_at_max_in_flight_while_every_item_is_refused(kafka: tuple[Producer, str]) -> None:
    producer, brokers = kafka
    expected = produce(producer, mixed_events(12000))
    faults = Faults(item_429=1.0)
    with FakeElasticsearch(faults) as es:
        run = Running(config(brokers, es.url, max_in_flight=2000, batch_size=250))
        try:
            wait_for(lambda: run.value("obs_processor_paused") == 1, 30, "consumption to pause at the cap")
            assert run.value("obs_processor_sink_up") == 1, "answers arrive: it is the cap that pauses"
            deadline, peak = time.monotonic() + 5, 0.0
            while time.monotonic() < deadline:
                peak = max(peak, run.value("obs_processor_in_flight_events"))
                time.sleep(0.1)
            # The cap is checked once per consumed batch, so one batch may pass it.
            assert peak <= 2000 + 250, f"{peak:.0f} events in flight with max_in_flight=2000"
            consumed = run.value("obs_processor_events_consumed_total", {"topic": TOPIC})
            assert consumed <= 2000 + 250, f"{consumed:.0f} consumed while nothing could be confirmed"
            faults.item_429 = 0.0
            wait_for(lambda: len(es.ids()) >= len(expected), 60, "everything once the refusals stop")
        finally:
            run.close()
    assert_exactly_once(es, expected)
    assert_commits_never_pass_unconfirmed(brokers, "obs", es)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metric(port: int, name: str) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


@pytest.mark.timeout(300)
def test_the_processor_holds_100k_events_in_flight_within_200_mib(tmp_path: Path) -> None:
    in_flight = 100_000
    producer, brokers = mock_cluster(**BACKLOG_CONFIG)
    produce_backlog(producer, "held", mixed_events(20_000, compact=True, shuffle_keys=True), in_flight + 2000)
    port = _free_port()
    with FakeElasticsearch(Faults(item_429=1.0)) as es:
        cfg = tmp_path / "processor.yaml"
        cfg.write_text(
            f"kafka: {{bootstrap_servers: [{brokers}], topic: held, group: held}}\n"
            f"elasticsearch: {{url: '{es.url}', setup: false}}\n"
            f"processing: {{batch_size: 2000, flush_interval: 100ms, max_in_flight: {in_flight}}}\n"
            f"metrics: {{port: {port}, host: 127.0.0.1}}\n"
        )
        proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "obs"), "process", "--config", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            wait_for(lambda: _metric(port, "obs_processor_in_flight_events") >= in_flight, 240,
                     f"{in_flight} events in flight")  # fmt: skip
            wait_for(lambda: _metric(port, "obs_processor_paused") == 1, 30, "consumption to pause")
            samples = []
            for _ in range(10):  # over a few retry rounds of the whole backlog
                samples.append(_rss_mib(proc.pid))
                time.sleep(0.5)
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            assert max(samples) <= 200, f"RSS {max(samples):.0f} MiB with {in_flight} events in flight"
        finally:
            proc.terminate()
            proc.wait(60)
    producer.flush(5)
