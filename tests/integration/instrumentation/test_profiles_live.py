"""Live: one real Go service per instrumentation library (tests/go-services/, built by the parts framework) is
scraped by the real Prometheus — Debian's 2.42 and the built 3.x — with the scrape jobs and rules `obs render`
produces for a spec that sets nothing but `instrumentation:`; the services' traffic is then driven through three
phases and the alerts and dashboards are checked against what the services really did:

  quiet  every request fast and fine: no HTTP alert is pending or firing; every panel shows data
  errors exactly every second request fails: GoServiceHighErrorRate and the fast SLO burn (page) fire for every
         profile, the error-ratio panels read 50 % ± 5 %, the 1h burn rate 50 (0.5 / 1 % budget)
  slow   every request takes 1.5 s: GoServiceHighLatency and the latency fast burn fire for every profile with a
         histogram, p99 reads between 1 s and 2.5 s (the bucket), the mean 1.5 s; the error alerts resolve

Time is compressed for the test only: 1 s scrape and evaluation, rate windows of seconds instead of minutes and
hours, `for:` of 3 s (the rules' structure is unchanged). Conditions are awaited with a bound, never slept for.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from observability.check.dashboards import prometheus_queries, substitute
from observability.local import start_prometheus
from observability.local.processes import free_port, stop_process
from observability.render.dashboards import compile_dashboard, dashboard_uid, parse_definition
from observability.render.prometheus import render_prometheus_settings
from observability.render.rules import SERVICE_RULES_FILE, SLO_RULES_FILE, render_rule_files
from observability.spec import Stack

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "unit" / "render"))
from prometheus_sd import with_file_sd  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PROFILES = ("promhttp", "otel", "go-http-metrics", "gin-prometheus", "grpc")
NO_HISTOGRAM = {"gin-prometheus"}  # zsais/go-gin-prometheus records a Summary without buckets
RPS = 40
NAMESPACE = "shop"
HTTP_ALERTS = ("GoServiceHighErrorRate", "GoServiceHighLatency", "SLOErrorBudgetBurn", "SLOLatencyBudgetBurn")
# Test-only time compression: the SLO's burn windows keep their order (5m < 30m < 1h < … < 3d).
WINDOWS = {"5m": "10s", "30m": "15s", "1h": "20s", "2h": "25s", "6h": "30s", "1d": "35s", "3d": "40s"}
DASHBOARDS = ("go-service.yaml", "go-fleet.yaml", "slo.yaml")
BUILTINS = {"__rate_interval": "10s", "__interval": "2s", "__range": "1m", "__range_s": "60", "window": "30d"}


@dataclass
class RunningTestService:
    profile: str
    process: subprocess.Popen[bytes]
    admin: str

    def behave(self, fail: float, delay: float) -> None:
        requests.post(f"{self.admin}/admin/behaviour", params={"fail": fail, "delay": delay}, timeout=5)


def _spec_dict(ports: dict[str, int]) -> dict[str, Any]:
    services = []
    for profile in PROFILES:
        slo: dict[str, Any] = {"availability": 99, "window": "30d"}
        if profile not in NO_HISTOGRAM:
            slo["latency"] = {"threshold": "250ms", "target": 99}  # a bucket bound of every profile's default
        services.append({
            "name": profile, "namespace": NAMESPACE, "selector": {"app": profile},
            "metrics": {"port": ports[profile]}, "instrumentation": profile, "slo": slo,
        })  # fmt: skip
    return {"cluster": {"name": "live"}, "services": services}


def _compress(text: str) -> str:
    for long, short in WINDOWS.items():
        text = text.replace(f"[{long}]", f"[{short}]")
    return re.sub(r"for: \d+[mh]", "for: 3s", text)


def _scrape_config(stack: Stack, ports: dict[str, int], sd_dir: Path) -> str:
    """The rendered jobs of the services, with Kubernetes discovery replaced by the same meta labels from files."""
    config = render_prometheus_settings(stack)
    config["global"].update({"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"})
    config.pop("alerting", None)
    jobs = {f"{NAMESPACE}/{p}" for p in PROFILES}
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in jobs]
    local = with_file_sd(config, sd_dir)
    for i, job in enumerate(local["scrape_configs"]):
        profile = job["job_name"].split("/", 1)[1]
        pod = {
            "__meta_kubernetes_namespace": NAMESPACE,
            "__meta_kubernetes_pod_name": f"{profile}-0",
            "__meta_kubernetes_pod_node_name": "node-1",
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_label_app": profile,
            "__meta_kubernetes_pod_container_port_number": str(ports[profile]),
        }
        (sd_dir / f"{i}.json").write_text(json.dumps([{"targets": [f"127.0.0.1:{ports[profile]}"], "labels": pod}]))
    return yaml.safe_dump(local, sort_keys=False)


def _rules(stack: Stack) -> dict[str, str]:
    files = render_rule_files(stack, {"go-services.yaml": (REPO / "alerts" / "go-services.yaml").read_text()})
    return {name: _compress(files[name]) for name in ("go-services.yaml", SERVICE_RULES_FILE, SLO_RULES_FILE)}


@pytest.fixture(scope="module")
def services(part_path: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("testsvc")
    started: dict[str, RunningTestService] = {}
    try:
        for profile in PROFILES:
            binary = part_path(f"testsvc-{profile}")
            api, admin = free_port(), free_port()
            log = (tmp / f"{profile}.log").open("wb")
            process = subprocess.Popen(
                [str(binary), "--addr", f"127.0.0.1:{api}", "--admin-addr", f"127.0.0.1:{admin}", "--rps", str(RPS)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            started[profile] = RunningTestService(profile, process, f"http://127.0.0.1:{admin}")
        for svc in started.values():
            _until(lambda s=svc: requests.get(f"{s.admin}/metrics", timeout=1).ok, 15, f"{svc.profile} /metrics")
        ports = {p: int(s.admin.rsplit(":", 1)[1]) for p, s in started.items()}
        spec = _spec_dict(ports)
        yield {"services": started, "ports": ports, "spec": spec, "stack": Stack.model_validate(spec)}
    finally:
        for svc in started.values():
            stop_process(svc.process, 5)


@pytest.fixture(scope="module")
def prom(services: dict[str, Any], prom_release: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("prom")
    sd_dir = tmp / "sd"
    sd_dir.mkdir()
    stack = services["stack"]
    config = _scrape_config(stack, services["ports"], sd_dir)
    with start_prometheus(config, _rules(stack), tmp / "prom", binary=prom_release.prometheus) as server:
        yield server.url


def _until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except (requests.RequestException, AssertionError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: not true within {timeout:.0f}s (last: {last})")


def _query(prom: str, expr: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def _alerts(prom: str, state: str = "firing|pending") -> set[tuple[str, str, str]]:
    names = "|".join(HTTP_ALERTS)
    found = _query(prom, f'ALERTS{{alertname=~"{names}", alertstate=~"{state}"}}')
    return {(a["metric"]["alertname"], a["metric"]["service"], a["metric"].get("severity", "")) for a in found}


def _panels() -> dict[tuple[str, str, str], str]:
    """(dashboard uid, panel title, refId) → PromQL of every Prometheus target of the HTTP and runtime dashboards."""
    out = {}
    for name in DASHBOARDS:
        definition = parse_definition((REPO / "dashboards" / name).read_text(), name)
        dashboard = compile_dashboard(definition, dashboard_uid(name, definition))
        for panel, target in prometheus_queries(dashboard):
            out[(dashboard["uid"], panel["title"], target["refId"])] = target["expr"]
    return out


def _panel(prom: str, profile: str, uid: str, title: str, ref: str = "A") -> list[float]:
    expr = _panels()[(uid, title, ref)]
    values = {**BUILTINS, "namespace": NAMESPACE, "service": profile, "instance": ".*"}
    return [float(r["value"][1]) for r in _query(prom, substitute(expr, values))]


def _settles(prom: str, profile: str, uid: str, title: str, low: float, high: float, ref: str = "A") -> float:
    """The panel's one value once it is within [low, high] — rates need their window to fill after a change."""
    found = _until(
        lambda: [v for v in _panel(prom, profile, uid, title, ref) if low <= v <= high],
        40,
        f"{profile}: {uid} / {title} / {ref} within [{low}, {high}] (now {_panel(prom, profile, uid, title, ref)})",
    )
    return float(found[0])


def _expected_empty(profile: str, expr: str) -> bool:
    """Panels that cannot show data for a library without a duration histogram (and so without a latency SLO)."""
    return profile in NO_HISTOGRAM and any(k in expr for k in ("_bucket", "latency", "slow_requests"))


def _phase(services: dict[str, Any], fail: float, delay: float) -> None:
    for svc in services["services"].values():
        svc.behave(fail, delay)


def _all_recorded(prom: str) -> bool:
    found = {r["metric"]["service"] for r in _query(prom, "sum by (service) (service:http_requests:rate5m) > 0")}
    return found == set(PROFILES)


def test_quiet_phase_no_alert_and_every_panel_has_data(services: dict[str, Any], prom: str) -> None:
    _phase(services, 0.0, 0.005)
    _until(lambda: _all_recorded(prom), 60, "every service's requests recorded")
    _until(lambda: _query(prom, "namespace_service:slo_errors:ratio_rate3d"), 60, "the longest SLO window filled")
    # quiet for a while: every sample of the HTTP alerts over 15 s stays empty
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert _alerts(prom) == set(), "an HTTP alert is pending or firing while every request is fast and fine"
        time.sleep(1)
    missing, checked = [], 0
    for (uid, title, ref), expr in _panels().items():
        for profile in PROFILES:
            values = {**BUILTINS, "namespace": NAMESPACE, "service": profile, "instance": ".*"}
            result = _query(prom, substitute(expr, values))
            if _expected_empty(profile, expr):
                assert result == [], f"{uid} / {title} / {ref} for {profile}: expected no data, got {result}"
                continue
            checked += 1
            if not result:
                missing.append(f"{profile}: {uid} / {title} / {ref}: {' '.join(expr.split())}")
    assert missing == [], f"{len(missing)} of {checked} panel queries returned nothing:\n" + "\n".join(missing)
    for profile in PROFILES:
        (rate,) = _panel(prom, profile, "obs-go-service", "Request rate")
        assert 0.75 * RPS <= rate <= 1.25 * RPS, (profile, rate)
        assert _panel(prom, profile, "obs-go-service", "Error ratio (5xx)") == [0.0], profile


def test_error_phase_half_failing_pages_and_panels_read_fifty_percent(services: dict[str, Any], prom: str) -> None:
    _phase(services, 0.5, 0.005)
    want = {(a, p, "page") for p in PROFILES for a in ("GoServiceHighErrorRate", "SLOErrorBudgetBurn")}
    _until(lambda: want <= _alerts(prom, "firing"), 90, f"firing {sorted(want)}")
    assert not {a for a in _alerts(prom) if a[0] in ("GoServiceHighLatency", "SLOLatencyBudgetBurn")}
    for profile in PROFILES:
        _settles(prom, profile, "obs-go-service", "Error ratio (5xx)", 0.45, 0.55)
        _settles(prom, profile, "obs-go-service", "Error ratio (5xx) by route", 0.45, 0.55)
        _settles(prom, profile, "obs-go-fleet", "Error ratio (5xx) by service", 0.45, 0.55)
        _settles(prom, profile, "obs-slo", "Burn rate (1h)", 45, 55)  # 50 % errors / 1 % budget


def test_slow_phase_latency_alerts_fire_where_a_histogram_exists(services: dict[str, Any], prom: str) -> None:
    _phase(services, 0.0, 1.5)
    timed = [p for p in PROFILES if p not in NO_HISTOGRAM]
    want = {("SLOLatencyBudgetBurn", p, "page") for p in timed}
    want |= {("GoServiceHighLatency", p, "ticket") for p in timed}
    _until(lambda: want <= _alerts(prom, "firing"), 120, f"firing {sorted(want)}")
    still_failing = lambda: {a for a in _alerts(prom) if a[0] == "GoServiceHighErrorRate"}  # noqa: E731
    _until(lambda: not still_failing(), 60, "error-rate alerts resolved")
    latency_alerts = ("GoServiceHighLatency", "SLOLatencyBudgetBurn")
    assert not {a for a in _alerts(prom) if a[1] in NO_HISTOGRAM and a[0] in latency_alerts}
    for profile in timed:
        # 1.5 s falls in the (1, 2.5] bucket of every default layout
        _settles(prom, profile, "obs-go-service", "p99 latency", 1.0001, 2.5)
    for profile in PROFILES:
        _settles(prom, profile, "obs-go-service", "Latency p50 / p90 / p99 and mean", 1.45, 1.65, "D")


def test_detect_says_which_profile_fits_each_service(services: dict[str, Any], prom: str, tmp_path: Path) -> None:
    """`obs services detect` on a spec that leaves every service at the default (promhttp) plus one never deployed."""
    spec = json.loads(json.dumps(services["spec"]))
    for svc in spec["services"]:
        svc.pop("instrumentation")
        svc.pop("slo")
    # buckets declared wrongly: the spec is valid, but the live histogram has no 0.3 s bound
    promhttp = next(svc for svc in spec["services"] if svc["name"] == "promhttp")
    promhttp["instrumentation"] = {"profile": "promhttp", "buckets": [0.1, 0.3, 1]}
    promhttp["slo"] = {"latency": {"threshold": "300ms", "target": 99}}
    ghost = {"name": "ghost", "namespace": NAMESPACE, "selector": {"app": "ghost"}, "metrics": {"port": 1}}
    spec["services"].append(ghost)
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(spec))
    obs = [str(REPO / ".venv" / "bin" / "obs")]
    detect = subprocess.run([*obs, "services", "detect", "--spec", str(path), "--prometheus-url", prom],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert detect.returncode == 0, detect.stderr
    lines = detect.stdout.splitlines()
    for profile in PROFILES:
        line = next(line for line in lines if line.startswith(f"{NAMESPACE}/{profile}:"))
        assert line.startswith(f"{NAMESPACE}/{profile}: {profile} fits ("), detect.stdout
    assert "shop/otel: otel fits (http_server_request_duration_seconds_count{" in detect.stdout
    assert "configured promhttp does not fit: http_server_request_duration_seconds_count is absent" not in detect.stdout
    assert "configured promhttp does not fit: http_requests_total is absent; set instrumentation: otel" in detect.stdout
    ghost_line = next(line for line in lines if line.startswith(f"{NAMESPACE}/ghost:"))
    assert "no profile fits — Prometheus has no series of it" in ghost_line
    assert lines[-1] == "6 service(s), 5 whose configured instrumentation does not fit"
    validate = subprocess.run([*obs, "validate", "--spec", str(path), "--prometheus-url", prom],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert validate.returncode == 0, validate.stderr
    warnings = [line for line in validate.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 6, validate.stdout  # every service but promhttp, the ghost, and promhttp's threshold
    (bucket,) = [w for w in warnings if "shop/promhttp" in w]
    assert "slo.latency.threshold 0.3s is not a bucket bound of the live histogram (0.005s, 0.01s" in bucket
    assert any("shop/grpc: instrumentation promhttp: http_requests_total is absent" in w for w in warnings)
