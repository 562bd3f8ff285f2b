"""Integration, end to end: the real sample Go service → Prometheus (rules from alerts/) → Alertmanager
(config rendered from a spec) → a webhook receiver. Errors driven into the service make
GoServiceHighErrorRate fire and reach the receivers of the expected routes; then it resolves.

Time is compressed for the test only: 1s scrape/evaluation, rate windows of 10s and `for: 2s` instead of
5m (the rule's structure is unchanged). Receiver URLs come from secret files, as in the cluster.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from observability.local import start_alertmanager, start_prometheus
from observability.render.alertmanager import render_alertmanager_config
from observability.render.rules import SERVICE_RULES_FILE, render_rule_files
from observability.spec import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


class WebhookReceiver:
    """A tiny HTTP server recording Alertmanager webhook payloads by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, path: str, status: str, alertname: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for got_path, payload in list(self.received):
                names = {a["labels"].get("alertname") for a in payload["alerts"]}
                if got_path == path and payload["status"] == status and alertname in names:
                    return payload
            time.sleep(0.2)
        raise AssertionError(f"no {status} {alertname} at {path} within {timeout}s; got {self.received}")


def compress_time(rule_text: str) -> str:
    """Test-only: 5m rate windows → 10s and `for:` → 2s, so the alert fires within seconds."""
    return re.sub(r"for: \d+m", "for: 2s", rule_text.replace("[5m]", "[10s]"))


def _traffic(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError):  # 500s raise HTTPError; that is the point
            urllib.request.urlopen(f"{url}/api/items", timeout=2).read()
        time.sleep(0.02)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.server.shutdown()


def test_high_error_rate_fires_routes_and_resolves(repo: Path, tmp_path: Path, go_service, webhook) -> None:
    secrets = tmp_path / "secrets" / "hooks"
    secrets.mkdir(parents=True)
    for name in ("pager", "team", "fallback"):
        (secrets / name).write_text(f"{webhook.url}/{name}\n")
    stack = Stack.model_validate(
        {
            "cluster": {"name": "test"},
            "services": [
                {
                    "name": "checkout",
                    "namespace": "shop",
                    "selector": {"app": "checkout"},
                    "metrics": {"port": go_service.port},
                    "team": "payments",
                }
            ],
            "alerting": {
                "receivers": [
                    {"name": n, "webhook": {"url_secret": {"name": "hooks", "key": n}}}
                    for n in ("pager", "team", "fallback")
                ],
                "routing": {
                    "default": "fallback",
                    "severity": {"page": "pager"},
                    "team": {"payments": "team"},
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
            },
        }
    )
    am_config = render_alertmanager_config(stack, secrets_dir=str(tmp_path / "secrets"))
    prom_config = f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: shop/checkout
    static_configs:
      - targets: ["{go_service.address}"]
        labels: {{namespace: shop, service: checkout, team: payments}}
"""
    # the alert reads the series recorded from the service's metrics (default profile promhttp; the sample
    # service's status/route labels are its fallback), so the generated recording rules are loaded too
    generated = render_rule_files(stack, {})[SERVICE_RULES_FILE]
    rules = {
        "go-services.yaml": compress_time((repo / "alerts" / "go-services.yaml").read_text()),
        SERVICE_RULES_FILE: compress_time(generated),
    }
    stop = threading.Event()
    workers = [threading.Thread(target=_traffic, args=(go_service.url, stop), daemon=True) for _ in range(2)]
    started = time.monotonic()
    with (
        start_alertmanager(am_config, tmp_path / "am") as am,
        start_prometheus(
            prom_config,
            rules,
            tmp_path / "prom",
            alertmanager_url=am.url,
            extra_args=("--rules.alert.resend-delay=1s",),
        ),
    ):
        for worker in workers:
            worker.start()
        try:
            go_service.set_fail_ratio(0.5)
            page = webhook.wait_for("/pager", "firing", "GoServiceHighErrorRate", timeout=45)
            team = webhook.wait_for("/team", "firing", "GoServiceHighErrorRate", timeout=10)
            alert = next(a for a in page["alerts"] if a["labels"]["alertname"] == "GoServiceHighErrorRate")
            assert alert["labels"] == {
                "alertname": "GoServiceHighErrorRate",
                "namespace": "shop",
                "service": "checkout",
                "severity": "page",
            }
            assert alert["annotations"]["runbook_url"].endswith("/docs/runbooks/GoServiceHighErrorRate.md")
            assert "of requests fail with 5xx" in alert["annotations"]["summary"]
            assert page["receiver"] == "pager" and team["receiver"] == "team"
            go_service.set_fail_ratio(0.0)
            resolved = webhook.wait_for("/pager", "resolved", "GoServiceHighErrorRate", timeout=45)
            assert resolved["alerts"][0]["status"] == "resolved"
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=5)
    assert not [p for p, _ in webhook.received if p == "/fallback"], "no alert may fall through to the default"
    assert time.monotonic() - started < 90
