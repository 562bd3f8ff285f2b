"""Demo layer (I/O): start the whole pipeline on one machine, report on it, stop all of it.

    Go service ──container log──▶ Filebeat (or stand-in) ──▶ embedded Kafka ──▶ obs process ──▶ log store
        │ /metrics                                                                 │ /metrics      (SQLite or ES)
        └────────────────────────────▶ Prometheus (rendered config + rules) ◀──────┘
                                          │ alerts
                                          ▼
                                     Alertmanager ──▶ local webhook receiver

`Demo.start()` brings the parts up in dependency order, reporting each through `progress`; `snapshot()`
collects the live summary; `checks()` runs the smoke checks; `stop()` (also run at exit and on signals,
through the Supervisor) ends every thread and child process. Everything lives under `workdir` (./.demo).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from observability.apply.logsearch import ElasticsearchLogSearch, StoreLogSearch
from observability.demo import checks
from observability.demo.config import (
    DEFAULT_MAX_FOR,
    DEMO_SPEC,
    LocalTargets,
    cap_rule_for,
    component_pod,
    localize_alertmanager,
    localize_prometheus,
    service_pod,
    webhook_secret_paths,
)
from observability.demo.kafka import EmbeddedKafka, start_embedded_kafka
from observability.demo.shipping import Shipping, node_container_log, start_shipping
from observability.demo.summary import DemoSnapshot
from observability.demo.supervisor import Supervisor
from observability.demo.traffic import TrafficGenerator, TrafficPlan
from observability.demo.webhook import WebhookReceiver
from observability.errors import ObservabilityError
from observability.local import LocalProcess, free_port, start_alertmanager, start_prometheus
from observability.local.compat import compat_alertmanager_config
from observability.local.filebeat import filebeat_available
from observability.local.goservice import RunningGoService, build_go_service, start_go_service
from observability.local.processes import localize_prometheus_config
from observability.local.tools import alertmanager_binary_version
from observability.pipeline.shipper import PodMeta, kafka_producer
from observability.pipeline.store_sqlite import SqliteLogStore
from observability.render import Sources, render_config_files
from observability.render.dashboards import load_definitions
from observability.spec import Stack, parse_stack

Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = Path(".demo")
    """Where the demo keeps its store, logs and configs; wiped (its known subpaths) at each start."""
    es_url: str | None = None
    """Elasticsearch to write to and search; None = the embedded SQLite store under workdir."""
    traffic: TrafficPlan = field(default_factory=TrafficPlan)
    max_for: str = DEFAULT_MAX_FOR
    """Cap on alert rules' `for:` so alerts fire within the demo's minutes."""
    spec_path: Path = DEMO_SPEC


class Demo:
    def __init__(self, options: DemoOptions, sources: Sources, progress: Progress) -> None:
        self.options = options
        self.sources = sources
        self.progress = progress
        self.stack: Stack = parse_stack(options.spec_path.read_text(encoding="utf-8"), str(options.spec_path))
        self.service = self.stack.services[0]
        self.supervisor = Supervisor()
        self.started_at = time.monotonic()
        self.store_path = options.workdir / "logs.sqlite"
        self.go: RunningGoService | None = None
        self.kafka: EmbeddedKafka | None = None
        self.shipping: Shipping | None = None
        self.webhook: WebhookReceiver | None = None
        self.traffic: TrafficGenerator | None = None
        self.prometheus: LocalProcess | None = None
        self.alertmanager: LocalProcess | None = None
        self.processor_metrics_url = ""
        self.processor_address = ""
        self.node_exporter_address = ""

    # -- start -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every part; raises ObservabilityError naming the part that could not start."""
        work = self.options.workdir
        self._clean(work)
        files = render_config_files(self.stack, self.sources)
        svc = self.service

        self.progress("build", "compiling the sample Go service (cached after the first run)")
        binary = build_go_service()
        self.started_at = time.monotonic()
        log_file = work / "go-service" / f"{svc.name}.log"
        pod = PodMeta(service=svc.name, namespace=svc.namespace)
        container_log = node_container_log(work, pod) if filebeat_available() else None
        self.go = start_go_service(binary, log_file, name=svc.name, container_log=container_log)
        self.supervisor.adopt("go-service", self.go.process)
        logging_to = container_log.path if container_log is not None else log_file
        self.progress("go service", f"{svc.namespace}/{svc.name} on {self.go.url}, logging to {logging_to}")

        topics = (self.stack.logging.kafka.topics.logs.name, self.stack.logging.kafka.topics.dead_letter.name)
        self.kafka = start_embedded_kafka(brokers=3, topics=topics)
        self.supervisor.on_stop("kafka", self.kafka.stop)
        self.progress("kafka", f"embedded mock cluster, 3 brokers at {self.kafka.bootstrap_servers}")

        self._start_processor(work, files.files["processor/processor.yaml"])

        self.shipping, what = start_shipping(self.stack, work, log_file, container_log, pod,
                                             self.kafka.bootstrap_servers, self.supervisor)  # fmt: skip
        self.progress("filebeat" if container_log is not None else "shipper", what)

        self._send_poison_message(topics[0])
        self._start_node_exporter(work)

        self.webhook = WebhookReceiver()
        self.supervisor.on_stop("webhook", self.webhook.stop)
        self._start_alertmanager(work, files.files["alertmanager/alertmanager.yml"])
        self._start_prometheus(work, files.files)

        self.traffic = TrafficGenerator(self.go.url, self.options.traffic)
        self.traffic.start()
        self.supervisor.on_stop("traffic", self.traffic.stop)
        plan = self.options.traffic
        self.progress("traffic", f"{plan.rate:g} req/s; error bursts of {plan.burst_length:g}s every "
                                 f"{plan.burst_every:g}s, the first after {plan.first_burst_after:g}s")

    def _clean(self, work: Path) -> None:
        # Offsets restart at 0 in a new embedded Kafka, so old documents would share the new ids: start empty.
        for name in ("logs.sqlite", "logs.sqlite-wal", "logs.sqlite-shm"):
            with contextlib.suppress(FileNotFoundError):
                (work / name).unlink()
        for sub in ("go-service", "processor", "node-exporter", "prometheus", "alertmanager", "secrets", "node",
                    "filebeat"):
            shutil.rmtree(work / sub, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)

    def _start_processor(self, work: Path, processor_yaml: str) -> None:
        assert self.kafka is not None
        config = work / "processor" / "processor.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(processor_yaml, encoding="utf-8")
        port = free_port()
        env = {
            **os.environ,
            "OBS_PROCESSOR_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "OBS_PROCESSOR_METRICS_HOST": "127.0.0.1",
            "OBS_PROCESSOR_METRICS_PORT": str(port),
        }
        argv = [sys.executable, "-m", "observability", "process", "--config", str(config)]
        if self.options.es_url:
            env["OBS_PROCESSOR_ELASTICSEARCH_URL"] = self.options.es_url
            sink = f"Elasticsearch {self.options.es_url}"
        else:
            argv += ["--store", str(self.store_path)]
            sink = f"embedded store {self.store_path}"
        child = self.supervisor.spawn("processor", argv, work / "processor" / "processor.log", env=env)
        self.processor_metrics_url = f"http://127.0.0.1:{port}/metrics"
        self.processor_address = f"127.0.0.1:{port}"
        self._wait_http(self.processor_metrics_url, "the processor", child.process.poll, work / "processor")
        self.progress("processor", f"obs process → {sink}; metrics on {self.processor_metrics_url}")

    def _send_poison_message(self, topic: str) -> None:
        """One message that is not a Filebeat event, so the dead-letter path shows up in the summary and on
        the log-pipeline dashboard (in a cluster this is what a misconfigured shipper would produce)."""
        assert self.kafka is not None
        producer = kafka_producer(self.kafka.bootstrap_servers)
        producer.produce(topic, value=b"demo: a message that is not a JSON Filebeat event")
        if producer.flush(10) != 0:
            raise ObservabilityError("could not produce to the embedded Kafka", hint="see the processor log")
        self.progress("dead letter", f"sent one malformed message to {topic}; the processor dead-letters it")

    def _start_node_exporter(self, work: Path) -> None:
        """Debian's node-exporter for this machine (the one 'node' of the demo), if it is installed."""
        binary = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
        if binary is None or not self.stack.metrics.node_exporter.enabled:
            self.progress("node exporter", "not installed; the node dashboard stays empty "
                                           "(bash scripts/system-deps.sh installs prometheus-node-exporter)")
            return
        port = free_port()
        log = work / "node-exporter" / "node-exporter.log"
        child = self.supervisor.spawn("node-exporter", [binary, f"--web.listen-address=127.0.0.1:{port}"], log)
        self.node_exporter_address = f"127.0.0.1:{port}"
        self._wait_http(f"http://{self.node_exporter_address}/metrics", "node-exporter", child.process.poll, log)
        self.progress("node exporter", f"http://{self.node_exporter_address}/metrics")

    def _start_alertmanager(self, work: Path, rendered: str) -> None:
        assert self.webhook is not None
        secrets = {}
        for path in webhook_secret_paths(self.stack):
            local = work / "secrets" / path.lstrip("/").replace("/", "_")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(self.webhook.url + "\n", encoding="utf-8")
            secrets[path] = local
        config, _notes = compat_alertmanager_config(
            localize_alertmanager(rendered, secrets), alertmanager_binary_version(), inline=True
        )
        self.alertmanager = start_alertmanager(config, work / "alertmanager")
        self.supervisor.adopt("alertmanager", self.alertmanager.process)
        self.progress("alertmanager", f"{self.alertmanager.url} → webhook {self.webhook.url}")

    def _start_prometheus(self, work: Path, files: dict[str, str]) -> None:
        assert self.alertmanager is not None and self.go is not None
        rules = cap_rule_for(
            {name.removeprefix("prometheus/rules/"): text for name, text in files.items()
             if name.startswith("prometheus/rules/")},
            self.options.max_for,
        )
        svc = self.service
        targets = LocalTargets(
            prometheus="127.0.0.1:9090",  # replaced by the real port below, once Prometheus has one
            pods={
                "processor": component_pod(self.stack, "processor", self.processor_address, "metrics"),
                "alertmanager": component_pod(self.stack, "alertmanager", self.alertmanager.url.split("//")[1],
                                              "http"),
                f"{svc.namespace}/{svc.name}": service_pod(
                    self.stack, svc.name, svc.namespace, self.go.address, PodMeta(svc.name, svc.namespace).pod
                ),
            },
        )
        if self.node_exporter_address:
            targets.pods["node-exporter"] = component_pod(
                self.stack, "node-exporter", self.node_exporter_address, "metrics"
            )
        rendered = files["prometheus/prometheus.yml"]
        config, skipped = localize_prometheus(rendered, targets)
        self.prometheus = start_prometheus(config, rules, work / "prometheus", alertmanager_url=self.alertmanager.url)
        self.supervisor.adopt("prometheus", self.prometheus.process)
        # Point the self-scrape job at the port Prometheus actually got, then reload.
        final, _ = localize_prometheus(rendered, LocalTargets(self.prometheus.url.split("//")[1], targets.pods))
        self.prometheus.config_path.write_text(
            localize_prometheus_config(final, work / "prometheus" / "rules", self.alertmanager.url), encoding="utf-8"
        )
        self.prometheus.reload()
        self.progress("prometheus", f"{self.prometheus.url}: {len(rules)} rule files (for: ≤ {self.options.max_for})"
                                    + (f"; not scraped here: {', '.join(skipped)}" if skipped else ""))

    def _wait_http(self, url: str, what: str, exited: Callable[[], int | None], logs: Path,
                   timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if exited() is not None:
                raise ObservabilityError(f"{what} exited during start-up", hint=f"see the log in {logs}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise ObservabilityError(f"{what} did not answer on {url} within {timeout:.0f}s", hint=f"see {logs}")

    # -- observe -----------------------------------------------------------------------------------

    def log_search(self) -> StoreLogSearch | ElasticsearchLogSearch:
        if self.options.es_url:
            return ElasticsearchLogSearch(self.options.es_url)
        return StoreLogSearch(SqliteLogStore(self.store_path))

    def processor_counters(self) -> dict[str, float]:
        """The processor's counters from its /metrics (sums over label sets), {} if unreachable."""
        try:
            text = requests.get(self.processor_metrics_url, timeout=2).text
        except requests.RequestException:
            return {}
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        return totals

    def snapshot(self) -> DemoSnapshot:
        counters = self.processor_counters()
        traffic = self.traffic
        shipped = self.shipping.counts() if self.shipping is not None else None
        problems = [f"{c.name} exited with code {c.process.returncode}" for c in self.supervisor.exited()]
        if shipped is not None and shipped.last_error:
            problems.append(f"shipper: {shipped.last_error}")
        prom_names: tuple[str, ...] = ()
        am_names: tuple[str, ...] = ()
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            if self.prometheus is not None:
                prom_names = tuple({a["labels"]["alertname"] for a in checks.prometheus_firing(self.prometheus.url)})
            if self.alertmanager is not None:
                am_names = tuple({a["labels"]["alertname"] for a in checks.alertmanager_alerts(self.alertmanager.url)})

        def counter(name: str) -> int | None:
            return int(counters[name]) if name in counters else None

        return DemoSnapshot(
            uptime_s=time.monotonic() - self.started_at,
            lines_read=shipped.lines_read if shipped else 0,
            events_shipped=shipped.events_shipped if shipped else 0,
            ship_failures=shipped.failures if shipped else 0,
            shipper=self.shipping.name if self.shipping is not None else "",
            events_consumed=counter("obs_processor_events_consumed_total"),
            events_indexed=counter("obs_processor_events_indexed_total"),
            events_dead_lettered=counter("obs_processor_events_dead_lettered_total"),
            requests_sent=traffic.stats.sent if traffic else 0,
            requests_5xx=traffic.stats.by_class.get("5xx", 0) if traffic else 0,
            burst=traffic.stats.burst if traffic else False,
            alerts_prometheus=prom_names,
            alerts_alertmanager=am_names,
            alerts_webhook=tuple(self.webhook.inbox.firing_names()) if self.webhook else (),
            sink=f"Elasticsearch {self.options.es_url}" if self.options.es_url else f"embedded store {self.store_path}",
            urls=self.urls(),
            problems=tuple(problems),
        )

    def urls(self) -> tuple[tuple[str, str], ...]:
        out = []
        if self.go is not None:
            out.append(("Go service", self.go.url))
        if self.prometheus is not None:
            out.append(("Prometheus", f"{self.prometheus.url}/alerts"))
        if self.alertmanager is not None:
            out.append(("Alertmanager", self.alertmanager.url))
        if self.processor_metrics_url:
            out.append(("processor", self.processor_metrics_url))
        search = "obs logs search --level error" + ("" if self.options.es_url else f" --store {self.store_path}")
        out.append(("search logs", search))
        return tuple(out)

    def checks(self) -> list[checks.CheckResult]:
        """The three smoke checks, in order (logs, alerts, dashboards)."""
        assert self.prometheus is not None and self.alertmanager is not None and self.webhook is not None
        svc = self.service
        search = self.log_search()
        try:
            results = [checks.check_logs(search, svc.name, svc.namespace)]
        finally:
            search.close()
        results.append(checks.check_alerts(self.alertmanager.url, self.webhook.inbox.firing_names(), svc.name,
                                           svc.namespace))
        results.append(checks.check_dashboards(
            load_definitions(self.sources.dashboards, self.sources.dashboards_dir),
            checks.prometheus_query(self.prometheus.url),
            checks.prometheus_label_values(self.prometheus.url),
            preferred={"namespace": svc.namespace, "service": svc.name},
        ))
        return results

    def stop(self) -> None:
        self.supervisor.stop_all()
