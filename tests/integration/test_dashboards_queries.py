"""Every Prometheus query of every shipped dashboard returns series from real components.

Real processes only, once per Prometheus release (prom_release in tests/conftest.py: Debian's 2.42 with
Alertmanager 0.25, and 3.x with 0.35 built by `make tools`): Prometheus scrapes two instances of the sample
Go service, the real `obs process` (consuming the services' own logs, shipped in Filebeat's event shape
into confluent-kafka's mock Kafka cluster, indexing into FakeElasticsearch with injected 429s), node-exporter,
Alertmanager and itself; a rule that always fires makes ALERTS exist, and the SLO rules `obs render` generates
for a spec whose checkout service has an SLO give the SLO dashboard its objectives (catalog has none). Template
variables are resolved like Grafana does — by running each variable's label_values() query against this
Prometheus — and substituted into the panel queries. A panel may only be exempt when its definition says
`needs:` a component that cannot run here, with the reason; the test checks that reason is present and
the component really is absent.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from observability.check.dashboards import prometheus_queries, substitute, variable_names
from observability.local import free_port, start_alertmanager, start_prometheus
from observability.local.goservice import build_go_service, start_go_service
from observability.pipeline.shipper import AgentMeta, PodMeta, filebeat_event, read_new_lines
from observability.render.dashboard_defs import Panel
from observability.render.dashboards import compile_dashboard, dashboard_uid, parse_definition
from observability.render.rules import SERVICE_RULES_FILE, SLO_RULES_FILE, render_rule_files
from observability.spec import Stack

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "doubles"))
from fake_elasticsearch import FakeElasticsearch, Faults  # noqa: E402
from mock_kafka import mock_cluster  # noqa: E402

pytestmark = pytest.mark.integration

SERVICES = (("checkout", "shop"), ("catalog", "shop"))
# 250ms is a bucket bound of the sample service's histogram, as a latency threshold must be
SLOS = {"checkout": {"availability": 99.9, "latency": {"threshold": "250ms", "target": 99}, "window": "30d"}}
BUILTINS = {"__rate_interval": "15s", "__interval": "2s", "__range": "5m", "__range_s": "300"}
ABSENT_HERE = {"kafka-exporter", "kube-state-metrics", "elasticsearch", "filebeat", "kubernetes"}
RULES = """\
groups:
  - name: dashboard-query-test
    rules:
      - alert: DashboardTestAlwaysFiring
        expr: vector(1)
        labels: {severity: ticket, namespace: shop, service: checkout}
        annotations: {summary: keeps ALERTS populated so the alerts dashboard has something to show}
"""


def _generated_rules() -> dict[str, str]:
    stack = Stack.model_validate(
        {
            "cluster": {"name": "dashboards-test"},
            "services": [
                {
                    "name": name,
                    "namespace": ns,
                    "selector": {"app": name},
                    "metrics": {"port": 8080},
                    **({"slo": SLOS[name]} if name in SLOS else {}),
                }
                for name, ns in SERVICES
            ],
        }
    )
    files = render_rule_files(stack, {})
    return {name: files[name] for name in (SLO_RULES_FILE, SERVICE_RULES_FILE)}


def _get(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _traffic(urls: list[str], stop: threading.Event) -> None:
    paths = ["/api/items", "/api/items/42", "/api/slow", "/api/fail", "/healthz", "/api/panic", "/nope"]
    i = 0
    while not stop.is_set():
        for base in urls:
            path = paths[i % len(paths)]
            request = urllib.request.Request(base + path)
            if i % 5 == 0:
                request = urllib.request.Request(base + "/api/orders", data=b'{"item": "42"}', method="POST")
            with contextlib.suppress(OSError):  # 4xx/5xx are the point
                urllib.request.urlopen(request, timeout=3).read()
        i += 1
        stop.wait(0.05)


def _ship(services: list[Any], bootstrap: str, stop: threading.Event) -> None:
    """Filebeat's job here: new log lines → Filebeat-shaped JSON events → the logs topic (+ junk → DLQ)."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    agent, offsets = AgentMeta(), {s.name: 0 for s in services}
    while not stop.is_set():
        for service in services:
            lines, offsets[service.name] = read_new_lines(service.log_path, offsets[service.name])
            pod = PodMeta(service=service.name, namespace="shop")
            for offset, line in lines:
                event = filebeat_event(line, offset, datetime.now(UTC), pod, agent)
                producer.produce("logs", json.dumps(event).encode())
        producer.produce("logs", b"this is not a Filebeat event")  # dead-lettered as invalid_json
        producer.flush(5)
        stop.wait(1)
    producer.flush(5)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, prom_release: Any) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("dashq")
    stop = threading.Event()
    cleanup: list[Any] = []
    try:
        binary = build_go_service()
        services = [start_go_service(binary, tmp / f"{name}.log", name=name) for name, _ in SERVICES]
        cleanup += [s.stop for s in services]
        services[0].set_fail_ratio(0.2)
        _owner, bootstrap = mock_cluster()  # the brokers live as long as this reference
        es = FakeElasticsearch(faults=Faults(item_429=0.1))
        es.__enter__()
        cleanup.append(lambda: es.__exit__(None, None, None))
        processor_port = free_port()
        config = tmp / "processor.yaml"
        config.write_text(
            f"kafka: {{bootstrap_servers: ['{bootstrap}'], topic: logs, group: dash-test}}\n"
            f"elasticsearch: {{url: '{es.url}'}}\n"
            "processing: {batch_size: 50, flush_interval: 1s, drop: [{field: url.path, equals: /healthz}]}\n"
            f"metrics: {{host: 127.0.0.1, port: {processor_port}}}\n"
        )
        processor_log = (tmp / "processor.log").open("wb")
        cleanup.append(processor_log.close)
        processor = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "obs"), "process", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=processor_log,
            env=os.environ.copy(),
        )
        cleanup.append(lambda: (processor.send_signal(signal.SIGTERM), processor.wait(30)))
        node_exporter_port = free_port()
        node_exporter = subprocess.Popen(
            [
                shutil.which("prometheus-node-exporter") or "node_exporter",
                f"--web.listen-address=127.0.0.1:{node_exporter_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cleanup.append(lambda: (node_exporter.terminate(), node_exporter.wait(10)))
        am = start_alertmanager(
            "route: {receiver: none}\nreceivers: [{name: none}]\n", tmp / "am", binary=prom_release.alertmanager
        )
        cleanup.append(am.stop)
        # the services' jobs are named as render/prometheus.py names them (GoServiceAbsent looks for them)
        targets = [
            (f"{ns}/{name}", s.address, {"service": name, "namespace": ns})
            for s, (name, ns) in zip(services, SERVICES, strict=True)
        ] + [
            ("processor", f"127.0.0.1:{processor_port}", {"service": "processor", "namespace": "observability"}),
            ("node", f"127.0.0.1:{node_exporter_port}", {}),
            ("alertmanager", am.url.removeprefix("http://"), {}),
        ]
        scrape = "".join(
            f"  - job_name: {job if '/' in job else f'{job}-{i}'}\n"
            f"    static_configs: [{{targets: ['{target}'], labels: {json.dumps(labels)}}}]\n"
            for i, (job, target, labels) in enumerate(targets)
        )
        prom_yaml = "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n" + scrape
        rules = {"dashboard-test.yaml": RULES, **_generated_rules()}
        prom = start_prometheus(prom_yaml, rules, tmp / "prom", alertmanager_url=am.url, binary=prom_release.prometheus)
        cleanup.append(prom.stop)
        # Prometheus scrapes itself too (rule evaluation failures); its port is known only once it runs
        loaded = yaml.safe_load(prom.config_path.read_text())
        loaded["scrape_configs"].append(
            {"job_name": "prometheus", "static_configs": [{"targets": [prom.url.removeprefix("http://")]}]}
        )
        prom.config_path.write_text(yaml.safe_dump(loaded))
        prom.reload()
        threads = [
            threading.Thread(target=_traffic, args=([s.url for s in services], stop), daemon=True),
            threading.Thread(target=_ship, args=(services, bootstrap, stop), daemon=True),
        ]
        for thread in threads:
            thread.start()
        cleanup.insert(0, stop.set)
        yield prom.url
    finally:
        stop.set()
        for step in reversed(cleanup):
            try:
                step()
            except Exception as e:  # keep stopping the others; a leaked process is worse than a lost message
                print(f"cleanup: {e}", file=sys.stderr)


def _query(prom: str, expr: str) -> list[Any]:
    answer = _get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return answer["data"]["result"]


def _resolve_variables(prom: str, dashboard: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Run each query variable like Grafana does: All for an include-all variable, else its first value."""
    values: dict[str, str] = dict(BUILTINS)
    problems = []
    for name, var in variable_names(dashboard).items():
        if var["type"] == "custom":
            values[name] = var["current"]["value"]
        elif var["type"] == "query" and var["datasource"]["type"] == "prometheus":
            text = substitute(var["query"]["query"], values)
            match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", text, re.S)
            assert match, f"{dashboard['uid']}: variable {name}: unexpected query {text}"
            series = _get(f"{prom}/api/v1/series?" + urllib.parse.urlencode({"match[]": match.group(1)}))["data"]
            found = sorted({s[match.group(2)] for s in series if match.group(2) in s})
            if found and var.get("includeAll"):
                values[name] = "(" + "|".join(found) + ")"  # Grafana's default for a multi variable: All
            elif found:
                values[name] = found[0]
            else:
                problems.append(f"{dashboard['uid']}: variable {name}: {text} has no values")
    return values, problems


def _definitions() -> list[tuple[dict[str, Any], dict[str, Panel]]]:
    out = []
    for path in sorted((REPO / "dashboards").glob("*.yaml")):
        definition = parse_definition(path.read_text(), str(path))
        panels = {p.title: p for p in definition.panels if isinstance(p, Panel)}
        out.append((compile_dashboard(definition, dashboard_uid(path.name, definition)), panels))
    return out


def _failures(prom: str) -> tuple[list[str], int, list[str]]:
    failures, exempt, checked = [], [], 0
    for dashboard, panels in _definitions():
        values, problems = _resolve_variables(prom, dashboard)
        failures += problems
        for panel, target in prometheus_queries(dashboard):
            needs = panels[panel["title"]].needs
            where = f"{dashboard['uid']} / {panel['title']} / {target['refId']}"
            if needs is not None:
                exempt.append(f"{where}: needs {needs.component} — {needs.reason}")
                continue
            expr = substitute(target["expr"], values)
            checked += 1
            if not _query(prom, expr):
                failures.append(f"{where}: no series for {' '.join(expr.split())}")
    return failures, checked, exempt


def test_every_dashboard_query_returns_series(prometheus: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        failures, checked, exempt = _failures(prometheus)
        if not failures or time.monotonic() > deadline:
            break
        time.sleep(3)  # counters appear with their first event; rates need two samples
    assert failures == [], f"{len(failures)} of {checked} queries returned nothing:\n" + "\n".join(failures)
    assert checked >= 70, checked
    print(f"\n{checked} queries returned series; exempt:\n  " + "\n  ".join(exempt))
    for line in exempt:
        component = line.split(": needs ", 1)[1].split(" — ", 1)[0]
        assert component in ABSENT_HERE, line
        assert not _query(prometheus, 'up{job=~".*' + component.split("-")[0] + '.*"}'), line


def test_slo_dashboard_lists_exactly_the_services_with_an_slo(prometheus: str) -> None:
    (slo,) = [d for d, _ in _definitions() if d["title"] == "SLO and error budget"]
    deadline = time.monotonic() + 30
    while True:
        values, problems = _resolve_variables(prometheus, slo)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(1)  # the constant series appear with the first rule evaluation
    assert problems == []
    series = _get(
        f"{prometheus}/api/v1/series?"
        + urllib.parse.urlencode({"match[]": 'namespace_service:slo_window:seconds{namespace="shop"}'})
    )["data"]
    assert sorted(s["service"] for s in series) == sorted(SLOS)
    assert values["service"] == "checkout"
    threshold = _query(prometheus, 'namespace_service:slo_latency_threshold:seconds{service="checkout"}')
    assert [(t["metric"]["le"], float(t["value"][1])) for t in threshold] == [("0.25", 0.25)]
    # queries over the window answer only for the service's own SLO window, never silently for another
    (over_window,) = [t["expr"] for p, t in prometheus_queries(slo) if p["title"] == "Availability over the window"]
    assert _query(prometheus, substitute(over_window, {**values, "window": "30d"}))
    assert _query(prometheus, substitute(over_window, {**values, "window": "7d"})) == []


def test_exempt_panels_are_few_and_explained() -> None:
    exempt = [(d["uid"], t, p.needs) for d, panels in _definitions() for t, p in panels.items() if p.needs]
    assert all(n.reason and len(n.reason) > 20 for _, _, n in exempt)
    assert {n.component for _, _, n in exempt} <= ABSENT_HERE
    assert len(exempt) <= 10, exempt  # of 70 panels; growing this needs a good reason
