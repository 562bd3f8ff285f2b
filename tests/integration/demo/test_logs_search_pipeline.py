"""Search over real processed events: the sample Go service → the shipper → an embedded Kafka → a real
`obs process --store` → the embedded store, then `obs logs search` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from observability.demo.kafka import start_embedded_kafka
from observability.local import free_port
from observability.pipeline.shipper import PodMeta, Shipper, kafka_producer
from observability.pipeline.store_sqlite import SqliteLogStore

pytestmark = pytest.mark.integration

PROCESSOR_YAML = """
kafka: {bootstrap_servers: ["placeholder:9092"], topic: logs, group: test-search}
elasticsearch: {url: "http://unused.invalid:9200"}
processing: {flush_interval: 200ms, batch_size: 100}
"""


def request(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"" if method == "POST" else None),
                                    timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def obs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "observability", *args], capture_output=True, text=True, timeout=60)


def search(store: Path, *args: str) -> list[dict]:
    result = obs("logs", "search", "--store", str(store), "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def pipeline(go_service, tmp_path):
    kafka = start_embedded_kafka(topics=("logs", "logs-dead-letter"))
    store = tmp_path / "logs.sqlite"
    config = tmp_path / "processor.yaml"
    config.write_text(PROCESSOR_YAML)
    env = {**os.environ, "OBS_PROCESSOR_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
           "OBS_PROCESSOR_METRICS_HOST": "127.0.0.1", "OBS_PROCESSOR_METRICS_PORT": str(free_port())}
    log = (tmp_path / "processor.log").open("wb")
    processor = subprocess.Popen(
        [sys.executable, "-m", "observability", "process", "--config", str(config), "--store", str(store)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    shipper = Shipper(go_service.log_path, "logs", PodMeta("checkout", "shop"), kafka_producer(kafka.bootstrap_servers),
                      poll_interval=0.05)
    shipper.start()
    (tmp_path / "bootstrap").write_text(kafka.bootstrap_servers)
    yield go_service, store, tmp_path / "processor.log"
    shipper.stop()
    processor.terminate()
    processor.wait(timeout=30)
    log.close()
    kafka.stop()


def pipeline_bootstrap(tmp_path: Path) -> str:
    return (tmp_path / "bootstrap").read_text()


def wait_for(store: Path, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.exists():
            s = SqliteLogStore(store)
            try:
                if s.count() >= count:
                    return
            finally:
                s.close()
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} events stored within {timeout}s")


def test_processed_events_are_searchable_with_parsed_fields(pipeline):
    service, store, processor_log = pipeline
    assert request(f"{service.url}/api/items") == 200
    assert request(f"{service.url}/api/items/abc") == 400
    assert request(f"{service.url}/api/fail") == 500
    assert request(f"{service.url}/api/panic") == 500
    # every request writes an access line; fail/panic/bad id add one more; plus the start-up line
    try:
        wait_for(store, 8)
    except AssertionError:
        raise AssertionError(processor_log.read_text()[-3000:]) from None

    errors = search(store, "--level", "error", "-s", "checkout", "-n", "shop")
    panic = [d for d in errors if d["message"] == "panic recovered"]
    assert len(panic) == 1, [d["message"] for d in errors]
    doc = panic[0]
    assert doc["log"]["level"] == "error"
    assert doc["service"]["name"] == "checkout"
    assert doc["kubernetes"]["namespace"] == "shop"
    assert len(doc["trace"]["id"]) == 32
    assert "runtime.gopanic" in doc["error"]["stack_trace"]

    access = search(store, '"request failed"')
    assert {d["url"]["path"] for d in access} == {"/api/fail", "/api/panic"}
    assert {d["http"]["response"]["status_code"] for d in access} == {500}
    assert {d["go"]["fields"]["route"] for d in access} == {"/api/fail", "/api/panic"}

    warn = search(store, "--level", "warn", "bad item id")
    assert [d["log"]["level"] for d in warn] == ["warn"]
    # the error's trace id finds every line of that request
    same_trace = [d for d in search(store, "--limit", "500") if d.get("trace", {}).get("id") == doc["trace"]["id"]]
    assert {d["message"] for d in same_trace} == {"panic recovered", "request failed"}

    table = obs("logs", "search", "--store", str(store), "--level", "error")
    assert table.returncode == 0 and "panic recovered" in table.stdout and "status=500" in table.stdout


def test_a_replay_from_offset_zero_adds_no_duplicates(pipeline, tmp_path):
    service, store, _ = pipeline
    for _ in range(3):
        request(f"{service.url}/api/items")
    wait_for(store, 4)
    time.sleep(1)  # let the first processor settle
    before = search(store, "--limit", "1000")
    # a second processor in a new consumer group re-reads the whole topic into the same store
    config = tmp_path / "replay.yaml"
    config.write_text(PROCESSOR_YAML.replace("test-search", "test-replay"))
    bootstrap = pipeline_bootstrap(tmp_path)
    env = {**os.environ, "OBS_PROCESSOR_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "OBS_PROCESSOR_METRICS_HOST": "127.0.0.1", "OBS_PROCESSOR_METRICS_PORT": str(free_port())}
    replay = subprocess.Popen(
        [sys.executable, "-m", "observability", "process", "--config", str(config), "--store", str(store)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        metrics = f"http://127.0.0.1:{env['OBS_PROCESSOR_METRICS_PORT']}/metrics"
        deadline = time.monotonic() + 60
        indexed = 0.0
        while time.monotonic() < deadline and indexed < len(before):
            try:
                with urllib.request.urlopen(metrics, timeout=2) as r:
                    text = r.read().decode()
                indexed = sum(float(line.split()[-1]) for line in text.splitlines()
                              if line.startswith("obs_processor_events_indexed_total "))
            except OSError:
                pass
            time.sleep(0.2)
        assert indexed >= len(before), "the replaying processor did not re-confirm the events"
    finally:
        replay.terminate()
        replay.wait(timeout=30)
    after = search(store, "--limit", "1000")
    assert [d["_id"] for d in after] == [d["_id"] for d in before]
