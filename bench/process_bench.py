"""Benchmark of `obs process` (make bench): prints one JSON line.

  {"events_per_s": …, "p99_added_latency_ms": …, "rss_mb": …, "baseline_events_per_s": …}

Setup, all on this machine: confluent-kafka's mock cluster (real Kafka protocol) holds realistic Filebeat
events (500–1000 bytes, every log format the processor knows, each object's keys in a random order per
event as Filebeat writes them); a local `_bulk` endpoint acknowledges every item at once. Phases, each
against a fresh consumer group:

1. throughput: a backlog of EVENTS events, timed from the processor's first `_bulk` to the last ack;
2. latency: events produced at LATENCY_RATE/s for a few seconds; per event, ack time minus produce time
   (the delay the processor adds on top of Kafka), p99;
3. memory: the endpoint answers 429 to every item, so events pile up until `max_in_flight` (100k) and
   consumption pauses; the processor's RSS is read then;
1b. baseline: bench/naive.py (stdlib json, one poll() per message, client-side serialisation) on the same
   backlog right after phase 1, timed the same way;
1c. with BENCH_FLOOR=1 only: bench/floor.py, the processor with its transform replaced by a copy of the
   event, on the same backlog (adds "floor_events_per_s": the ceiling left for decode/parse/enrich/encode).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "doubles"))
from filebeat_events import mixed_events  # noqa: E402
from mock_kafka import BACKLOG_CONFIG, PARTITIONS, mock_cluster, produce_backlog  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "200000"))
BASELINE_EVENTS = int(os.environ.get("BENCH_BASELINE_EVENTS", "40000"))
FLOOR = os.environ.get("BENCH_FLOOR", "") not in ("", "0")
LATENCY_RATE = int(os.environ.get("BENCH_LATENCY_RATE", "2000"))
LATENCY_SECONDS = 6


class AckEndpoint:
    """A `_bulk` endpoint answering 201 (or 429) per item; records the ack time of every `_id`."""

    def __init__(self) -> None:
        self.acked = 0
        self.first: float | None = None
        self.last = 0.0
        self.reject = False
        self.record_ids = False
        self.ack_times: dict[bytes, float] = {}
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are written separately: with Nagle's algorithm the body would wait for the
            # client's delayed ACK (up to 40 ms per request), which no real Elasticsearch adds.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                self._send(b'{"version":{"number":"8.15.3"},"tagline":"You Know, for Search"}')

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "_bulk" not in self.path:
                    self._send(b'{"acknowledged":true}')
                    return
                lines = body.split(b"\n")
                count = len(lines) // 2
                now = time.perf_counter()
                status = b"429" if endpoint.reject else b"201"
                with endpoint.lock:
                    if not endpoint.reject:
                        endpoint.acked += count
                        endpoint.first = endpoint.first or now
                        endpoint.last = now
                    if endpoint.record_ids and not endpoint.reject:
                        for action in lines[0::2]:
                            start = action.find(b'"_id":"') + 7
                            endpoint.ack_times[action[start : action.find(b'"', start)]] = now
                item = b'{"create":{"status":' + status + b"}}"
                self._send(b'{"errors":' + (b"true" if endpoint.reject else b"false") + b',"items":['
                           + b",".join([item] * count) + b"]}")  # fmt: skip

            do_POST = do_PUT

            def _send(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.acked, self.first, self.last = 0, None, 0.0
            self.ack_times = {}


def write_config(path: Path, brokers: str, url: str, topic: str, group: str, metrics_port: int = 0) -> None:
    path.write_text(
        f"kafka: {{bootstrap_servers: [{brokers}], topic: {topic}, group: {group}}}\n"
        f"elasticsearch: {{url: '{url}', setup: false}}\n"
        "processing: {batch_size: 2000, flush_interval: 100ms, max_in_flight: 100000}\n"
        f"metrics: {{port: {metrics_port}, host: 127.0.0.1}}\n"
    )


def start(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_acked(endpoint: AckEndpoint, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while endpoint.acked < count and time.monotonic() < deadline:
        time.sleep(0.05)
    if endpoint.acked < count or endpoint.first is None:
        raise SystemExit(f"bench: only {endpoint.acked}/{count} events were indexed within {timeout}s")
    return count / max(endpoint.last - endpoint.first, 1e-9)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    producer, brokers = mock_cluster(**BACKLOG_CONFIG)
    # More distinct events than the processor's memo holds, keys in Filebeat's per-event random order.
    events = mixed_events(20_000, compact=True, shuffle_keys=True)
    sizes = sorted(len(e) for e in events)
    endpoint = AckEndpoint()
    obs = str(REPO / ".venv" / "bin" / "obs")
    tmp = Path(tempfile.mkdtemp(prefix="obs-bench-"))

    # 1. throughput on a backlog
    produce_backlog(producer, "bench", events, EVENTS)
    write_config(tmp / "p.yaml", brokers, endpoint.url, "bench", "bench-throughput")
    proc = start([obs, "process", "--config", str(tmp / "p.yaml")])
    events_per_s = wait_acked(endpoint, EVENTS, 600)

    stop(proc)

    # 1b. the naive baseline on the same backlog, right after (the machine's load changes over minutes)
    endpoint.reset()
    naive = start([sys.executable, str(REPO / "bench" / "naive.py"), brokers, endpoint.url, "bench",
                   str(BASELINE_EVENTS)])  # fmt: skip
    baseline = wait_acked(endpoint, BASELINE_EVENTS, 600)
    stop(naive)

    # 1c. BENCH_FLOOR=1: the same backlog through the processor without its transform (bench/floor.py)
    floor = None
    if FLOOR:
        endpoint.reset()
        write_config(tmp / "f.yaml", brokers, endpoint.url, "bench", "bench-floor")
        proc = start([sys.executable, str(REPO / "bench" / "floor.py"), "process", "--config", str(tmp / "f.yaml")])
        floor = wait_acked(endpoint, EVENTS, 600)
        stop(proc)

    # 2. added latency at a steady rate (the processor is caught up and keeps running)
    latency_producer = Producer({"bootstrap.servers": brokers, "linger.ms": 0, "compression.type": "zstd"})
    write_config(tmp / "l.yaml", brokers, endpoint.url, "latency", "bench-latency")
    proc = start([obs, "process", "--config", str(tmp / "l.yaml")])
    endpoint.reset()
    latency_producer.produce("latency", events[0], partition=0)
    latency_producer.flush(10)
    wait_acked(endpoint, 1, 60)  # joined and caught up
    endpoint.reset()
    endpoint.record_ids = True
    total = LATENCY_RATE * LATENCY_SECONDS
    produce_times: dict[bytes, float] = {}

    def delivered(err: object, msg: Any, sent: float) -> None:
        if err is None:
            produce_times[f"latency-{msg.partition()}-{msg.offset()}".encode()] = sent

    started = time.perf_counter()
    for i in range(total):
        delay = started + i / LATENCY_RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        latency_producer.produce("latency", events[i % len(events)], partition=i % PARTITIONS,
                                 on_delivery=lambda err, msg, sent=sent: delivered(err, msg, sent))  # fmt: skip
        latency_producer.poll(0)
    latency_producer.flush(30)
    wait_acked(endpoint, total, 60)
    latencies = sorted((endpoint.ack_times[k] - t) * 1000 for k, t in produce_times.items() if k in endpoint.ack_times)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    stop(proc)
    endpoint.record_ids = False

    # 3. RSS with max_in_flight (100k) events held: every item is answered 429, so nothing is confirmed
    endpoint.reset()
    endpoint.reject = True
    port = _free_port()
    write_config(tmp / "m.yaml", brokers, endpoint.url, "bench", "bench-memory", metrics_port=port)
    proc = start([obs, "process", "--config", str(tmp / "m.yaml")])
    deadline = time.monotonic() + 180
    in_flight = 0.0
    while time.monotonic() < deadline and in_flight < min(100_000, EVENTS):
        time.sleep(0.5)
        in_flight = _metric(port, "obs_processor_in_flight_events")
    time.sleep(2)  # let the retry queue settle (compression of pending items)
    peak = rss_mb(proc.pid)
    stop(proc)
    endpoint.reject = False

    figures = {
        "events_per_s": round(events_per_s),
        "p99_added_latency_ms": round(p99, 1),
        "rss_mb": round(peak, 1),
        "baseline_events_per_s": round(baseline),
    }
    if floor is not None:
        figures["floor_events_per_s"] = round(floor)
    print(json.dumps(figures))
    print(f"# {EVENTS} events of {sizes[0]}–{sizes[-1]} bytes (median {sizes[len(sizes) // 2]}); latency at "
          f"{LATENCY_RATE}/s; rss with {int(in_flight)} in flight; baseline on {BASELINE_EVENTS} events",
          file=sys.stderr)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metric(port: int, name: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except OSError:
        return 0.0
    return 0.0


if __name__ == "__main__":
    main()
