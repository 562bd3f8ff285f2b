"""Reliability of `obs process` against confluent-kafka's mock cluster (real Kafka protocol) and the
FakeElasticsearch double: faults, SIGKILL restarts, rebalances, malformed input and an Elasticsearch outage.

The invariant checked throughout: every event ends in the sink exactly once by `_id`, and a committed
offset never passes an event that is not yet in the sink (or the dead-letter topic).
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
from fake_elasticsearch import FakeElasticsearch, Faults
from filebeat_events import mixed_events

pytestmark = pytest.mark.integration
# ES outage length for test 5; the issue asks for 30 s, shorten with OBS_TEST_ES_OUTAGE_SECONDS while iterating.
OUTAGE_SECONDS = float(os.environ.get("OBS_TEST_ES_OUTAGE_SECONDS", "30"))
__all__ = ["kafka"]  # a fixture: imported for pytest, not called


@pytest.mark.timeout(120)
def test_random_429_503_and_resets_store_every_event_exactly_once(kafka: tuple[Producer, str]) -> None:
    producer, brokers = kafka
    expected = produce(producer, mixed_events(6000))
    faults = Faults(item_429=0.05, item_503=0.03, request_503=0.05, reset=0.05, reset_after=0.2, seed=11)
    with FakeElasticsearch(faults) as es:
        # Small batches: enough _bulk requests that some answers are surely lost after storing (→ 409s).
        run = Running(config(brokers, es.url, batch_size=150))
        try:
            deadline = time.monotonic() + 90
            while len(es.ids()) < len(expected) and time.monotonic() < deadline:
                assert_commits_never_pass_unconfirmed(brokers, "obs", es)
                time.sleep(0.5)
            assert_exactly_once(es, expected)
            assert run.value("obs_processor_retries_total") > 0
            assert es.conflicts > 0, "a lost answer must have been retried and answered 409"
        finally:
            run.close()
        assert_commits_never_pass_unconfirmed(brokers, "obs", es)
        assert committed(brokers, "obs") == {p: len(expected) // PARTITIONS for p in range(PARTITIONS)}


@pytest.mark.timeout(180)
def test_sigkill_and_restart_five_times(kafka: tuple[Producer, str], tmp_path: Path) -> None:
    producer, brokers = kafka
    expected = produce(producer, mixed_events(16000))
    rng = random.Random(5)
    with FakeElasticsearch(Faults(item_429=0.02, slow=0.05, slow_seconds=0.2, seed=3)) as es:
        cfg_path = tmp_path / "processor.yaml"
        cfg_path.write_text(
            f"kafka:\n  bootstrap_servers: [{brokers}]\n  topic: {TOPIC}\n  group: killed\n"
            "  client_config: {session.timeout.ms: 6000, heartbeat.interval.ms: 500}\n"
            f"elasticsearch:\n  url: {es.url}\n  request_timeout: 5s\n"
            "processing: {batch_size: 300, flush_interval: 100ms}\nmetrics: {port: 0, host: 127.0.0.1}\n"
        )
        cmd = [str(REPO / ".venv" / "bin" / "obs"), "process", "--config", str(cfg_path)]
        kills = 0
        progress = []
        while kills < 5:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            before = len(es.ids())
            # Kill once it has made some progress, at a random moment, mid-batch.
            wait_for(lambda before=before: len(es.ids()) > before, 60, "the restarted processor to index")
            time.sleep(rng.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            progress.append(len(es.ids()))
            assert_commits_never_pass_unconfirmed(brokers, "killed", es)
        assert progress[-1] < len(expected), "the kills must happen mid-stream, not after everything was indexed"
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: len(es.ids()) >= len(expected), 90, "all events after the last restart")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert_exactly_once(es, expected)
        assert es.conflicts > 0, "replayed events after a SIGKILL must have been answered 409, not duplicated"
        assert_commits_never_pass_unconfirmed(brokers, "killed", es)
        assert committed(brokers, "killed") == {p: len(expected) // PARTITIONS for p in range(PARTITIONS)}


@pytest.mark.timeout(120)
def test_two_processors_rebalance_mid_stream(kafka: tuple[Producer, str]) -> None:
    producer, brokers = kafka
    expected = produce(producer, mixed_events(12000))
    # Every answer is slow (≤ 2000 events/s per processor) and little is held in flight (a revoke flushes
    # what is held before the partitions move), so the second processor joins mid-stream.
    with FakeElasticsearch(Faults(item_429=0.02, slow=1.0, slow_seconds=0.1, seed=8)) as es:
        first = Running(config(brokers, es.url, group="pair", batch_size=200, max_in_flight=1000))
        wait_for(lambda: len(es.ids()) > 1500, 60, "the first processor to make progress")
        second = Running(config(brokers, es.url, group="pair", batch_size=200, max_in_flight=1000))
        wait_for(lambda: len(second.processor.assigned) > 0, 60, "the second processor to get partitions")
        assert 0 < len(first.processor.assigned) < PARTITIONS
        assert len(es.ids()) < len(expected), "the rebalance must happen mid-stream"
        assert_commits_never_pass_unconfirmed(brokers, "pair", es)
        first.close()  # a second rebalance: the survivor takes every partition back
        wait_for(lambda: len(es.ids()) >= len(expected), 60, "all events")
        second.close()
        assert_exactly_once(es, expected)
        assert_commits_never_pass_unconfirmed(brokers, "pair", es)
        assert second.value("obs_processor_events_indexed_total") > 0 and first.value(
            "obs_processor_events_indexed_total") > 0  # fmt: skip


def _dead_letters(brokers: str, count: int) -> list[tuple[dict[str, bytes], bytes]]:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "dlq-reader", "auto.offset.reset": "earliest"})
    consumer.subscribe(["logs-dead-letter"])
    out: list[tuple[dict[str, bytes], bytes]] = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < count and time.monotonic() < deadline:
            for msg in consumer.consume(100, timeout=0.5):
                if msg.error() is None:
                    out.append((dict(msg.headers() or []), msg.value() or b""))
    finally:
        consumer.close()
    return out


@pytest.mark.timeout(120)
def test_malformed_input_goes_to_the_dead_letter_topic(kafka: tuple[Producer, str]) -> None:
    producer, brokers = kafka
    good = mixed_events(400)
    bad = {
        b"{not json": "invalid_json",
        bytes(range(256)) * 4: "invalid_json",
        b'{"message": "' + b"x" * 5_000_000 + b'"}': "too_large",
        b'{"@timestamp": "2026-11-23T04:37:22Z", "log": {"offset": 1}}': "missing_field",
        b'{"message": ["not", "a", "string"]}': "invalid_field",
        b'{"message": "ok", "kubernetes": "not an object"}': "invalid_field",
        b'{"message": "x", "fields": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b"}": "too_deep",
        b"[" * 5000 + b"]" * 5000: "invalid_json",
        b'"just a string"': "not_an_object",
    }
    # Elasticsearch refuses one document permanently (a mapping conflict): dead-lettered with its error.
    poison = b'{"message": "poison", "fields": {"poison": true}}'
    faults = Faults(reject=lambda d: (400, "document_parsing_exception", "failed to parse field [fields.poison]")
                    if (d.get("fields") or {}).get("poison") else None)  # fmt: skip
    values = [*good[:200], *bad, poison, *good[200:]]
    ids = produce(producer, values)
    with FakeElasticsearch(faults) as es:
        run = Running(config(brokers, es.url))
        try:
            dead = _dead_letters(brokers, len(bad) + 1)
            wait_for(lambda: len(es.ids()) >= len(good), 60, "the good events")
            assert run.thread.is_alive()
        finally:
            run.close()
    reasons = sorted(h["obs.error.reason"].decode() for h, _ in dead)
    assert reasons == sorted([*bad.values(), "rejected"])
    by_offset = {(h["obs.source.partition"], h["obs.source.offset"]): (h, v) for h, v in dead}
    for value, doc_id in zip(values, ids, strict=True):
        _, partition, offset = doc_id.rsplit("-", 2)
        if value in bad or value == poison:
            headers, original = by_offset[(partition.encode(), offset.encode())]
            assert original == value[:900_000]
            if value == poison:
                assert b"document_parsing_exception" in headers["obs.error.detail"]
    assert len(es.ids()) == len(good)
    assert run.value("obs_processor_events_dead_lettered_total", {"reason": "invalid_json"}) == 3
    assert_commits_never_pass_unconfirmed(
        brokers, "obs", es, {i for v, i in zip(values, ids, strict=True) if v in bad or v == poison}
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.timeout(60 + 3 * OUTAGE_SECONDS)
def test_elasticsearch_outage_pauses_and_loses_nothing(kafka: tuple[Producer, str]) -> None:
    producer, brokers = kafka
    expected = produce(producer, mixed_events(12000))
    with FakeElasticsearch() as es:
        run = Running(config(brokers, es.url, max_in_flight=2000, batch_size=500))
        try:
            wait_for(lambda: len(es.ids()) > 1000, 60, "indexing to start")
            es.down = True
            outage_started = time.monotonic()
            wait_for(lambda: run.value("obs_processor_paused") == 1, 30, "consumption to pause")
            rss_at_pause = _rss_mb()
            consumed_at_pause = run.value("obs_processor_events_consumed_total", {"topic": TOPIC})
            max_in_flight = 0.0
            while time.monotonic() - outage_started < OUTAGE_SECONDS:
                max_in_flight = max(max_in_flight, run.value("obs_processor_in_flight_events"))
                assert_commits_never_pass_unconfirmed(brokers, "obs", es)
                time.sleep(0.5)
            assert run.value("obs_processor_paused") == 1
            assert run.value("obs_processor_sink_up") == 0
            # Paused: at most what was already fetched trickles in; nothing near the 12000 produced.
            assert run.value("obs_processor_events_consumed_total", {"topic": TOPIC}) - consumed_at_pause < 2500
            assert max_in_flight <= 2000 + 2 * 500
            assert _rss_mb() - rss_at_pause < 50, "memory must stay bounded while Elasticsearch is down"
            es.down = False
            wait_for(lambda: len(es.ids()) >= len(expected), 60, "recovery")
            assert run.value("obs_processor_paused") == 0
        finally:
            run.close()
        assert_exactly_once(es, expected)
        assert_commits_never_pass_unconfirmed(brokers, "obs", es)
