"""Pipeline layer (I/O): the processor's Prometheus metrics and its /metrics, /healthz, /readyz server.

Metric names are a contract with alert rules and dashboards (docs/processor.md lists them). Each
processor owns a private CollectorRegistry so tests can run several processors in one Python process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

LOG_EVENTS_TOTAL = "log_events_total"


class ProcessorMetrics:
    """Every metric of docs/processor.md, registered on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.log_events = Counter(
            LOG_EVENTS_TOTAL, "Log events stored, by service, Kubernetes namespace and normalised level",
            ["service", "namespace", "level"], registry=r,
        )  # fmt: skip
        self.consumed = Counter(
            "obs_processor_events_consumed_total", "Kafka messages consumed", ["topic"], registry=r
        )
        self.indexed = Counter(
            "obs_processor_events_indexed_total", "Events confirmed by the sink (incl. 409 already indexed)",
            registry=r,
        )  # fmt: skip
        self.dead_lettered = Counter(
            "obs_processor_events_dead_lettered_total", "Events sent to the dead-letter topic", ["reason"],
            registry=r,
        )  # fmt: skip
        self.dropped = Counter(
            "obs_processor_events_dropped_total", "Events dropped on purpose", ["reason"], registry=r
        )
        self.parsed = Counter(
            "obs_processor_parsed_total", "Events per recognised log format", ["format"], registry=r
        )
        self.bulk_duration = Histogram(
            "obs_processor_bulk_duration_seconds", "Duration of one _bulk request",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r,
        )  # fmt: skip
        self.bulk_items = Counter(
            "obs_processor_bulk_items_total", "_bulk item results by HTTP status", ["status"], registry=r
        )
        self.retries = Counter(
            "obs_processor_retries_total", "Items scheduled for another _bulk attempt", registry=r
        )
        self.in_flight = Gauge(
            "obs_processor_in_flight_events", "Events consumed but not yet confirmed", registry=r
        )
        self.lag = Gauge(
            "obs_processor_consumer_lag", "High watermark minus consumer position", ["topic", "partition"],
            registry=r,
        )  # fmt: skip
        self.paused = Gauge("obs_processor_paused", "1 while consumption is paused", registry=r)
        self.sink_up = Gauge("obs_processor_sink_up", "0 while the last _bulk request failed", registry=r)
        self.sink_up.set(1)
        self.sink_failures = Counter(
            "obs_processor_sink_failures_total",
            "Whole _bulk requests that failed, by reason (unauthorized, forbidden, too_many_requests, http_<status>, "
            "timeout, connection, malformed_answer, error)", ["reason"], registry=r,
        )  # fmt: skip

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """Serves /metrics, /healthz (main loop alive) and /readyz (assigned and sink reachable) on a thread.

    `not_ready_because()` returns '' when ready, else the reason /readyz gives with its 503."""

    def __init__(self, metrics: ProcessorMetrics, host: str, port: int,
                 healthy: Callable[[], bool], not_ready_because: Callable[[], str]) -> None:  # fmt: skip
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, outer.metrics.exposition(), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    ok = outer.healthy()
                    self._answer(200 if ok else 503, b"ok\n" if ok else b"main loop stalled\n")
                elif path == "/readyz":
                    why = outer.not_ready_because()
                    self._answer(503 if why else 200, f"not ready: {why}\n".encode() if why else b"ready\n")
                else:
                    self._answer(404, b"not found: try /metrics, /healthz or /readyz\n")

            def _answer(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None  # scrapes every few seconds would drown the processor's own log

        self.metrics = metrics
        self.healthy = healthy
        self.not_ready_because = not_ready_because
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
